"""Where generated models come from: a bundled model, a generated model directory, a raw model directory
(generated once into the cache), or a Hugging Face hub id (downloaded and generated once into the cache).

Hub ids and paths are told apart by syntax alone: a ``str`` of the form ``owner/name`` is a hub id; anything else,
``./owner/name``, ``../x``, an absolute path, or any ``pathlib.Path``, is a local path. A folder in the current
directory that happens to be called ``owner/name`` is never picked up in place of the hub model. A plain ``str``
name that is no existing path (``"tiny-mrl"``) finds the model bundled at install time from a local folder of that
name; a hub id finds the model bundled from that hub repository.

Generating into the cache happens under the output's generation lock: a process that finds the model generated
by another once it holds the lock uses it; a cached model that fails its load checks is regenerated once, with a
warning.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path, PurePath
from typing import Any

from . import _model_files
from .errors import HubError, ModelFileError
from .gen.layout import MODEL_JSON, bundled_name, hub_origin, is_generated_model
from .hub import default_cache_dir, generated_dir, looks_like_repo_id, snapshot_download

BUNDLED_DIR = Path(__file__).parent / "_models"


def is_hub_id(model: str | Path) -> bool:
    """Whether ``model`` names a hub repository (a ``str`` ``owner/name``) rather than a local path."""
    return not isinstance(model, PurePath) and looks_like_repo_id(model)


def resolve(model: str | Path, **options: Any) -> Path:
    """The directory of a generated model for ``model``, generating (and downloading) it if needed."""
    return load_model(model, **options).path


def load_model(
    model: str | Path,
    *,
    revision: str = "main",
    cache_dir: str | Path | None = None,
    token: str | None = None,
    offline: bool | None = None,
    force_refresh: bool = False,
    dims: int | None = None,
) -> _model_files.GeneratedModel:
    """The loaded generated model for ``model``, generating (and downloading) it if needed."""
    if not isinstance(model, (str, PurePath)):
        raise TypeError(f"model must be a str or a pathlib.Path, not {type(model).__name__}")
    if not is_hub_id(model):
        path = Path(model)
        if is_generated_model(path):
            if dims is not None:
                raise ValueError(
                    f"{path} is already generated: dims= applies when generating; use encode(dim=...), or re-cut "
                    f"it into a new folder: fastembed-static gen {path} --out NEW_DIR --dims K"
                )
            return _model_files.load(path)
        if path.exists():
            return generate_cached(path, cache_dir=cache_dir, dims=dims)
        bundled = None if isinstance(model, PurePath) else find_bundled(model)
        if bundled is not None:
            if dims is not None:
                raise ValueError(f"{model!r} is a bundled model, already generated: use encode(dim=...), not dims=")
            return _model_files.load(bundled)
        names = bundled_names()
        raise ModelFileError(
            path,
            "no such model directory, no bundled model of that name, and not a Hugging Face hub id: a str of the "
            "form 'owner/name' is a hub id; an absolute path, one starting with './' or '../', or a pathlib.Path is "
            f"a local folder; bundled models: {', '.join(names) or 'none'}",
        )
    name = str(model)
    local = Path(name)
    if local.exists():
        warnings.warn(
            f"{name!r} is read as a Hugging Face hub id; the local folder {name} is not used. "
            f"Pass './{name}' or pathlib.Path('{name}') to load the folder",
            stacklevel=3,
        )
    if revision == "main" and dims is None:
        for bundled in (BUNDLED_DIR / bundled_name(name), BUNDLED_DIR / "default"):
            if _bundled_from(bundled) == name:
                return _model_files.load(bundled)
    try:
        return generate_from_hub(
            name,
            revision=revision,
            cache_dir=cache_dir,
            token=token,
            offline=offline,
            force_refresh=force_refresh,
            dims=dims,
        )
    except HubError as e:
        if local.exists():
            e.args = (
                f"{e.args[0]} (note: {name!r} is read as a hub id although a local folder {name} exists; "
                f"pass './{name}' or pathlib.Path('{name}') to load the folder)",
                *e.args[1:],
            )
        raise


def _bundled_from(path: Path) -> str | None:
    """The hub id a bundled model was generated from, if it is one."""
    return _bundled_source(path)[0]


def _bundled_source(path: Path) -> tuple[str | None, str | None]:
    """(hub id, source folder name) recorded in a bundled model's ``model.json`` (None where absent)."""
    try:
        source = json.loads((path / MODEL_JSON).read_text(encoding="utf-8"))["source"]
    except (OSError, ValueError, KeyError, TypeError):
        return None, None
    if not isinstance(source, dict):
        return None, None
    repo_id, name = source.get("repo_id"), source.get("name")
    return (repo_id if isinstance(repo_id, str) else None), (name if isinstance(name, str) else None)


def find_bundled(name: str) -> Path | None:
    """The model bundled at install time from a local model folder called ``name`` (``FASTEMBED_STATIC_BUNDLE=
    /any/path/NAME``, or ``FASTEMBED_STATIC_DEFAULT``), if there is one: matched by the folder name that its
    ``model.json`` records as its source, so only the name given at bundling finds it."""
    if not name or name in (".", "..") or "/" in name or os.sep in name or (os.altsep and os.altsep in name):
        return None
    for candidate in (BUNDLED_DIR / name, BUNDLED_DIR / "default"):
        repo_id, source_name = _bundled_source(candidate)
        if repo_id is None and source_name == name and is_generated_model(candidate):
            return candidate
    return None


def bundled_names() -> list[str]:
    """What ``from_pretrained`` accepts to load each model bundled at install time: its hub id, or the name of
    the local folder it was generated from."""
    names = []
    for folder in BUNDLED_DIR.iterdir() if BUNDLED_DIR.is_dir() else []:
        repo_id, source_name = _bundled_source(folder)
        if repo_id is not None or source_name is not None:
            names.append(repo_id or str(source_name))
    return sorted(names)


def generate_cached(
    model_dir: Path, *, cache_dir: str | Path | None = None, dims: int | None = None
) -> _model_files.GeneratedModel:
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
    return _cached(out, lambda check: generate(model_dir, out, dims=dims, unless=check))


def generate_from_hub(repo_id: str, *, dims: int | None = None, **download: Any) -> _model_files.GeneratedModel:
    """Download ``repo_id`` (see :func:`fastembed_static.hub.snapshot_download`) and generate it once."""
    from .gen import GENERATOR_VERSION, generate

    snapshot = snapshot_download(repo_id, **download)
    out = generated_dir(snapshot) / f"generator-{GENERATOR_VERSION}-dims-{dims or 'all'}"
    origin = hub_origin(snapshot.repo_id, snapshot.revision, snapshot.commit)
    return _cached(out, lambda check: generate(snapshot.source_dir, out, dims=dims, origin=origin, unless=check))


def _cached(out: Path, make: Any) -> _model_files.GeneratedModel:
    """Load the cache entry ``out``; if it is missing or broken, ``make(check)`` generates it under the lock, where
    ``check(out)`` says whether another process generated it meanwhile (a broken entry: warn, regenerate once)."""
    loaded: list[_model_files.GeneratedModel] = []

    def check(path: Path) -> bool:
        try:
            loaded.append(_model_files.load(path))
            return True
        except ModelFileError as e:
            if os.path.lexists(path / MODEL_JSON):
                warnings.warn(f"cached model {path} failed its checks ({e}); regenerating it", stacklevel=5)
            return False

    if is_generated_model(out):
        try:
            return _model_files.load(out)
        except ModelFileError:
            pass  # checked again, and regenerated, under the lock
    make(check)
    return loaded[0] if loaded else _model_files.load(out)
