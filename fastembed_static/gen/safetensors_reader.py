"""A strict reader for the safetensors format, with numpy only (and without numpy for raw float32 bytes).

Format: an 8-byte little-endian header length N, N bytes of JSON header
(``{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}``), then the data buffer.
Every inconsistency (a header longer than the file, offsets past the end, a size that does not match dtype and
shape, overlapping or missing bytes) is a :class:`GenerationError` that names the file.
"""

from __future__ import annotations

import array
import json
import math
import struct
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import GenerationError

if TYPE_CHECKING:  # numpy is imported where it is used: the package build reads float32 tables without it
    import numpy as np
    import numpy.typing as npt

_DTYPES: dict[str, str] = {
    "F64": "<f8",
    "F32": "<f4",
    "F16": "<f2",
    "I64": "<i8",
    "I32": "<i4",
    "I16": "<i2",
    "I8": "i1",
    "U8": "u1",
    "BOOL": "?",
}
_ITEMSIZE: dict[str, int] = {
    "F64": 8,
    "F32": 4,
    "F16": 2,
    "BF16": 2,
    "I64": 8,
    "I32": 4,
    "I16": 2,
    "I8": 1,
    "U8": 1,
    "BOOL": 1,
}
FLOAT_DTYPES = frozenset({"F64", "F32", "F16", "BF16"})
MAX_HEADER = 100 * 1024 * 1024
"""The longest safetensors header read (the hub download checks headers with this reader too)."""


@dataclass(frozen=True)
class TensorInfo:
    name: str
    dtype: str
    shape: tuple[int, ...]
    begin: int  # absolute file offset of the first byte
    end: int  # absolute file offset one past the last byte


def read_header(path: Path) -> dict[str, TensorInfo]:
    """Parse and validate the header of a safetensors file; returns tensor name -> TensorInfo."""
    try:
        file_size = path.stat().st_size
        with path.open("rb") as f:
            prefix = f.read(8)
            if len(prefix) < 8:
                raise GenerationError(path, f"truncated safetensors file: {file_size} bytes, no header length")
            (header_len,) = struct.unpack("<Q", prefix)
            if header_len > min(file_size - 8, MAX_HEADER):
                raise GenerationError(
                    path,
                    f"corrupt safetensors file: header claims {header_len} bytes (the header length in its first 8"
                    f" bytes) but the file has {file_size} bytes: truncated, or not a safetensors file",
                )
            raw = f.read(header_len)
    except OSError as e:
        raise GenerationError(path, f"cannot read: {e.strerror or e}") from e
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise GenerationError(path, f"corrupt safetensors file: header is not valid JSON ({e})") from e
    if not isinstance(header, dict):
        raise GenerationError(path, "corrupt safetensors file: header is not a JSON object")
    data_start = 8 + header_len
    data_size = file_size - data_start
    declared = max((_declared_end(entry) for name, entry in header.items() if name != "__metadata__"), default=0)
    if declared != data_size:
        raise GenerationError(
            path,
            f"corrupt safetensors file: the header says the tensor data is {declared} bytes but the file holds"
            f" {data_size} bytes after the header (truncated, or its header is wrong)",
        )
    tensors: dict[str, TensorInfo] = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        tensors[name] = _tensor_info(path, name, entry, data_start, data_size)
    spans = sorted((t.begin, t.end) for t in tensors.values())
    expected = data_start
    for begin, end in spans:
        if begin != expected:
            raise GenerationError(path, "corrupt safetensors file: tensor data overlaps or leaves gaps")
        expected = end
    if expected != file_size:
        raise GenerationError(
            path,
            f"corrupt safetensors file: tensors end at byte {expected} but the file has {file_size} bytes"
            " (truncated or padded)",
        )
    return tensors


def _declared_end(entry: object) -> int:
    """Where a header entry says its data ends (0 for a malformed entry, which _tensor_info then names)."""
    offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
    if isinstance(offsets, list) and len(offsets) == 2 and isinstance(offsets[1], int):
        return offsets[1]
    return 0


