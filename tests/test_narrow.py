"""The float16 and int8 pooling paths (_narrow) against numpy's own conversion and the float32 path.

The float32 path is compared with sentence-transformers in test_embedding_parity and test_storage; here the
narrow tables must give the very same float32 values as the float32 path on the same rows (exact: the float16
conversion is exact, and int8 sums are integers), at every length where the code changes strategy."""

from __future__ import annotations

import numpy as np
import pytest

from fastembed_static import _narrow, _pooling

# empty, one token, the block path, the per-text path, the int16 piece edges, the float64 long-text path
LENGTHS = [0, 1, 3, 17, 63, 64, 65, 200, 255, 256, 257, 300, 511, 512, 513, 2049, 4095, 4096, 4097, 9000]


def test_half_to_float_equals_numpy_cast_for_every_finite_float16() -> None:
    every = np.arange(1 << 16, dtype=np.uint16).view(np.float16)
    finite = every[np.isfinite(every)].reshape(1, -1)
    got = _narrow.half_to_float(finite, np.empty(finite.shape, dtype=np.float32))
    np.testing.assert_array_equal(got.view(np.int32), finite.astype(np.float32).view(np.int32))  # -0.0 too


def batch(rng: np.random.Generator, rows: int) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.array(LENGTHS + list(rng.choice(LENGTHS, size=30)), dtype=np.intp)
    rng.shuffle(lengths)
    return rng.integers(0, rows, size=int(lengths.sum())).astype(np.intp), lengths


def one_by_one(table: np.ndarray, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    starts = np.cumsum(lengths) - lengths
    return np.stack([_pooling.mean_one(table, ids[s : s + n]) for s, n in zip(starts, lengths)])


@pytest.mark.parametrize("dim", [1, 7, 64, 384])
def test_int8_means_equal_the_float32_path(dim: int) -> None:
    rng = np.random.default_rng(dim)
    table = rng.integers(-128, 128, size=(2000, dim), dtype=np.int8)
    table[5] = -128  # the int16 piece sums' extreme: 256 x -128 = -32768
    ids, lengths = batch(rng, len(table))
    ids[: lengths.sum() // 3] = 5
    as_float = table.astype(np.float32)
    expected = _pooling.mean_pool(as_float, ids, lengths)
    np.testing.assert_array_equal(_pooling.mean_pool(table, ids, lengths), expected)
    np.testing.assert_array_equal(one_by_one(table, ids, lengths), one_by_one(as_float, ids, lengths))
    half_width = max(1, dim // 2)  # encode(dim=k): a column slice
    np.testing.assert_array_equal(_pooling.mean_pool(table[:, :half_width], ids, lengths), expected[:, :half_width])


@pytest.mark.parametrize("dim", [1, 64, 384])
def test_float16_pooling_equals_the_float32_path(dim: int) -> None:
    rng = np.random.default_rng(dim)
    table = (rng.standard_normal((2000, dim)) * 0.05).astype(np.float16)
    table[3] = np.float16(6e-8)  # subnormal
    table[4] = -0.0
    ids, lengths = batch(rng, len(table))
    as_float = table.astype(np.float32)
    expected = _pooling.mean_pool(as_float, ids, lengths)
    np.testing.assert_array_equal(_pooling.mean_pool(table, ids, lengths), expected)
    np.testing.assert_array_equal(one_by_one(table, ids, lengths), one_by_one(as_float, ids, lengths))
    half_width = max(1, dim // 2)
    np.testing.assert_array_equal(
        _pooling.mean_pool(table[:, :half_width], ids, lengths),
        _pooling.mean_pool(np.ascontiguousarray(as_float[:, :half_width]), ids, lengths),
    )
