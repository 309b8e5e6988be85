"""Mean pooling of token rows with numpy only (no BLAS).

Texts are grouped by token count: for each count L, the ids of the m texts with L tokens form an (m, L) matrix,
``np.take`` gathers an (m, L, dim) block and one ``sum(axis=1)`` reduces it. Summing along axis 1 adds the L rows of
each text in order, as sentence-transformers' EmbeddingBag does, and is many times faster than
``np.add.reduceat`` over gathered rows along axis 0.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float32]
_BLOCK_BYTES = 8 << 20  # size of one gathered (m, L, dim) block: large enough to amortize calls, cache-friendly
LONG_TEXT_TOKENS = 4096  # longer texts are summed in chunks of this many tokens (bounded memory, less rounding)


def mean_pool(table: Matrix, ids: npt.NDArray[np.intp], lengths: npt.NDArray[np.intp]) -> Matrix:
    """Mean of the rows of ``table`` for each text; a text with no tokens gets the zero vector."""
    n, dim = len(lengths), table.shape[1]
    out = np.zeros((n, dim), dtype=np.float32)
    if n == 0 or len(ids) == 0:
        return out
    starts = np.zeros(n, dtype=np.intp)
    np.cumsum(lengths[:-1], out=starts[1:])
    order = np.argsort(lengths, kind="stable")
    sorted_lengths = lengths[order]
    bounds = np.flatnonzero(np.diff(sorted_lengths)) + 1
    for group in np.split(order, bounds):
        length = int(lengths[group[0]])
        if length == 0:
            continue
        if length > LONG_TEXT_TOKENS:
            for row in group:
                out[row] = mean_one(table, ids[starts[row] : starts[row] + length])
            continue
        per_block = max(1, _BLOCK_BYTES // (length * dim * 4))
        columns = np.arange(length, dtype=np.intp)
        for first in range(0, len(group), per_block):
            rows = group[first : first + per_block]
            token_ids = ids[starts[rows][:, None] + columns]
            block = np.take(table, token_ids, axis=0)
            sums = block.sum(axis=1, dtype=np.float32)
            out[rows] = sums / np.float32(length)
    return out


def mean_one(table: Matrix, ids: list[int] | npt.NDArray[np.intp]) -> npt.NDArray[np.float32]:
    """Mean for a single text (the latency path: no grouping).

    Up to LONG_TEXT_TOKENS tokens the rows are added in order in float32, as sentence-transformers does. A longer
    text is added in chunks of that many tokens whose sums are accumulated in float64: memory stays bounded (a
    10 MB text has millions of tokens) and rounding does not grow with the text's length.
    """
    count = len(ids)
    if count == 0:
        return np.zeros(table.shape[1], dtype=np.float32)
    if count <= LONG_TEXT_TOKENS:
        summed: npt.NDArray[np.float32] = np.take(table, ids, axis=0).sum(axis=0, dtype=np.float32)
        mean: npt.NDArray[np.float32] = summed / np.float32(count)
        return mean
    ids = np.asarray(ids, dtype=np.intp)
    total = np.zeros(table.shape[1], dtype=np.float64)
    for first in range(0, count, LONG_TEXT_TOKENS):
        total += np.take(table, ids[first : first + LONG_TEXT_TOKENS], axis=0).sum(axis=0, dtype=np.float32)
    return (total / count).astype(np.float32)


def l2_normalize(vectors: Matrix) -> Matrix:
    """Unit-length rows, as torch.nn.functional.normalize (x / max(||x||, 1e-12)): zero rows stay zero."""
    norms = np.sqrt(np.einsum("ij,ij->i", vectors, vectors))[:, None]
    result: Matrix = vectors / np.maximum(norms, np.float32(1e-12))
    return result
