"""Where generated models come from: a bundled model, a generated model directory, a raw model directory
(generated once into the cache), or a Hugging Face hub id (downloaded and generated once into the cache)."""

from __future__ import annotations

import hashlib
import json
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from .errors import ModelFileError
from .gen.layout import MODEL_JSON, bundled_name, hub_origin, is_generated_model
from .hub import default_cache_dir, generated_dir, looks_like_repo_id, snapshot_download

BUNDLED_DIR = Path(__file__).parent / "_models"


def resolve(
    model: str | Path,
    *,
    revision: str = "main",
    cache_dir: str | Path | None = None,
    token: str | None = None,
    offline: bool | None = None,
    force_refresh: bool = False,
    dims: int | None = None,
) -> Path:
    """The directory of a generated model for ``model``, generating (and downloading) it if needed."""
    path = Path(model)
    if is_generated_model(path):
        if dims is not None:
            raise ValueError(f"{path} is already generated: dims= applies when generating; use encode(dim=...)")
        return path
    if path.exists():
        return generate_cached(path, cache_dir=cache_dir, dims=dims)
    name = str(model)
    if looks_like_repo_id(name) and revision == "main" and dims is None:
        for bundled in (BUNDLED_DIR / bundled_name(name), BUNDLED_DIR / "default"):
            if _bundled_from(bundled) == name:
                return bundled
    if looks_like_repo_id(name):
        return generate_from_hub(
            name,
            revision=revision,
            cache_dir=cache_dir,
            token=token,
            offline=offline,
            force_refresh=force_refresh,
            dims=dims,
        )
    raise ModelFileError(path, "no such model directory, and not a Hugging Face hub id of the form 'owner/name'")


def _bundled_from(path: Path) -> str | None:
    """The hub id a bundled model was generated from, if it is one."""
    try:
        source = json.loads((path / MODEL_JSON).read_text(encoding="utf-8"))["source"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    repo_id = source.get("repo_id") if isinstance(source, dict) else None
    return repo_id if isinstance(repo_id, str) else None


def generate_cached(model_dir: Path, *, cache_dir: str | Path | None = None, dims: int | None = None) -> Path:
    """The generated model for a local ``model_dir``, generated on first use. The key covers the generator version,
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
    if not is_generated_model(out):
        with _generation_lock(out):
            if not is_generated_model(out):
                generate(model_dir, out, dims=dims)
    return out


def generate_from_hub(repo_id: str, *, dims: int | None = None, **download: Any) -> Path:
    """Download ``repo_id`` (see :func:`fastembed_static.hub.snapshot_download`) and generate it once."""
    from .gen import GENERATOR_VERSION, generate

    snapshot = snapshot_download(repo_id, **download)
    out = generated_dir(snapshot) / f"generator-{GENERATOR_VERSION}-dims-{dims or 'all'}"
    if not is_generated_model(out):
        with _generation_lock(out):
            if not is_generated_model(out):
                origin = hub_origin(snapshot.repo_id, snapshot.revision, snapshot.commit)
                generate(snapshot.source_dir, out, dims=dims, origin=origin)
    return out


def _generation_lock(out: Path) -> AbstractContextManager[None]:
    """Processes that need the same generated model at once (the workers of one node) generate it once: the others
    wait, then find it. Without the lock each would generate it and swap its copy in while another loads."""
    from .hub.cache import locked

    return locked(out.with_name(f".{out.name}.lock"), f"cannot lock the cache to generate {out}")
