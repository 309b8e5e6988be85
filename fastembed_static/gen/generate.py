"""Turn a model directory into a generated model (``model.json`` + ``vocab.py`` + a raw weights blob)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import GenerationError
from .layout import (
    FORMAT,
    GENERATOR_VERSION,
    MODEL_JSON,
    SCALES_FILE,
    STORAGE,
    VOCAB_MODULE,
    is_generated_model,
    sha256_file,
)
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
) -> Path:
    """Generate a model from ``model_dir`` into ``out_dir`` (replaced atomically); returns ``out_dir``.

    ``dims`` keeps only the first ``dims`` columns (Matryoshka truncation baked into a smaller table).
    ``dtype``: storage of the table, "float32" (exact, default), "float16" or "int8" (see STORAGE).
    ``origin`` (e.g. hub repo id, revision and commit) is recorded in model.json's ``source``.
    """
    if dtype not in STORAGE:
        raise ValueError(f"dtype must be one of {', '.join(STORAGE)}, not {dtype!r}")
    source = find_source(Path(model_dir))
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
    table = np.ascontiguousarray(table[:, :cols])
    stored, scales = _quantize(table, dtype)
    stored = np.ascontiguousarray(stored, dtype=STORAGE[dtype][0])
    scales_blob = None if scales is None else scales.astype("<f4").tobytes()
    return _write(Path(out_dir), source, spec, stored.data, (rows, cols), dtype, scales_blob, origin or {})


def _plain_f32_table(tensors: dict[str, TensorInfo]) -> TensorInfo | None:
    """The table tensor when it is 2-D float32 and used as stored (not model2vec's mapping/weights; _read_table)."""
    info = tensors.get("embedding.weight")
    if info is None and "mapping" not in tensors and "weights" not in tensors:
        info = tensors.get("embeddings")
    return info if info is not None and info.dtype == "F32" and len(info.shape) == 2 else None


def _check_shape(source: ModelSource, spec: TokenizerSpec, shape: tuple[int, ...], dims: int | None) -> tuple[int, int]:
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
    spec: TokenizerSpec,
    blob: bytes | memoryview,
    shape: tuple[int, int],
    dtype: str,
    scales: bytes | None,
    origin: dict[str, str],
) -> Path:
    """Write the generated model: ``blob`` is the stored table's bytes (little-endian ``STORAGE[dtype]``),
    ``scales`` the int8 per-dimension scales as little-endian float32 bytes."""
    sources = {str(p.relative_to(source.root)): sha256_file(p) for p in source.files}
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        staging.chmod(0o755)
        weights_file = STORAGE[dtype][1]
        weights_path = staging / weights_file
        weights_path.write_bytes(blob)
        weights = {"file": weights_file, "bytes": weights_path.stat().st_size, "sha256": sha256_file(weights_path)}
        vocab_text = render_vocab_module(spec.tokens, source.tokenizer.name, sources[_rel(source, source.tokenizer)])
        (staging / VOCAB_MODULE).write_text(vocab_text, encoding="utf-8", newline="\n")
        metadata = _metadata(source, spec, shape, dtype, sources, origin, weights, vocab_text)
        if scales is not None:
            (staging / SCALES_FILE).write_bytes(scales)
            metadata["scales"] = {"file": SCALES_FILE, "sha256": sha256_file(staging / SCALES_FILE)}
        (staging / MODEL_JSON).write_text(json.dumps(metadata, indent=2, ensure_ascii=False) + "\n", "utf-8")
        _replace_dir(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir


def _rel(source: ModelSource, path: Path) -> str:
    return str(path.relative_to(source.root))


def _metadata(
    source: ModelSource,
    spec: TokenizerSpec,
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
        "tokenizer": {
            "clean_text": spec.clean_text,
            "handle_chinese_chars": spec.handle_chinese_chars,
            "strip_accents": spec.strip_accents,
            "lowercase": spec.lowercase,
            "unk_token": spec.unk_token,
            "unk_id": spec.unk_id,
            "continuing_subword_prefix": spec.continuing_subword_prefix,
            "max_input_chars_per_word": spec.max_input_chars_per_word,
            "added_tokens": [{"content": t.content, "id": t.id, "special": t.special} for t in spec.added_tokens],
            "truncation": (
                None
                if spec.truncation_max_length is None
                else {"max_length": spec.truncation_max_length, "direction": spec.truncation_direction}
            ),
        },
        "special_token_ids": {t.content: t.id for t in spec.added_tokens if t.special},
    }


def render_vocab_module(tokens: list[str], source_name: str, source_sha256: str) -> str:
    """The vocabulary as a typed module: one string literal, split at import (a dict literal of 30k entries
    makes mypyc and the bytecode compiler slow and memory-hungry; one literal compiles and loads in ms)."""
    separator = next((s for s in _SEPARATORS if not any(s in t for t in tokens)), None)
    if separator is None:
        raise GenerationError(source_name, "vocabulary tokens contain every separator candidate")
    joined = separator.join(tokens)
    return (
        f"# Generated by fastembed-static's generator (gen/, version {GENERATOR_VERSION}); do not edit.\n"
        f"# Input: {source_name} (sha256 {source_sha256}).\n"
        "# Regenerate with: fastembed-static gen MODEL_DIR --out DIR\n"
        '"""WordPiece vocabulary: token i of TOKENS.split(SEPARATOR) has id i."""\n\n'
        "from typing import Final\n\n"
        f"VOCAB_SIZE: Final = {len(tokens)}\n"
        f"SEPARATOR: Final = {separator!r}\n"
        f"TOKENS: Final = {joined!r}\n"
    )


def _replace_dir(staging: Path, out_dir: Path) -> None:
    """Move the finished staging dir into place; an existing output is swapped out, never half-overwritten."""
    if out_dir.exists() or out_dir.is_symlink():
        if not is_generated_model(out_dir) and any(out_dir.iterdir()):
            raise GenerationError(out_dir, "exists and is not a generated model; refusing to replace it")
        old = out_dir.with_name(f".{out_dir.name}.old.{os.getpid()}")
        os.replace(out_dir, old)
        os.replace(staging, out_dir)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, out_dir)


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
