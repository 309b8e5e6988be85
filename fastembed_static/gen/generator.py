"""Turn a model directory into a generated model (``model.json`` + ``vocab.py`` + a raw weights blob)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .bpe_spec import BpeSpec
from .errors import GenerationError
from .layout import (
    FORMAT,
    GENERATOR_VERSION,
    MODEL_JSON,
    SCALES_FILE,
    STORAGE,
    VOCAB_DOCSTRINGS,
    VOCAB_MODULE,
    is_generated_model,
    sha256_file,
)
from .locking import file_lock, generation_lock_path
from .safetensors_reader import TensorInfo, read_f32_matrix_bytes, read_float_matrix, read_header, read_vector
from .source import ModelSource, find_source
from .tokenizer_spec import TokenizerSpec, read_tokenizer

if TYPE_CHECKING:  # numpy is imported where it is used: a float32 table is copied as bytes, without numpy
    import numpy as np
    import numpy.typing as npt

_SEPARATORS = ("\n", "\x1f", "\x00")


def generate(
    model_dir: Path | str,
    out_dir: Path | str,
    *,
    dims: int | None = None,
    dtype: str = "float32",
    origin: dict[str, str] | None = None,
    unless: Callable[[Path], bool] | None = None,
) -> Path:
    """Generate a model from ``model_dir`` into ``out_dir`` (replaced atomically); returns ``out_dir``.

    ``model_dir``: a model in the sentence-transformers or model2vec layout, or a generated model, which is re-cut
    (:mod:`.recut`: fewer dims, or float32 to float16/int8; the same files as generating from its source).
    ``dims`` keeps only the first ``dims`` columns (Matryoshka truncation baked into a smaller table).
    ``dtype``: storage of the table, "float32" (exact, default), "float16" or "int8" (see STORAGE).
    ``origin`` (e.g. hub repo id, revision and commit) is recorded in model.json's ``source``.
    ``unless``: called with ``out_dir`` once the generation lock is held; if it returns True nothing is generated
    (another process generated it while this one waited).

    One generator at a time writes a given ``out_dir`` (an inter-process lock file beside it); what killed
    generators left behind is removed first.
    """
    if dtype not in STORAGE:
        raise ValueError(f"dtype must be one of {', '.join(STORAGE)}, not {dtype!r}")
    out = Path(out_dir)
    if is_generated_model(Path(model_dir)):  # a generated model as the source: re-cut it (see recut.py)
        from .recut import recut

        make: Callable[[], Path] = partial(recut, Path(model_dir), out, dims, dtype)
    else:
        source = find_source(Path(model_dir))
        make = partial(_generate, source, out, dims, dtype, origin or {})
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with file_lock(generation_lock_path(out)):
            if unless is not None and unless(out):
                return out
            remove_orphans(out)
            return make()
    except OSError as e:  # disk full, file size limit, permissions: say which file
        raise _write_error(out, e) from e


def _write_error(out: Path, error: OSError) -> GenerationError:
    """The error for a failed write into ``out``, naming the user's folder (or the file in it: a file written in a
    staging folder is named where it goes, ``out/weights.f32.bin``), not the generator's own files beside it (the lock
    file ``.{name}.lock``, staging folders ``.{name}.staging-*``), which the user never chose."""
    reason = error.strerror or str(error)
    if not error.filename:
        return GenerationError(out, f"cannot write: {reason}")
    failed = Path(error.filename)
    try:
        parts = failed.relative_to(out.parent).parts
    except ValueError:
        parts = ()
    first = parts[0] if parts else ""
    if first == generation_lock_path(out).name:
        return GenerationError(out, f"cannot write: {reason} (its lock file {failed}, beside it)")
    if first.startswith(f".{out.name}."):
        return GenerationError(out.joinpath(*parts[1:]), f"cannot write: {reason}")
    where = f" (generating {out})" if failed.parent != out.parent else ""
    return GenerationError(failed, f"cannot write: {reason}{where}")


def _generate(source: ModelSource, out_dir: Path, dims: int | None, dtype: str, origin: dict[str, str]) -> Path:
    spec = read_tokenizer(source.tokenizer)
    tensors = read_header(source.weights)
    plain = _plain_f32_table(tensors)
    if plain is not None and dtype == "float32":  # most models: stored as read, copied as bytes without numpy
        rows, cols = _check_shape(source, spec, plain.shape, dims)
        blob = read_f32_matrix_bytes(source.weights, plain, dims)
        return _write(Path(out_dir), source, spec, blob, (rows, cols), dtype, None, origin or {})
    import numpy as np

    table = _read_table(source, tensors)
    rows, cols = _check_shape(source, spec, table.shape, dims)
    stored, scales_blob = store_table(np.ascontiguousarray(table[:, :cols]), dtype, source.weights)
    return _write(Path(out_dir), source, spec, stored, (rows, cols), dtype, scales_blob, origin or {})


def store_table(table: npt.NDArray[np.float32], dtype: str, where: Path) -> tuple[memoryview, bytes | None]:
    """The bytes of a float32 ``table`` stored as ``dtype`` (little-endian), and for int8 its scales' bytes.
    Raises GenerationError (naming ``where``) when float16 cannot hold its values."""
    import numpy as np

    if dtype == "float16" and table.size and float(np.abs(table).max()) > float(np.finfo(np.float16).max):
        raise GenerationError(
            where,
            f"values up to {float(np.abs(table).max()):.6g} do not fit float16 (largest 65504): store float32 or int8",
        )
    stored, scales = _quantize(table, dtype)
    stored = np.ascontiguousarray(stored, dtype=STORAGE[dtype][0])
    return stored.data, None if scales is None else scales.astype("<f4").tobytes()


def _plain_f32_table(tensors: dict[str, TensorInfo]) -> TensorInfo | None:
    """The table tensor when it is 2-D float32 and used as stored (not model2vec's mapping/weights; _read_table)."""
    info = tensors.get("embedding.weight")
    if info is None and "mapping" not in tensors and "weights" not in tensors:
        info = tensors.get("embeddings")
    return info if info is not None and info.dtype == "F32" and len(info.shape) == 2 else None


def _check_shape(
    source: ModelSource, spec: TokenizerSpec | BpeSpec, shape: tuple[int, ...], dims: int | None
) -> tuple[int, int]:
    """(rows, kept columns) of the stored table; the rows must match the vocabulary."""
    rows, cols = shape
    if rows != spec.vocab_size:
        raise GenerationError(
            source.weights,
            f"the embedding table has {rows} rows but {source.tokenizer.name} defines"
            f" {spec.vocab_size} token ids (vocab size != table rows: mismatched files?)",
        )
    if dims is not None:
        if not 0 < dims <= cols:
            raise GenerationError(source.weights, f"dims={dims} is outside 1..{cols}")
        cols = dims
    return rows, cols


def _read_table(source: ModelSource, tensors: dict[str, TensorInfo]) -> npt.NDArray[np.float32]:
    import numpy as np

    path = source.weights
    if "embedding.weight" in tensors:
        return read_float_matrix(path, tensors["embedding.weight"])
    if "embeddings" not in tensors:
        raise GenerationError(
            path, f"no tensor 'embedding.weight' or 'embeddings' (found: {sorted(tensors) or 'none'})"
        )
    table = read_float_matrix(path, tensors["embeddings"])
    # model2vec's vocabulary-quantized models: row for token t is embeddings[mapping[t]] * weights[t].
    if "mapping" in tensors:
        mapping = read_vector(path, tensors["mapping"]).astype(np.int64)
        if mapping.size and (mapping.min() < 0 or mapping.max() >= table.shape[0]):
            raise GenerationError(path, "tensor 'mapping' points outside the 'embeddings' table")
        table = table[mapping]
    if "weights" in tensors:
        weights = read_vector(path, tensors["weights"]).astype(np.float32)
        if weights.shape[0] != table.shape[0]:
            raise GenerationError(path, "tensor 'weights' does not have one entry per token")
        table = table * weights[:, None]
    return np.ascontiguousarray(table, dtype=np.float32)


def _quantize(
    table: npt.NDArray[np.float32], dtype: str
) -> tuple[npt.NDArray[np.generic], npt.NDArray[np.float32] | None]:
    """The stored table, and for int8 the per-dimension scales (row value ~= stored value * scale)."""
    import numpy as np

    if dtype != "int8":
        return table, None
    peak = np.abs(table).max(axis=0)
    scales = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
    return np.clip(np.rint(table / scales), -127, 127).astype(np.int8), scales


def _write(
    out_dir: Path,
    source: ModelSource,
    spec: TokenizerSpec | BpeSpec,
    blob: bytes | memoryview,
    shape: tuple[int, int],
    dtype: str,
    scales: bytes | None,
    origin: dict[str, str],
) -> Path:
    """Write the model into a staging folder beside ``out_dir`` and install it (the caller holds the lock):
    ``blob`` is the stored table's bytes (little-endian ``STORAGE[dtype]``), ``scales`` the int8 per-dimension
    scales as little-endian float32 bytes."""
    sources = {str(p.relative_to(source.root)): sha256_file(p) for p in source.files}
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}{STAGING_MARK}", dir=out_dir.parent))
    try:
        staging.chmod(0o755)
        _write_files(staging, source, spec, blob, shape, dtype, scales, origin, sources)
        _install(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out_dir


STAGING_MARK = ".staging-"


def remove_orphans(out_dir: Path) -> None:
    """Remove what generators killed while writing ``out_dir`` left beside it (staging folders, swapped-out old
    versions). Called with the output's generation lock held, so no live generator owns any of them."""
    prefix = f".{out_dir.name}"
    try:
        names = os.listdir(out_dir.parent)
    except OSError:
        return
    for name in names:
        rest = name[len(prefix) :] if name.startswith(prefix) else ""
        if rest.startswith((STAGING_MARK, ".old.")):
            shutil.rmtree(out_dir.parent / name, ignore_errors=True)
            if (out_dir.parent / name).is_file():
                (out_dir.parent / name).unlink(missing_ok=True)


def _write_files(
    staging: Path,
    source: ModelSource,
    spec: TokenizerSpec | BpeSpec,
    blob: bytes | memoryview,
    shape: tuple[int, int],
    dtype: str,
    scales: bytes | None,
    origin: dict[str, str],
    sources: dict[str, str],
) -> None:
    weights_file = STORAGE[dtype][1]
    weights_path = staging / weights_file
    _write_bytes(weights_path, blob)
    weights = {"file": weights_file, "bytes": weights_path.stat().st_size, "sha256": sha256_file(weights_path)}
    if isinstance(spec, BpeSpec):
        kind, extras = "BPE", spec.vocab_extras()
    elif spec.scores is not None:  # Unigram: score i of token i, each as repr writes the float (reads back the same)
        kind, extras = "Unigram", {"SCORES": " ".join(repr(score) for score in spec.scores)}
    else:
        kind, extras = "WordPiece", {}
    vocab_text = render_vocab_module(
        spec.tokens, source.tokenizer.name, sources[_rel(source, source.tokenizer)], extras, kind
    )
    _write_text(staging / VOCAB_MODULE, vocab_text)
    metadata = _metadata(source, spec, shape, dtype, sources, origin, weights, vocab_text)
    if scales is not None:
        _write_bytes(staging / SCALES_FILE, scales)
        metadata["scales"] = {"file": SCALES_FILE, "sha256": sha256_file(staging / SCALES_FILE)}
    _write_bytes(staging / MODEL_JSON, _render_model_json(metadata))


def _write_bytes(path: Path, data: bytes | memoryview) -> None:
    with open(path, "wb") as f:
        try:
            f.write(data)  # not ndarray.tofile: its errors lose errno and the path
            f.flush()
            os.fsync(f.fileno())
        except OSError as e:
            e.filename = e.filename or str(path)
            raise


def _write_text(path: Path, text: str) -> None:
    _write_bytes(path, text.encode("utf-8"))


def _rel(source: ModelSource, path: Path) -> str:
    return str(path.relative_to(source.root))


def _metadata(
    source: ModelSource,
    spec: TokenizerSpec | BpeSpec,
    shape: tuple[int, ...],
    dtype: str,
    sources: dict[str, str],
    origin: dict[str, str],
    weights: dict[str, Any],
    vocab_text: str,
) -> dict[str, Any]:
    rows, dim = shape
    return {
        "format": FORMAT,
        "generator_version": GENERATOR_VERSION,
        # The source folder's name, not its absolute path: a bundled model's metadata must not record the build machine.
        "source": {"layout": source.layout, "name": source.root.resolve().name, "sha256": sources, **origin},
        "vocab_size": rows,
        "dim": dim,
        "dtype": dtype,
        "byte_order": "little",
        "normalize": source.normalize,
        "weights": weights,
        "vocab": {
            "module": VOCAB_MODULE,
            "tokens": len(spec.tokens),
            "sha256": hashlib.sha256(vocab_text.encode("utf-8")).hexdigest(),
        },
        "tokenizer": spec.metadata() if isinstance(spec, BpeSpec) else _tokenizer_metadata(spec),
        "special_token_ids": {t.content: t.id for t in spec.added_tokens if t.special},
    }


def _tokenizer_metadata(spec: TokenizerSpec) -> dict[str, Any]:
    truncation = (
        None
        if spec.truncation_max_length is None
        else {"max_length": spec.truncation_max_length, "direction": spec.truncation_direction}
    )
    if spec.model != "WordPiece":
        added = [
            {"content": t.content, "id": t.id, "special": t.special, "lstrip": t.lstrip, "rstrip": t.rstrip}
            for t in spec.added_tokens
        ]
        return {**spec.config, "added_tokens": added, "truncation": truncation}
    return {
        "clean_text": spec.clean_text,
        "handle_chinese_chars": spec.handle_chinese_chars,
        "strip_accents": spec.strip_accents,
        "lowercase": spec.lowercase,
        "unk_token": spec.unk_token,
        "unk_id": spec.unk_id,
        "continuing_subword_prefix": spec.continuing_subword_prefix,
        "max_input_chars_per_word": spec.max_input_chars_per_word,
        "added_tokens": [{"content": t.content, "id": t.id, "special": t.special} for t in spec.added_tokens],
        "truncation": truncation,
    }


def render_vocab_module(
    tokens: list[str],
    source_name: str,
    source_sha256: str,
    extras: dict[str, str] | None = None,
    kind: str = "WordPiece",
) -> str:
    """The vocabulary as a typed module: one string literal, split at import (a dict literal of 30k entries
    makes mypyc and the bytecode compiler slow and memory-hungry; one literal compiles and loads in ms).
    ``extras``: the kind's other names (Unigram: SCORES, BPE: MERGES), each one string literal; ``kind`` picks
    the docstring."""
    separator = next((s for s in _SEPARATORS if not any(s in t for t in tokens)), None)
    if separator is None:
        raise GenerationError(source_name, "vocabulary tokens contain every separator candidate")
    joined = separator.join(tokens)
    return (
        f"# Generated by fastembed-static's generator (gen/, version {GENERATOR_VERSION}); do not edit.\n"
        f"# Input: {source_name} (sha256 {source_sha256}).\n"
        "# Regenerate with: fastembed-static gen MODEL_DIR --out DIR\n"
        f"{VOCAB_DOCSTRINGS[kind]}\n\n"
        "from typing import Final\n\n"
        f"VOCAB_SIZE: Final = {len(tokens)}\n"
        f"SEPARATOR: Final = {separator!r}\n"
        f"TOKENS: Final = {joined!r}\n"
        + "".join(f"{name}: Final = {value!r}\n" for name, value in (extras or {}).items())
    )


def _install(staging: Path, out_dir: Path) -> None:
    """Put the finished staging folder in place of ``out_dir`` so that a reader always finds a complete model.

    A new output is one rename. An existing generated model is updated in place: the new data files are moved in
    (under new names where the old version still uses a name), then ``model.json``, which names them, is swapped
    atomically (the pointer), then files only the old version used are removed. ``model.json`` is visible at every
    moment; a reader that read the old ``model.json`` and finds a file gone reads ``model.json`` again.

    A file whose bytes are already in place under its name is left as it is (same inode), and an unchanged
    ``model.json`` is not rewritten: regenerating the same model changes nothing a reader could notice. Every
    replacement puts a new file under a name, so a reader can tell by inode whether a name still holds what it read.
    """
    if not out_dir.exists() and not out_dir.is_symlink():
        os.replace(staging, out_dir)
        return
    if out_dir.is_symlink() or not out_dir.is_dir():
        raise GenerationError(out_dir, "exists and is not a folder; refusing to replace it")
    old_names = set(os.listdir(out_dir))
    if not is_generated_model(out_dir) and old_names:
        raise GenerationError(out_dir, "exists and is not a generated model; refusing to replace it")
    metadata = json.loads((staging / MODEL_JSON).read_text(encoding="utf-8"))
    tag = os.urandom(4).hex()
    entries = [(metadata["weights"], "file"), (metadata["vocab"], "module")]
    if "scales" in metadata:
        entries.append((metadata["scales"], "file"))
    keep = {MODEL_JSON}
    for entry, key in entries:
        name = entry[key]
        if name in old_names and _holds(out_dir / name, (staging / name).stat().st_size, entry["sha256"]):
            keep.add(name)
            continue
        target = name if name not in old_names else _tagged(name, tag)
        os.replace(staging / name, out_dir / target)
        entry[key] = target
        keep.add(target)
    _swap_model_json(staging, out_dir, metadata)
    try:  # back to the usual names: hard-link them into place, point model.json at them, drop the tagged names
        renamed = {}
        for entry, key in entries:
            tagged = entry[key]
            usual = _untagged(tagged)
            if usual != tagged:
                os.link(out_dir / tagged, staging / usual)
                os.replace(staging / usual, out_dir / usual)
                entry[key] = renamed[tagged] = usual
        if renamed:
            _swap_model_json(staging, out_dir, metadata)
            keep.difference_update(renamed)
            keep.update(renamed.values())
            for tagged in renamed:
                (out_dir / tagged).unlink(missing_ok=True)
    except OSError:
        pass  # no hard links on this file system: the tagged names stay, model.json names them
    for name in old_names - keep:
        path = out_dir / name
        if name == "__pycache__" and path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)  # left by versions that imported vocab.py
        elif _is_generated_name(name) and not path.is_dir():
            path.unlink(missing_ok=True)


