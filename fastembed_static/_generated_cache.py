"""Generate raw model directories once, into a cache keyed by the files' identity."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def default_cache_dir() -> Path:
    env = os.environ.get("FASTEMBED_STATIC_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "fastembed-static"


def generate_cached(model_dir: Path, *, cache_dir: str | Path | None = None, dims: int | None = None) -> Path:
    """The generated model for ``model_dir``, generating it on first use. The key covers the generator version,
    the options, and each source file's path, size and modification time, so an edited model is regenerated."""
    from .gen import GENERATOR_VERSION, generate
    from .gen.source import find_source

    source = find_source(model_dir)
    key = hashlib.sha256(f"{GENERATOR_VERSION}|dims={dims}".encode())
    for file in source.files:
        stat = file.stat()
        key.update(f"|{file.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    out = root / "local" / f"{model_dir.resolve().name}-{key.hexdigest()[:16]}"
    if not (out / "model.json").is_file():
        generate(model_dir, out, dims=dims)
    return out
