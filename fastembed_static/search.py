"""Similarity and top-k search over embeddings with numpy, named and behaving as sentence-transformers' helpers.

- :func:`similarity` / :func:`similarity_pairwise` (``"cosine"``, ``"dot"``, ``"euclidean"``, ``"manhattan"``) as
  ``SentenceTransformer.similarity`` / ``similarity_pairwise``, and the functions behind them: :func:`cos_sim`,
  :func:`dot_score`, :func:`euclidean_sim`, :func:`manhattan_sim` and their ``pairwise_`` forms. As in
  sentence-transformers, euclidean and manhattan similarities are NEGATIVE distances (larger is more similar), a
  1-D input counts as one row, and cosine divides by ``max(||x||, 1e-12)`` (a zero vector scores 0).
- :func:`semantic_search`: the top ``top_k`` corpus rows for each query, ``[[{"corpus_id": i, "score": s}, ...]]``
  sorted by score, best first, as ``sentence_transformers.util.semantic_search``. Queries and corpus are taken a
  chunk at a time, so a corpus larger than memory (a memory-mapped ``.npy``) is read one chunk at a time.
- :func:`hamming_search`: the same for bit-packed vectors (``quantize_embeddings(..., "ubinary"|"binary")``), by
  Hamming distance, smallest first.

Every result is float32 (computed in float32 as sentence-transformers does for float32 inputs, except the
euclidean distance, computed in float64: see :func:`euclidean_sim`). Ties: sentence-transformers leaves the order
of equal scores to ``torch.topk`` (unspecified); here equal scores are ordered by corpus id, smallest first, and the
top ``top_k`` is the first ``top_k`` of that total order whatever the chunk sizes. Copies of one vector may score a
rounding apart in either library: a matrix product rounds differently at different positions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ._pooling import l2_normalize

Matrix = npt.NDArray[np.float32]
ArrayLike = npt.NDArray[Any] | Sequence[Any]
ScoreFunction = Callable[[Any, Any], Any]
Hits = list[list[dict[str, Any]]]

SIMILARITY_FUNCTIONS = ("cosine", "dot", "euclidean", "manhattan")
_CELLS = 1 << 22  # elements of one (rows, rows, dim) intermediate (manhattan, hamming): 4 Mi cells


def _matrix(a: ArrayLike, name: str) -> Matrix:
    """``a`` as a 2-D float32 array (a 1-D input is one row)."""
    array = np.asarray(a)
    if array.dtype.kind not in "fiub":
        raise TypeError(f"{name} must hold numbers, got dtype {array.dtype}")
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2:
        raise ValueError(f"{name} must be 1-D (one vector) or 2-D (one vector per row), got shape {array.shape}")
    return np.asarray(array, dtype=np.float32)


def _pair(a: ArrayLike, b: ArrayLike) -> tuple[Matrix, Matrix]:
    x, y = _matrix(a, "a"), _matrix(b, "b")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"a and b must have the same dimension, got {x.shape[1]} and {y.shape[1]}")
    return x, y


def _same_shape(a: ArrayLike, b: ArrayLike) -> tuple[Matrix, Matrix, bool]:
    """Both inputs as 2-D float32 of one shape, and whether they were 1-D (the result is then a scalar)."""
    x, y = np.asarray(a), np.asarray(b)
    single = x.ndim == 1 and y.ndim == 1
    mx, my = _pair(x, y)
    if mx.shape != my.shape:
        raise ValueError(f"pairwise similarity needs inputs of the same shape, got {x.shape} and {y.shape}")
    return mx, my, single


def cos_sim(a: ArrayLike, b: ArrayLike) -> Matrix:
    """``result[i, j]`` = cosine similarity of ``a[i]`` and ``b[j]`` (as ``sentence_transformers.util.cos_sim``)."""
    x, y = _pair(a, b)
    result: Matrix = l2_normalize(x) @ l2_normalize(y).T
    return result


def dot_score(a: ArrayLike, b: ArrayLike) -> Matrix:
    """``result[i, j]`` = dot product of ``a[i]`` and ``b[j]``."""
    x, y = _pair(a, b)
    result: Matrix = x @ y.T
    return result


def euclidean_sim(a: ArrayLike, b: ArrayLike) -> Matrix:
    """``result[i, j]`` = minus the euclidean distance of ``a[i]`` and ``b[j]``.

    Computed as ``sqrt(|a|² + |b|² - 2 a·b)`` in float64, then rounded to float32: the float32 form of that
    expansion (what ``torch.cdist`` uses for more than 25 rows) loses the small distances to cancellation (a vector
    and itself can be ~3e-4 apart); in float64 the result is the float32 rounding of the exact distance, up to a
    few units of its last place.
    """
    x, y = _pair(a, b)
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    squared = np.einsum("ij,ij->i", x64, x64)[:, None] + np.einsum("ij,ij->i", y64, y64)[None, :] - 2.0 * (x64 @ y64.T)
    result: Matrix = (-np.sqrt(np.maximum(squared, 0.0))).astype(np.float32)
    return result


def manhattan_sim(a: ArrayLike, b: ArrayLike) -> Matrix:
    """``result[i, j]`` = minus the manhattan (L1) distance of ``a[i]`` and ``b[j]`` (summed in float64)."""
    x, y = _pair(a, b)
    out = np.empty((len(x), len(y)), dtype=np.float32)
    step = max(1, _CELLS // max(1, len(y) * x.shape[1]))
    for first in range(0, len(x), step):
        diff = np.abs(x[first : first + step, None, :].astype(np.float64) - y[None, :, :])
        out[first : first + step] = -diff.sum(axis=-1)
    return out


def pairwise_cos_sim(a: ArrayLike, b: ArrayLike) -> Matrix:
    """``result[i]`` = cosine similarity of ``a[i]`` and ``b[i]`` (a scalar for two 1-D inputs)."""
    x, y, single = _same_shape(a, b)
    return _maybe_scalar(np.einsum("ij,ij->i", l2_normalize(x), l2_normalize(y)), single)


def pairwise_dot_score(a: ArrayLike, b: ArrayLike) -> Matrix:
    """``result[i]`` = dot product of ``a[i]`` and ``b[i]``."""
    x, y, single = _same_shape(a, b)
    return _maybe_scalar(np.einsum("ij,ij->i", x, y), single)


def pairwise_euclidean_sim(a: ArrayLike, b: ArrayLike) -> Matrix:
    """``result[i]`` = minus the euclidean distance of ``a[i]`` and ``b[i]``."""
    x, y, single = _same_shape(a, b)
    diff = x.astype(np.float64) - y
    return _maybe_scalar(-np.sqrt(np.einsum("ij,ij->i", diff, diff)), single)


def pairwise_manhattan_sim(a: ArrayLike, b: ArrayLike) -> Matrix:
    """``result[i]`` = minus the manhattan distance of ``a[i]`` and ``b[i]``."""
    x, y, single = _same_shape(a, b)
    return _maybe_scalar(-np.abs(x.astype(np.float64) - y).sum(axis=-1), single)


def _maybe_scalar(values: npt.NDArray[Any], single: bool) -> Matrix:
    result: Matrix = values.astype(np.float32)
    return result.reshape(()) if single else result


_MATRIX_FUNCTIONS: dict[str, Callable[[ArrayLike, ArrayLike], Matrix]] = {
    "cosine": cos_sim,
    "dot": dot_score,
    "euclidean": euclidean_sim,
    "manhattan": manhattan_sim,
}
_PAIRWISE_FUNCTIONS: dict[str, Callable[[ArrayLike, ArrayLike], Matrix]] = {
    "cosine": pairwise_cos_sim,
    "dot": pairwise_dot_score,
    "euclidean": pairwise_euclidean_sim,
    "manhattan": pairwise_manhattan_sim,
}


def _function_name(similarity_fn: object) -> str:
    """A name from SIMILARITY_FUNCTIONS; sentence-transformers' ``SimilarityFunction`` members are accepted too."""
    name = getattr(similarity_fn, "value", similarity_fn)
    if name == "dot_product":
        name = "dot"
    if not isinstance(name, str) or name not in SIMILARITY_FUNCTIONS:
        raise ValueError(f"similarity_fn must be one of {', '.join(SIMILARITY_FUNCTIONS)}, got {similarity_fn!r}")
    return name


