"""Mean pooling of token rows with numpy only (no BLAS).

Never ``np.add.reduceat`` over gathered rows along axis 0: measured 10-30x slower than the column-wise
accumulation of :func:`mean_pool`. ``np.take`` is called with ``mode="clip"``: with ``mode="raise"`` and ``out=``
numpy buffers the whole result (the ids come from the vocabulary, so they are always in range). ``np.take`` is
never called on a column slice (``encode(dim=k)``): it would copy the whole table first, ~5 ms a call.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ._narrow import half_to_float, int8_mean, int8_means

Matrix = npt.NDArray[np.float32]
BLOCK_BYTES = 512 << 10  # one block's float32 sums: stays in L2 while enough work amortizes each numpy call
MAX_BLOCK_TEXTS = 512
FEW_TEXTS = 4
PER_TEXT_TOKENS = 64  # texts this long are summed one at a time: one gather and one reduce each (fewer numpy calls)
LONG_TEXT_TOKENS = 4096  # longer texts are summed in chunks of this many tokens (bounded memory, less rounding)


def mean_pool(
    table: npt.NDArray[Any], ids: npt.NDArray[np.intp], lengths: npt.NDArray[np.intp], out: Matrix | None = None
) -> Matrix:
    """Mean of the rows of ``table`` for each text; a text with no tokens gets the zero vector. Written into
    ``out`` (shape ``(len(lengths), dim)``, float32) when given.

    Texts of at least PER_TEXT_TOKENS tokens (up to LONG_TEXT_TOKENS) are summed one at a time: their rows are
    gathered into a scratch buffer and added up with one ``np.add.reduce`` along the rows, which adds them in
    order in float32, exactly as the blocked sums below do, so every text's vector is the same whichever path,
    block or thread handles it.

    Texts are sorted by token count, longest first, and taken a block at a time (BLOCK_BYTES of sums). For token position j of a
    block, the texts that still have a j-th token are a prefix of the block: one ``np.take`` gathers their j-th
    rows into a small buffer that stays in cache and one ``np.add`` adds it to their running sums. Each text's rows
    are added in order, in float32, as sentence-transformers' EmbeddingBag does; the gathered rows are never
    written out as one big (texts, tokens, dim) block, so memory traffic stays close to reading each row once.
    """
    n, dim = len(lengths), table.shape[1]
    if out is None:
        out = np.zeros((n, dim), dtype=np.float32)
    else:
        out[lengths == 0] = 0  # every other row is written below
    if n == 0:
        return out
    if table.dtype == np.int8:  # exact integer sums, in any order (_narrow)
        int8_means(table, ids, lengths, out)
        return out
    starts = np.zeros(n, dtype=np.intp)
    np.cumsum(lengths[:-1], out=starts[1:])
    if n <= FEW_TEXTS:  # a handful of texts: the blocked machinery costs more than it saves
        for row in range(n):
            out[row] = mean_one(table, ids[starts[row] : starts[row] + lengths[row]])
        return out
    order = np.argsort(-lengths, kind="stable")
    long_texts = int(np.count_nonzero(lengths > LONG_TEXT_TOKENS))
    for row in order[:long_texts]:
        out[row] = mean_one(table, ids[starts[row] : starts[row] + lengths[row]])
    per_text = long_texts + int(np.count_nonzero(lengths[order[long_texts:]] >= PER_TEXT_TOKENS))
    if per_text > long_texts:
        _sum_one_by_one(table, ids, starts, lengths, order[long_texts:per_text], out)
    live = order[per_text : per_text + int(np.count_nonzero(lengths[order[per_text:]]))]
    block = max(1, min(BLOCK_BYTES // (dim * 4), MAX_BLOCK_TEXTS, len(live)))
    # np.take on a non-contiguous table (encode(dim=k) slices columns) first copies the whole table: index instead
    contiguous = table.flags.c_contiguous
    half = table.dtype == np.float16
    gathered = np.empty((block, dim), dtype=table.dtype)
    converted = np.empty((block, dim), dtype=np.float32) if half else gathered
    sums = np.empty((block, dim), dtype=np.float32)
    for first in range(0, len(live), block):
        rows = live[first : first + block]
        lens = lengths[rows]
        width = int(lens[0])
        # positions[j, i]: index into ids of text i's j-th token (clipped past a text's end, and never used there)
        positions = starts[rows][None, :] + np.arange(width, dtype=np.intp)[:, None]
        token_ids = np.take(ids, positions, mode="clip")
        still_going = (len(rows) - np.searchsorted(lens[::-1], np.arange(width), side="right")).tolist()
        acc = sums[: len(rows)]
        if contiguous and table.dtype == np.float32:
            table.take(token_ids[0], axis=0, out=acc, mode="clip")
        elif half:
            half_to_float(_gather(table, token_ids[0], gathered, contiguous), acc)
        else:  # a column slice
            acc[...] = table[token_ids[0]]
        for j in range(1, width):
            count = still_going[j]
            part = _gather(table, token_ids[j, :count], gathered, contiguous)
            if half:
                part = half_to_float(part, converted[:count])
            np.add(acc[:count], part, out=acc[:count])
        out[rows] = acc / lens[:, None].astype(np.float32)
    return out


def _gather(
    table: npt.NDArray[Any], ids: npt.NDArray[np.intp], buffer: npt.NDArray[Any], contiguous: bool
) -> npt.NDArray[Any]:
    """Rows ``ids`` of ``table``: into ``buffer`` by ``take`` (a method: no numpy wrapper), or by indexing a
    column slice (``take`` would copy the whole table first)."""
    if contiguous:
        part = buffer[: len(ids)]
        table.take(ids, axis=0, out=part, mode="clip")
        return part
    return table[ids]


def _sum_one_by_one(
    table: npt.NDArray[Any],
    ids: npt.NDArray[np.intp],
    starts: npt.NDArray[np.intp],
    lengths: npt.NDArray[np.intp],
    rows: npt.NDArray[np.intp],
    out: Matrix,
) -> None:
    """Means of the texts ``rows`` (each at most LONG_TEXT_TOKENS tokens), one gather and one reduce each."""
    rows_list = rows.tolist()
    starts_list = starts[rows].tolist()
    lengths_list = lengths[rows].tolist()
    contiguous = table.flags.c_contiguous
    half = table.dtype == np.float16
    scratch = np.empty((lengths_list[0], table.shape[1]), dtype=table.dtype)
    converted = np.empty(scratch.shape, dtype=np.float32) if half else scratch
    for row, start, count in zip(rows_list, starts_list, lengths_list):
        part = _gather(table, ids[start : start + count], scratch, contiguous)
        if half:
            part = half_to_float(part, converted[:count])
        np.add.reduce(part, axis=0, dtype=np.float32, out=out[row])
        out[row] /= np.float32(count)


def mean_one(table: npt.NDArray[Any], ids: list[int] | npt.NDArray[np.intp]) -> npt.NDArray[np.float32]:
    """Mean for a single text (the latency path: no grouping).

    Up to LONG_TEXT_TOKENS tokens the rows are added in order in float32, as sentence-transformers does. A longer
    text is added in chunks of that many tokens whose sums are accumulated in float64: memory stays bounded (a
    10 MB text has millions of tokens) and rounding does not grow with the text's length.
    """
    count = len(ids)
    if count == 0:
        return np.zeros(table.shape[1], dtype=np.float32)
    if table.dtype == np.int8:  # exact integer sums (_narrow)
        return int8_mean(table, np.asarray(ids, dtype=np.intp))
    if count <= LONG_TEXT_TOKENS:
        rows = table.take(ids, axis=0) if table.flags.c_contiguous else table[ids]
        if rows.dtype == np.float16:
            rows = half_to_float(rows, np.empty(rows.shape, dtype=np.float32))
        summed: npt.NDArray[np.float32] = (
            np.add.reduce(rows, axis=0) if rows.dtype == np.float32 else np.add.reduce(rows, axis=0, dtype=np.float32)
        )
        summed /= count  # a Python int is weakly typed: float32 division, as by np.float32(count)
        return summed
    ids = np.asarray(ids, dtype=np.intp)
    total = np.zeros(table.shape[1], dtype=np.float64)
    for first in range(0, count, LONG_TEXT_TOKENS):
        rows = table[ids[first : first + LONG_TEXT_TOKENS]]
        if rows.dtype == np.float16:
            rows = half_to_float(rows, np.empty(rows.shape, dtype=np.float32))
        total += rows.sum(axis=0, dtype=np.float32)
    return (total / count).astype(np.float32)


def l2_normalize(vectors: Matrix) -> Matrix:
    """Unit-length rows, as torch.nn.functional.normalize (x / max(||x||, 1e-12)): zero rows stay zero."""
    norms = np.sqrt(np.einsum("ij,ij->i", vectors, vectors))[:, None]
    result: Matrix = vectors / np.maximum(norms, np.float32(1e-12))
    return result
