"""Open a generated model: read ``model.json``, import the generated vocabulary module, and map the weights blob
into memory read-only. The weights are never copied: the numpy array is a view of the mapping, so only the pages
of rows that texts actually use are ever read from disk."""

from __future__ import annotations

import importlib.util
import json
import mmap
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from .errors import ModelFileError
from .gen.layout import FORMAT, MODEL_JSON, SCALES_FILE, STORAGE, sha256_file

_DTYPES: dict[str, np.dtype[Any]] = {name: np.dtype(numpy_dtype) for name, (numpy_dtype, _) in STORAGE.items()}


class GeneratedModel(NamedTuple):  # not a dataclass: dataclasses imports inspect, slow at cold start
    path: Path
    metadata: dict[str, Any]
    tokens: list[str]
    weights: npt.NDArray[Any]  # (vocab_size, dim) float32/float16/int8, a read-only view of the mapped file
    scales: npt.NDArray[np.float32] | None  # int8 only: per-dimension scale, applied to each summed vector

    @property
    def tokenizer_config(self) -> dict[str, Any]:
        config: dict[str, Any] = self.metadata["tokenizer"]
        return config


def load(path: Path) -> GeneratedModel:
    meta_path = path / MODEL_JSON
    try:
        metadata = json.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ModelFileError(meta_path, "missing: not a generated fastembed-static model") from e
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelFileError(meta_path, f"unreadable or corrupt: {e}") from e
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        found = metadata.get("format") if isinstance(metadata, dict) else None
        raise ModelFileError(meta_path, f"format is {found!r}, this version of fastembed-static reads {FORMAT!r}")
    try:
        rows, dim = int(metadata["vocab_size"]), int(metadata["dim"])
        dtype = _DTYPES[metadata["dtype"]]
        weights_file, weights_bytes = metadata["weights"]["file"], int(metadata["weights"]["bytes"])
        vocab_module, vocab_tokens = metadata["vocab"]["module"], int(metadata["vocab"]["tokens"])
        metadata["tokenizer"]["unk_id"]
    except (KeyError, TypeError, ValueError) as e:
        raise ModelFileError(meta_path, f"corrupt metadata: missing or invalid field {e}") from e
    tokens = _load_vocab(path / vocab_module, vocab_tokens)
    weights = _map_weights(path / weights_file, rows, dim, dtype, weights_bytes)
    scales = None
    if metadata["dtype"] == "int8":
        scales_path = path / str(metadata.get("scales", {}).get("file", SCALES_FILE))
        try:
            scales = np.fromfile(scales_path, dtype="<f4")
        except OSError as e:
            raise ModelFileError(scales_path, f"int8 scales are missing or unreadable: {e}") from e
        if scales.shape != (dim,) or not np.isfinite(scales).all():
            raise ModelFileError(scales_path, f"expected {dim} finite float32 scales, found {scales.size}")
    return GeneratedModel(path, metadata, tokens, weights, scales)


def _load_vocab(path: Path, expected: int) -> list[str]:
    spec = importlib.util.spec_from_file_location(f"fastembed_static_vocab_{abs(hash(str(path)))}", path)
    if spec is None or spec.loader is None or not path.is_file():
        raise ModelFileError(path, "vocabulary module is missing")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        tokens: list[str] = module.TOKENS.split(module.SEPARATOR)
        size = int(module.VOCAB_SIZE)
    except Exception as e:  # a damaged generated file can fail in many ways; all mean the same thing
        raise ModelFileError(path, f"vocabulary module is corrupt: {type(e).__name__}: {e}") from e
    if not len(tokens) == size == expected:
        raise ModelFileError(
            path, f"vocabulary has {len(tokens)} tokens, VOCAB_SIZE says {size}, model.json says {expected}"
        )
    return tokens


def _map_weights(path: Path, rows: int, dim: int, dtype: np.dtype[Any], expected_bytes: int) -> Any:
    if rows * dim * dtype.itemsize != expected_bytes:
        raise ModelFileError(path, f"model.json is inconsistent: {rows}x{dim} {dtype} is not {expected_bytes} bytes")
    try:
        with path.open("rb") as f:
            size = path.stat().st_size
            if size != expected_bytes:
                raise ModelFileError(
                    path, f"weights file has {size} bytes, expected {expected_bytes} (truncated or corrupt)"
                )
            mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except FileNotFoundError as e:
        raise ModelFileError(path, "weights file is missing") from e
    except OSError as e:
        raise ModelFileError(path, f"cannot map weights file: {e}") from e
    return np.frombuffer(mapped, dtype=dtype).reshape(rows, dim)


def verify_checksums(model: GeneratedModel) -> None:
    """Hash every generated file (weights, vocabulary, int8 scales) and compare with model.json (reads every byte:
    not done at load)."""
    meta = model.metadata
    for entry in (meta["weights"], meta.get("scales"), {"file": meta["vocab"]["module"], **meta["vocab"]}):
        if entry is None:
            continue
        path = model.path / entry["file"]
        actual = sha256_file(path)
        if actual != entry["sha256"]:
            raise ModelFileError(path, f"sha256 is {actual}, model.json says {entry['sha256']}")
