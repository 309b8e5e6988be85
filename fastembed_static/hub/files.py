"""Checks of downloaded files: which folder of the repository holds the model, whether a file has the size and
checksum the hub announced, and whether its content is usable. The format knowledge itself (StaticEmbedding
module types, ``modules.json`` paths, the safetensors header) belongs to the generator; this module asks it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import InvalidModelError, NotStaticModelError
from ..gen.layout import file_hashes
from .constants import HEX40, HEX64


def static_folder(modules: Any) -> str:
    """The folder prefix ("" or "sub/") of the StaticEmbedding module in a parsed modules.json."""
    from ..gen.errors import GenerationError, NotStaticModel
    from ..gen.source import static_module_folder

    try:
        return static_module_folder(modules, "modules.json")
    except NotStaticModel as e:
        raise NotStaticModelError(e.problem) from None
    except GenerationError as e:
        raise InvalidModelError(f"modules.json: {e.problem}") from None


def hash_file(path: Path) -> tuple[int, str, str]:
    """(size, sha256 hex, git blob sha1 hex) of a file."""
    size, sha256, sha1 = file_hashes(path, git_blob_sha1=True)
    assert sha1 is not None
    return size, sha256, sha1


def normalize_etag(etag: str | None) -> str | None:
    if not etag:
        return None
    etag = etag.strip()
    if etag.startswith("W/"):
        etag = etag[2:]
    return etag.strip('"').lower() or None


def checksum_problem(
    size: int, sha256: str, sha1: str, expected_size: int | None, expected_etag: str | None
) -> str | None:
    """What is wrong with a file of ``size``/``sha256``/``sha1`` given what the hub announced, or None. A 64-hex
    ETag is the sha256 of an LFS file (X-Linked-Etag); a 40-hex one is git's blob sha1 of a regular file."""
    if expected_size is not None and size != expected_size:
        return f"wrong size: {size} bytes, the hub announced {expected_size}"
    if expected_etag and HEX64.fullmatch(expected_etag) and sha256 != expected_etag:
        return f"wrong checksum: sha256 {sha256}, the hub announced {expected_etag} (X-Linked-Etag)"
    if expected_etag and HEX40.fullmatch(expected_etag) and sha1 != expected_etag:
        return f"wrong checksum: git blob sha1 {sha1}, the hub announced {expected_etag} (ETag)"
    return None


def content_problem(path: Path, filename: str) -> str | None:
    """What makes an intact download unusable (invalid JSON, a safetensors header that does not fit the file), or
    None. Reads only the header of a safetensors file."""
    if filename.endswith(".safetensors"):
        from ..gen.errors import GenerationError
        from ..gen.safetensors_reader import read_header

        try:
            read_header(path)
        except GenerationError as e:
            return e.problem
        return None
    if filename.endswith(".json"):
        try:
            json.loads(path.read_bytes().decode("utf-8"))
        except UnicodeDecodeError as e:
            return f"not valid UTF-8 JSON ({e})"
        except ValueError as e:
            return f"not valid JSON ({e})"
    return None
