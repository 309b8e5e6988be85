"""Quantize embeddings to smaller types, bit for bit as ``sentence_transformers.quantization.quantize_embeddings``.

- ``"float32"``: a float32 copy.
- ``"uint8"`` / ``"int8"``: each dimension's range ``[min, max]`` is cut into 255 equal steps and a value becomes the
  number of whole steps above the minimum, clipped to 0..255 (``"int8"`` subtracts 128). The ranges (shape
  ``(2, dim)``: minima, then maxima) are ``ranges`` if given, else taken from ``calibration_embeddings`` if given,
  else from ``embeddings`` themselves (so a query quantized alone needs the corpus's ranges). Use the same ranges for
  queries and corpus.
- ``"ubinary"``: one bit per dimension (1 where the value is > 0), packed 8 to a byte, first dimension in the top
  bit (``np.packbits``); ``"binary"``: the same bytes minus 128, as int8.

The packed forms are searched with :func:`fastembed_static.hamming_search`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

PRECISIONS = ("float32", "int8", "uint8", "binary", "ubinary")


def quantize_embeddings(
    embeddings: npt.NDArray[Any] | list[Any],
    precision: str,
    ranges: npt.NDArray[Any] | None = None,
    calibration_embeddings: npt.NDArray[Any] | None = None,
) -> npt.NDArray[Any]:
    """``embeddings`` (float, 1-D or 2-D) in ``precision`` (one of :data:`PRECISIONS`): float32, int8, uint8,
    int8 (binary) or uint8 (ubinary) with ``ceil(dim / 8)`` bytes per vector. See the module docstring."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    array = np.asarray(embeddings)
    if array.dtype.kind != "f":
        raise TypeError(f"embeddings to quantize must be floats, got dtype {array.dtype}")
    if array.ndim not in (1, 2):
        raise ValueError(f"embeddings must be 1-D (one vector) or 2-D (one vector per row), got shape {array.shape}")
    if precision == "float32":
        return array.astype(np.float32)
    if precision.endswith("binary"):
        packed = np.packbits(array > 0, axis=-1)
        return packed if precision == "ubinary" else (packed.astype(np.int16) - 128).astype(np.int8)
    if array.ndim == 2 and len(array) == 0:
        return np.zeros(array.shape, dtype=np.int8 if precision == "int8" else np.uint8)
    if not np.isfinite(array).all():
        raise ValueError("embeddings to quantize must be finite (found NaN or infinity)")
    limits = _ranges(array, precision, ranges, calibration_embeddings).astype(np.float32, copy=False)
    starts = limits[0, :]
    steps = (limits[1, :] - starts) / np.float32(255)
    steps[steps == 0] = 1  # a constant dimension: every value is step 0
    levels: npt.NDArray[Any] = np.clip(np.floor((array - starts) / steps), 0, 255)
    return levels.astype(np.uint8) if precision == "uint8" else (levels - 128).astype(np.int8)


def _ranges(array: npt.NDArray[Any], precision: str, ranges: object, calibration: object) -> npt.NDArray[Any]:
    """The (2, dim) minima and maxima: given, from the calibration embeddings, or from ``array`` itself."""
    dim = array.shape[-1]
    if ranges is not None:
        limits = np.asarray(ranges)
        if limits.shape != (2, dim) or limits.dtype.kind != "f" or not np.isfinite(limits).all():
            raise ValueError(f"ranges must be finite floats of shape (2, {dim}), got {limits.dtype} {limits.shape}")
        return limits
    if calibration is None:
        if array.ndim == 1 or len(array) == 1:
            raise ValueError(
                f"cannot compute {precision} ranges from a single embedding: pass ranges= or calibration_embeddings= "
                "(e.g. the corpus embeddings)"
            )
        source = array
    else:
        source = np.asarray(calibration)
        if source.ndim != 2 or source.shape[1] != dim or len(source) == 0 or source.dtype.kind != "f":
            raise ValueError(
                f"calibration_embeddings must be floats of shape (n >= 1, {dim}), got {source.dtype} {source.shape}"
            )
    return np.vstack((source.min(axis=0), source.max(axis=0)))