def similarity(a: ArrayLike, b: ArrayLike, similarity_fn: object = "cosine") -> Matrix:
    """The (len(a), len(b)) similarity matrix, as ``SentenceTransformer.similarity`` with ``similarity_fn_name``."""
    return _MATRIX_FUNCTIONS[_function_name(similarity_fn)](a, b)


def similarity_pairwise(a: ArrayLike, b: ArrayLike, similarity_fn: object = "cosine") -> Matrix:
    """``result[i]`` = similarity of ``a[i]`` and ``b[i]``, as ``SentenceTransformer.similarity_pairwise``."""
    return _PAIRWISE_FUNCTIONS[_function_name(similarity_fn)](a, b)


def _check_count(value: object, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _rows(embeddings: object, name: str) -> npt.NDArray[Any]:
    """A 2-D array view of ``embeddings`` without reading it (a memmap stays a memmap); 1-D is one row."""
    array = embeddings if isinstance(embeddings, np.ndarray) else np.asarray(embeddings)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2:
        raise ValueError(f"{name} must be 1-D (one vector) or 2-D (one vector per row), got shape {array.shape}")
    if array.dtype.kind not in "fiu":
        raise TypeError(f"{name} must hold numbers, got dtype {array.dtype}")
    return array


_GROUP = 32  # columns per group when bounding the k-th best score (see _select)


def _select(
    scores: npt.NDArray[Any], ids: npt.NDArray[np.int64], top_k: int, ascending: bool
) -> tuple[npt.NDArray[Any], npt.NDArray[np.int64]]:
    """For each row of ``scores`` (candidates with ``ids``: one row shared by all, or one row each), the first
    ``min(top_k, columns)`` under the order: score (descending, or ascending), then id.

    The candidates are the scores at least as good as a bound: each group of _GROUP columns' best score, and the
    k-th best of those (at least k scores are that good, so every one of the true top k, ties included, is). The
    few candidates are then sorted by (row, score, id)."""
    rows, columns = scores.shape
    k = min(top_k, columns)
    if k < columns:
        groups = columns // _GROUP
        if groups >= 2 * k:  # the bound: a reduce per group and a partition over the groups' best scores
            grouped = scores[:, : groups * _GROUP].reshape(rows, groups, _GROUP)
            if ascending:
                bound = np.partition(grouped.min(axis=2), k - 1, axis=1)[:, k - 1 : k]
            else:
                bound = -np.partition(-grouped.max(axis=2), k - 1, axis=1)[:, k - 1 : k]
        elif ascending:  # the exact k-th best score
            bound = np.partition(scores, k - 1, axis=1)[:, k - 1 : k]
        else:
            bound = -np.partition(-scores, k - 1, axis=1)[:, k - 1 : k]
        row, column = np.nonzero(scores <= bound) if ascending else np.nonzero(scores >= bound)
    else:
        row, column = np.divmod(np.arange(rows * columns, dtype=np.intp), columns)
    candidate_ids = ids[row, column] if ids.ndim == 2 else ids[column]
    candidate_scores = scores[row, column]
    order = np.lexsort((candidate_ids, candidate_scores if ascending else -candidate_scores, row))
    row, candidate_ids, candidate_scores = row[order], candidate_ids[order], candidate_scores[order]
    keep = np.arange(len(row)) - np.searchsorted(row, row) < k  # the first k of each row (rows are contiguous)
    return candidate_scores[keep].reshape(rows, k), candidate_ids[keep].reshape(rows, k)


def _top_k_search(
    queries: npt.NDArray[Any],
    corpus: npt.NDArray[Any],
    score_chunk: Callable[[npt.NDArray[Any], npt.NDArray[Any]], npt.NDArray[Any]],
    prepare: Callable[[npt.NDArray[Any]], npt.NDArray[Any]],
    top_k: int,
    query_chunk_size: int,
    corpus_chunk_size: int,
    ascending: bool,
) -> Hits:
    """Chunked top-k: corpus chunks outside (each read and prepared once), query chunks inside, each chunk's score
    matrix reduced a block of rows at a time (bounded scratch memory); each query's best so far merged with each
    chunk's under one total order (score, then id), so chunking never changes the result."""
    if top_k == 0 or len(corpus) == 0:
        return [[] for _ in range(len(queries))]
    best: tuple[npt.NDArray[Any], npt.NDArray[np.int64]] | None = None
    for corpus_first in range(0, len(corpus), corpus_chunk_size):
        chunk = prepare(corpus[corpus_first : corpus_first + corpus_chunk_size])
        chunk_ids = np.arange(corpus_first, corpus_first + len(chunk), dtype=np.int64)
        block = max(1, _CELLS // len(chunk))
        found: list[tuple[npt.NDArray[Any], npt.NDArray[np.int64]]] = []
        for query_first in range(0, len(queries), query_chunk_size):
            scores = score_chunk(prepare(queries[query_first : query_first + query_chunk_size]), chunk)
            if scores.dtype.kind == "f" and np.isnan(scores).any():
                raise ValueError("the score function returned NaN")
            found.extend(
                _select(scores[i : i + block], chunk_ids, top_k, ascending) for i in range(0, len(scores), block)
            )
        chunk_best = np.concatenate([f[0] for f in found]), np.concatenate([f[1] for f in found])
        if best is None:
            best = chunk_best
        else:
            merged_scores = np.concatenate([best[0], chunk_best[0]], axis=1)
            best = _select(merged_scores, np.concatenate([best[1], chunk_best[1]], axis=1), top_k, ascending)
    assert best is not None
    return [
        [{"corpus_id": i, "score": s} for i, s in zip(ids, scores)]
        for scores, ids in zip(best[0].tolist(), best[1].tolist())
    ]


def semantic_search(
    query_embeddings: ArrayLike,
    corpus_embeddings: ArrayLike,
    query_chunk_size: int = 100,
    corpus_chunk_size: int = 500000,
    top_k: int = 10,
    score_function: ScoreFunction | str = cos_sim,
) -> Hits:
    """For each query, the ``top_k`` most similar corpus rows: ``[[{"corpus_id": int, "score": float}, ...], ...]``,
    best first, as ``sentence_transformers.util.semantic_search`` (same arguments, same result).

    ``score_function``: :func:`cos_sim` (default), :func:`dot_score`, any ``f(queries, corpus) -> (q, c) matrix``,
    or a name of :data:`SIMILARITY_FUNCTIONS`. The corpus is read ``corpus_chunk_size`` rows at a time (pass a
    ``np.load(path, mmap_mode="r")`` array to search a corpus larger than memory); each chunk is converted to float32
    and, for cosine, normalized once. Equal scores are ordered by corpus id (smallest first).
    """
    if isinstance(score_function, str) or hasattr(score_function, "value"):
        score_function = _MATRIX_FUNCTIONS[_function_name(score_function)]
    if not callable(score_function):
        raise TypeError(f"score_function must be callable or a name, got {score_function!r}")
    top_k = _check_count(top_k, "top_k", 0)
    query_chunk_size = _check_count(query_chunk_size, "query_chunk_size", 1)
    corpus_chunk_size = _check_count(corpus_chunk_size, "corpus_chunk_size", 1)
    queries, corpus = _rows(query_embeddings, "query_embeddings"), _rows(corpus_embeddings, "corpus_embeddings")
    if queries.shape[1] != corpus.shape[1]:
        raise ValueError(f"queries have dimension {queries.shape[1]}, the corpus {corpus.shape[1]}")
    cosine = score_function is cos_sim

    def prepare(rows: npt.NDArray[Any]) -> Matrix:
        chunk = np.asarray(rows, dtype=np.float32)
        if not np.isfinite(chunk).all():
            raise ValueError("embeddings must be finite (found NaN or infinity)")
        return l2_normalize(chunk) if cosine else chunk

    def score_chunk(query_chunk: Matrix, corpus_chunk: Matrix) -> npt.NDArray[Any]:
        if cosine:  # both sides normalized once by prepare: the dot product is the cosine
            cosines: Matrix = query_chunk @ corpus_chunk.T
            return cosines
        scores = np.asarray(score_function(query_chunk, corpus_chunk), dtype=np.float32)
        if scores.shape != (len(query_chunk), len(corpus_chunk)):
            raise ValueError(
                f"score_function returned shape {scores.shape}, expected {(len(query_chunk), len(corpus_chunk))}"
            )
        return scores

    return _top_k_search(queries, corpus, score_chunk, prepare, top_k, query_chunk_size, corpus_chunk_size, False)


# -- bit-packed vectors --------------------------------------------------------------------------------------------

_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def _packed(embeddings: object, name: str) -> npt.NDArray[Any]:
    array = _rows(embeddings, name)
    if array.dtype not in (np.uint8, np.int8):
        raise TypeError(f"{name} must be bit-packed uint8 (ubinary) or int8 (binary) vectors, got dtype {array.dtype}")
    return array


def hamming_distance(a: ArrayLike, b: ArrayLike) -> npt.NDArray[np.int32]:
    """``result[i, j]`` = number of differing bits of the packed vectors ``a[i]`` and ``b[j]``.

    Inputs: ``quantize_embeddings(..., "ubinary")`` (uint8) or ``"binary"`` (int8, the same bytes minus 128, which
    flips the top bit of every byte on both sides and so leaves the distance unchanged); both of one kind.
    """
    x, y = _packed(a, "a"), _packed(b, "b")
    if x.dtype != y.dtype or x.shape[1] != y.shape[1]:
        raise ValueError(f"a and b must be packed alike, got {x.dtype} {x.shape} and {y.dtype} {y.shape}")
    # XOR and count bits a word at a time: the widest unsigned word that divides a vector's bytes with
    # np.bitwise_count (numpy >= 2.0, looked up on each call), else bytes through a 256-entry table
    bitwise_count = getattr(np, "bitwise_count", None)
    width = 8 if bitwise_count is not None else 1
    while x.shape[1] % width:
        width //= 2
    word = np.dtype(f"u{width}")
    xw = np.ascontiguousarray(x).view(np.uint8).view(word)
    yw = np.ascontiguousarray(np.ascontiguousarray(y).view(np.uint8).view(word).T)  # one contiguous row per word
    out = np.zeros((len(xw), yw.shape[1]), dtype=np.int32)
    step = max(1, _CELLS // max(1, yw.shape[1]))
    for first in range(0, len(xw), step):
        acc = out[first : first + step]
        for w in range(yw.shape[0]):
            diff = np.bitwise_xor(xw[first : first + step, w, None], yw[w][None, :])
            acc += bitwise_count(diff) if bitwise_count is not None else _POPCOUNT[diff]
    return out


def hamming_search(
    query_embeddings: ArrayLike,
    corpus_embeddings: ArrayLike,
    top_k: int = 10,
    query_chunk_size: int = 100,
    corpus_chunk_size: int = 100000,
) -> Hits:
    """For each packed query, the ``top_k`` corpus rows nearest in Hamming distance:
    ``[[{"corpus_id": int, "score": int}, ...], ...]`` with ``score`` the number of differing bits, smallest first
    (sentence-transformers' ``semantic_search_usearch`` on a ``"ubinary"`` corpus also puts the Hamming distance in
    ``score``). Equal distances are ordered by corpus id. Chunked as :func:`semantic_search` (memmaps welcome)."""
    top_k = _check_count(top_k, "top_k", 0)
    query_chunk_size = _check_count(query_chunk_size, "query_chunk_size", 1)
    corpus_chunk_size = _check_count(corpus_chunk_size, "corpus_chunk_size", 1)
    queries, corpus = _packed(query_embeddings, "query_embeddings"), _packed(corpus_embeddings, "corpus_embeddings")
    if queries.dtype != corpus.dtype or queries.shape[1] != corpus.shape[1]:
        raise ValueError(
            f"queries and corpus must be packed alike, got {queries.dtype} {queries.shape} and "
            f"{corpus.dtype} {corpus.shape}"
        )
    return _top_k_search(
        queries, corpus, hamming_distance, np.asarray, top_k, query_chunk_size, corpus_chunk_size, True
    )