def _swap_model_json(staging: Path, out_dir: Path, metadata: dict[str, Any]) -> None:
    """Point the output at ``metadata``: ``model.json`` replaced atomically, unless it already holds these bytes."""
    rendered = _render_model_json(metadata)
    try:
        if (out_dir / MODEL_JSON).read_bytes() == rendered:
            return
    except OSError:
        pass  # missing or unreadable: replaced
    _write_bytes(staging / MODEL_JSON, rendered)
    os.replace(staging / MODEL_JSON, out_dir / MODEL_JSON)


def _render_model_json(metadata: dict[str, Any]) -> bytes:
    return (json.dumps(metadata, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _holds(path: Path, size: int, sha256: str) -> bool:
    """Whether ``path`` is a regular file of this size and sha256 (False if it cannot be read)."""
    try:
        if not path.is_file() or path.is_symlink() or path.stat().st_size != size:
            return False
        return sha256_file(path) == sha256
    except OSError:
        return False


def _untagged(name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    parts = stem.split(".")
    if len(parts) > 1 and parts[-1].startswith("v") and len(parts[-1]) == 9:
        parts.pop()
    return ".".join(parts) + dot + ext


def _tagged(name: str, tag: str) -> str:
    """``weights.f32.bin`` -> ``weights.f32.v{tag}.bin`` (a previous tag is replaced, not stacked)."""
    stem, dot, ext = _untagged(name).rpartition(".")
    return f"{stem}.v{tag}{dot}{ext}"


def _is_generated_name(name: str) -> bool:
    return name.startswith(("weights.", "vocab.", "scales.")) and name.endswith((".bin", ".py"))


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m fastembed_static.gen", description="Generate a fastembed-static model."
    )
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--dims", type=int, default=None)
    parser.add_argument("--dtype", choices=sorted(STORAGE), default="float32")
    args = parser.parse_args(argv)
    try:
        generate(args.model_dir, args.out, dims=args.dims, dtype=args.dtype)
    except GenerationError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(args.out)
    return 0
