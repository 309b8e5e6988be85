"""What a generated model is on disk, and the names that the generator, the runtime, the hub code and the build
agree on. This module is the one place for them.

It imports nothing but the standard library (the runtime imports it at cold start, ``setup.py`` at build time),
and hashlib only when a file is hashed (it costs milliseconds at cold start).
"""

from __future__ import annotations

from pathlib import Path

FORMAT = "fastembed-static/1"
"""``model.json``'s ``format``: what this version of the runtime reads."""

GENERATOR_VERSION = "1"
"""Bumped when the generator's output changes; part of every cache key."""

MODEL_JSON = "model.json"
VOCAB_MODULE = "vocab.py"
SCALES_FILE = "scales.f32.bin"

STORAGE: dict[str, tuple[str, str]] = {
    "float32": ("<f4", "weights.f32.bin"),
    "float16": ("<f2", "weights.f16.bin"),
    "int8": ("i1", "weights.i8.bin"),
}
"""Storage types of the table: numpy dtype string and file name. float32 is exact; float16 halves the size; int8
quarters it, with a per-dimension scale that the runtime applies once to each summed vector."""

_CHUNK = 1 << 20


def is_generated_model(path: Path) -> bool:
    """Whether ``path`` is a generated model directory (it has ``model.json``)."""
    return (path / MODEL_JSON).is_file()


def file_hashes(path: Path, *, git_blob_sha1: bool = False) -> tuple[int, str, str | None]:
    """(size, sha256 hex, git blob sha1 hex or None) of a file, read once in 1 MiB blocks."""
    import hashlib

    size = path.stat().st_size
    sha256 = hashlib.sha256()
    sha1 = hashlib.sha1(b"blob %d\0" % size) if git_blob_sha1 else None
    with path.open("rb") as f:
        while block := f.read(_CHUNK):
            sha256.update(block)
            if sha1 is not None:
                sha1.update(block)
    return size, sha256.hexdigest(), None if sha1 is None else sha1.hexdigest()


def sha256_file(path: Path) -> str:
    return file_hashes(path)[1]


def hub_origin(repo_id: str, revision: str, commit: str) -> dict[str, str]:
    """What ``model.json``'s ``source`` records for a model generated from a hub download."""
    return {"repo_id": repo_id, "revision": revision, "commit": commit}


def split_revision(model: str) -> tuple[str, str | None]:
    """``"owner/name@rev"`` -> ``("owner/name", "rev")``; without ``@``, the revision is None."""
    name, at, revision = model.partition("@")
    return name, (revision or None) if at else None


def bundled_name(model: str) -> str:
    """The folder a model bundled at install time gets under ``fastembed_static/_models``: ``owner--name`` for a
    hub id (any ``@revision`` dropped), the directory's own name for a local model directory."""
    path = Path(model)
    if path.is_dir():
        return path.resolve().name
    return split_revision(model)[0].strip("/").replace("/", "--")
