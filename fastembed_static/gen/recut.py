"""Re-cut a generated model: fewer dimensions, or a narrower storage type, without its source model.

A float32 generated model holds its source's table exactly (the generator stores the float32 rows as read), its
vocabulary and every tokenizer setting, so cutting columns off it, or storing it as float16 or int8, gives the very
files the generator writes from the source with those options, byte for byte (``model.json`` too: it keeps the
provenance of the source, whose files' sha256 it lists). A float16 or int8 model no longer holds the source's
values, so it can only be cut to fewer dims in its own storage (columns of stored values, and of int8 scales, are
independent: the same bytes again); widening it (to float32, or int8 to float16) is refused.

Trust, as for loading: the folder is data. ``model.json`` passes the loader's field checks, ``vocab.py`` is parsed as
data (never imported), each file must be a regular file, and the sha256 of the very bytes used is checked against
``model.json`` before they are used. The table must hold finite values only, as from a source model.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Any

from .errors import GenerationError
from .generator import STAGING_MARK, _install, _render_model_json, _write_bytes, store_table
from .layout import (
    FORMAT,
    GENERATOR_VERSION,
    MODEL_JSON,
    SCALES_FILE,
    STORAGE,
    VOCAB_MODULE,
    parse_vocab_module,
    sha256_file,
)

RECUTS = {
    ("float32", "float32"),
    ("float32", "float16"),
    ("float32", "int8"),
    ("float16", "float16"),
    ("int8", "int8"),
}
"""(stored dtype, requested dtype) pairs a re-cut can give exactly."""


def recut(model_dir: Path, out_dir: Path, dims: int | None, dtype: str) -> Path:
    """Write ``model_dir`` (a generated model) cut to ``dims`` columns and stored as ``dtype`` into ``out_dir``
    (the caller holds ``out_dir``'s generation lock). Raises GenerationError naming the file at fault."""
    import numpy as np  # a re-cut is never part of a package build, which has no numpy

    if out_dir.resolve() == model_dir.resolve():
        raise GenerationError(out_dir, "is the generated model being re-cut: write the re-cut model elsewhere")
    meta_path = model_dir / MODEL_JSON
    metadata = _checked_metadata(meta_path)
    rows, cols, stored = metadata["vocab_size"], metadata["dim"], metadata["dtype"]
    if (stored, dtype) not in RECUTS:
        raise GenerationError(
            meta_path,
            f"a {stored} model cannot be re-cut to {dtype}: its stored values are not its source's; generate "
            f"{dtype} from the source model instead (a re-cut keeps or narrows the storage: float32 to any, "
            "float16 to float16, int8 to int8)",
        )
    if dims is not None and not 0 < dims <= cols:
        raise GenerationError(meta_path, f"dims={dims} is outside 1..{cols}")
    keep = cols if dims is None else dims

    vocab_path = model_dir / metadata["vocab"]["module"]
    vocab_text = _verified(vocab_path, metadata["vocab"]["sha256"])
    try:
        tokens, size, _ = parse_vocab_module(vocab_text.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise GenerationError(vocab_path, f"not a generated vocabulary module (read as data, never run): {e}") from e
    if not len(tokens) == size == metadata["vocab"]["tokens"]:
        raise GenerationError(vocab_path, f"has {len(tokens)} tokens, model.json says {metadata['vocab']['tokens']}")

    weights_path = model_dir / metadata["weights"]["file"]
    raw = _verified(weights_path, metadata["weights"]["sha256"])
    table = np.frombuffer(raw, dtype=STORAGE[stored][0]).reshape(rows, cols)
    if table.dtype.kind == "f" and not np.isfinite(table).all():
        raise GenerationError(weights_path, "the table holds NaN or infinite values")
    scales_blob = None
    if stored == "int8":
        scales_path = model_dir / metadata["scales"]["file"]
        scales = np.frombuffer(_verified(scales_path, metadata["scales"]["sha256"]), dtype="<f4")
        if scales.shape != (cols,) or not np.isfinite(scales).all():
            raise GenerationError(scales_path, f"expected {cols} finite float32 scales")
        scales_blob = scales[:keep].tobytes()
    cut = np.ascontiguousarray(table[:, :keep])
    if stored == dtype:  # columns of stored values: the generator's own bytes for these dims
        blob: bytes | memoryview = cut.data
    else:  # float32 -> float16 / int8, exactly as the generator stores a float32 table
        blob, scales_blob = store_table(cut, dtype, weights_path)
    return _write(out_dir, metadata, keep, dtype, blob, scales_blob, vocab_text)


def _checked_metadata(meta_path: Path) -> dict[str, Any]:
    from .._model_files import check_metadata  # the loader's field checks
    from ..errors import ModelFileError

    try:
        metadata = json.loads(_read(meta_path).decode("utf-8"))
        if not isinstance(metadata, dict):
            raise GenerationError(meta_path, "expected a JSON object")
        check_metadata(meta_path, metadata)
    except ModelFileError as e:
        raise GenerationError(meta_path, e.problem) from e
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        if isinstance(e, GenerationError):
            raise
        raise GenerationError(meta_path, f"unreadable or corrupt: {e}") from e
    if metadata.get("generator_version") != GENERATOR_VERSION or metadata["format"] != FORMAT:
        raise GenerationError(
            meta_path,
            f"written by generator version {metadata.get('generator_version')!r}, this is version "
            f"{GENERATOR_VERSION!r}: generate from the source model instead",
        )
    if not isinstance(metadata.get("source"), dict):
        raise GenerationError(meta_path, "field source must be an object")
    return metadata


def _read(path: Path) -> bytes:
    """The bytes of ``path``, a regular file (opened without blocking: a FIFO is refused, not waited on)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as e:
        raise GenerationError(path, f"cannot open: {e.strerror or e}") from e
    with os.fdopen(fd, "rb") as f:
        mode = os.fstat(f.fileno()).st_mode
        if not stat.S_ISREG(mode):
            raise GenerationError(path, f"not a regular file (mode {stat.filemode(mode)})")
        return f.read()


def _verified(path: Path, sha256: str) -> bytes:
    """The bytes of ``path`` once their sha256 is the one ``model.json`` gives."""
    import hashlib

    data = _read(path)
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise GenerationError(path, f"sha256 is {actual}, model.json says {sha256}: the model folder was altered")
    return data


def _write(
    out_dir: Path,
    old: dict[str, Any],
    dim: int,
    dtype: str,
    blob: bytes | memoryview,
    scales: bytes | None,
    vocab_text: bytes,
) -> Path:
    """Stage and install the re-cut model; ``model.json`` has the generator's fields, in the generator's order."""
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}{STAGING_MARK}", dir=out_dir.parent))
    try:
        staging.chmod(0o755)
        weights_file = STORAGE[dtype][1]
        _write_bytes(staging / weights_file, blob)
        _write_bytes(staging / VOCAB_MODULE, vocab_text)
        keys = ("format", "generator_version", "source", "vocab_size", "dim", "dtype", "byte_order", "normalize")
        metadata: dict[str, Any] = {key: old[key] for key in keys if key in old}
        metadata.update(dim=dim, dtype=dtype, byte_order="little")
        metadata["weights"] = {
            "file": weights_file,
            "bytes": (staging / weights_file).stat().st_size,
            "sha256": sha256_file(staging / weights_file),
        }
        metadata["vocab"] = {"module": VOCAB_MODULE, "tokens": old["vocab"]["tokens"], "sha256": old["vocab"]["sha256"]}
        metadata["tokenizer"] = old["tokenizer"]
        metadata["special_token_ids"] = old.get("special_token_ids", {})
        if scales is not None:
            _write_bytes(staging / SCALES_FILE, scales)
            metadata["scales"] = {"file": SCALES_FILE, "sha256": sha256_file(staging / SCALES_FILE)}
        _write_bytes(staging / MODEL_JSON, _render_model_json(metadata))
        _install(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out_dir
