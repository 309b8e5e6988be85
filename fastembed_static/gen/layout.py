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


VOCAB_DOCSTRING = '"""WordPiece vocabulary: token i of TOKENS.split(SEPARATOR) has id i."""'
BPE_VOCAB_DOCSTRING = (
    '"""BPE vocabulary: token i of TOKENS.split(SEPARATOR) has id i; MERGES: the merges by rank, as pairs of'
    ' decimal ids."""'
)
VOCAB_DOCSTRINGS = {
    "WordPiece": VOCAB_DOCSTRING,
    "Unigram": '"""Unigram vocabulary: token i of TOKENS.split(SEPARATOR) has id i and score i of SCORES.split()."""',
    "BPE": BPE_VOCAB_DOCSTRING,
}
_VOCAB_FIXED_LINES = frozenset({"", "from typing import Final", *VOCAB_DOCSTRINGS.values()})


OPTIONAL_VOCAB_NAMES = ("SCORES", "MERGES")
"""Per-kind string constants a vocabulary module may add: Unigram scores, BPE merges."""


def parse_vocab_module(text: str) -> tuple[list[str], int, dict[str, str]]:
    """(tokens, VOCAB_SIZE, optional names) of a generated ``vocab.py``, read as data: nothing in it is imported
    or executed.

    The module must be exactly what the generator writes: comment lines, its docstring, ``from typing import
    Final``, then ``VOCAB_SIZE: Final = <int>``, ``SEPARATOR: Final = <str>`` and ``TOKENS: Final = <str>``, and
    optionally ``SCORES``/``MERGES: Final = <str>`` (returned decoded, by name), each string literal spelled
    exactly as ``repr`` spells it. Anything else raises ValueError naming the line.
    """
    values: dict[str, str] = {}
    for number, line in enumerate(text.split("\n"), 1):
        name, sep, literal = line.partition(": Final = ")
        if sep and name in ("VOCAB_SIZE", "SEPARATOR", "TOKENS", *OPTIONAL_VOCAB_NAMES) and name not in values:
            values[name] = literal
        elif not (line.startswith("#") or line in _VOCAB_FIXED_LINES):
            raise ValueError(f"line {number} is not part of a generated vocabulary module: {line[:80]!r}")
    missing = [name for name in ("VOCAB_SIZE", "SEPARATOR", "TOKENS") if name not in values]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    size_text = values["VOCAB_SIZE"]
    if not size_text.isascii() or not size_text.isdigit() or str(int(size_text)) != size_text:
        raise ValueError(f"VOCAB_SIZE is not a non-negative integer literal: {size_text[:80]!r}")
    separator = _string_literal(values["SEPARATOR"], "SEPARATOR")
    if len(separator) != 1:
        raise ValueError(f"SEPARATOR must be one character, got {separator!r}")
    extras = {name: _string_literal(values[name], name) for name in OPTIONAL_VOCAB_NAMES if name in values}
    return _string_literal(values["TOKENS"], "TOKENS").split(separator), int(size_text), extras


def _string_literal(literal: str, name: str) -> str:
    """Decode a str literal written by ``repr`` without evaluating it: decode its escapes, then require that
    ``repr`` of the result gives back the very same text (so it is one plain literal, nothing else)."""
    if len(literal) < 2 or literal[0] not in "'\"" or literal[-1] != literal[0]:
        raise ValueError(f"{name} is not a string literal")
    try:
        value = literal[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape")
    except UnicodeDecodeError as e:
        raise ValueError(f"{name} has an invalid escape: {e}") from None
    if repr(value) != literal:
        raise ValueError(f"{name} is not a string literal as the generator writes it")
    return value