def _tensor_info(path: Path, name: str, entry: object, data_start: int, data_size: int) -> TensorInfo:
    if not isinstance(entry, dict):
        raise GenerationError(path, f"corrupt safetensors file: entry {name!r} is not an object")
    dtype = entry.get("dtype")
    shape = entry.get("shape")
    offsets = entry.get("data_offsets")
    if not isinstance(dtype, str) or not isinstance(shape, list) or not isinstance(offsets, list):
        raise GenerationError(path, f"corrupt safetensors file: entry {name!r} lacks dtype, shape or data_offsets")
    if not all(isinstance(d, int) and d >= 0 for d in shape):
        raise GenerationError(path, f"corrupt safetensors file: tensor {name!r} has shape {shape}")
    if len(offsets) != 2 or not all(isinstance(o, int) for o in offsets):
        raise GenerationError(path, f"corrupt safetensors file: tensor {name!r} has data_offsets {offsets}")
    begin, end = offsets
    if not 0 <= begin <= end <= data_size:
        raise GenerationError(
            path,
            f"corrupt safetensors file: tensor {name!r} spans bytes {begin}..{end} of a {data_size}-byte data"
            " section (truncated file?)",
        )
    itemsize = _ITEMSIZE.get(dtype, 0)  # unknown dtypes: size not checked here
    count = 1
    for d in shape:
        count *= d
    if itemsize and count * itemsize != end - begin:
        raise GenerationError(
            path,
            f"corrupt safetensors file: tensor {name!r} of dtype {dtype} and shape {tuple(shape)} needs"
            f" {count * itemsize} bytes, header gives {end - begin}",
        )
    return TensorInfo(name, dtype, tuple(shape), data_start + begin, data_start + end)


def _read_bytes(path: Path, info: TensorInfo) -> bytes:
    with path.open("rb") as f:
        f.seek(info.begin)
        raw = f.read(info.end - info.begin)
    if len(raw) != info.end - info.begin:
        raise GenerationError(path, f"truncated safetensors file while reading tensor {info.name!r}")
    return raw


def _check_float_matrix(path: Path, info: TensorInfo) -> None:
    if len(info.shape) != 2:
        raise GenerationError(path, f"tensor {info.name!r} must be 2-D (vocab x dim), it has shape {info.shape}")
    if info.dtype not in FLOAT_DTYPES:
        raise GenerationError(path, f"tensor {info.name!r} must be a float table, its dtype is {info.dtype}")
    if info.dtype == "F64":
        raise GenerationError(path, f"tensor {info.name!r} is float64: narrowing to float32 would change results")


def read_float_matrix(path: Path, info: TensorInfo) -> npt.NDArray[np.float32]:
    """Load one 2-D float tensor as a float32 C-contiguous array (float16 and bfloat16 widen exactly)."""
    import numpy as np

    _check_float_matrix(path, info)
    raw = _read_bytes(path, info)
    if info.dtype == "BF16":
        bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
        table = bits.view(np.float32)
    else:
        table = np.frombuffer(raw, dtype=_DTYPES[info.dtype]).astype(np.float32)
    table = table.reshape(info.shape)
    if not np.isfinite(table).all():
        raise GenerationError(path, f"tensor {info.name!r} holds NaN or infinite values")
    return np.ascontiguousarray(table)


def read_f32_matrix_bytes(path: Path, info: TensorInfo, dims: int | None = None) -> bytes:
    """A 2-D float32 tensor as its little-endian bytes, keeping the first ``dims`` columns of each row, without
    numpy (the package build generates the bundled model this way). Same checks as :func:`read_float_matrix`."""
    _check_float_matrix(path, info)
    if info.dtype != "F32":
        raise GenerationError(path, f"tensor {info.name!r} is {info.dtype}, not F32")
    raw = _read_bytes(path, info)
    values = array.array("f")
    values.frombytes(raw)
    if sys.byteorder == "big":
        values.byteswap()
    # A sum in float64 of float32 values cannot overflow, so it is finite exactly when every value is.
    if not math.isfinite(sum(values)):
        raise GenerationError(path, f"tensor {info.name!r} holds NaN or infinite values")
    del values
    rows, cols = info.shape
    if dims is not None and dims != cols:
        row_bytes, keep = 4 * cols, 4 * dims
        raw = b"".join(raw[i : i + keep] for i in range(0, rows * row_bytes, row_bytes))
    return raw


def read_vector(path: Path, info: TensorInfo) -> npt.NDArray[np.generic]:
    """Load a 1-D tensor (model2vec's optional ``weights`` or ``mapping``) as its own dtype."""
    import numpy as np

    if len(info.shape) != 1 or info.dtype not in _DTYPES:
        raise GenerationError(path, f"tensor {info.name!r} must be 1-D numeric, it is {info.dtype} {info.shape}")
    vector: npt.NDArray[np.generic] = np.frombuffer(_read_bytes(path, info), dtype=_DTYPES[info.dtype]).copy()
    return vector
