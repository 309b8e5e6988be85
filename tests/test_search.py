"""The numpy search helpers against sentence-transformers' own, run in the test on the same real vectors (GooAQ
queries and PEP paragraphs encoded with the bundled default model)."""

from __future__ import annotations

import functools
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import fastembed_static as fs

from .helpers import gooaq_queries, pep_paragraphs

# Float32 sums of the same dim (256) products in another order (BLAS blocking, torch's reductions): each differs
# from the exact sum by a few units of float32 rounding of the magnitudes added. Allowed: 16 float32 epsilons
# (~1.9e-6) of that magnitude: |a|·|b| for cosine and dot, |a| + |b| for euclidean, sum|a| + sum|b| for manhattan.
ULPS = 16 * np.finfo(np.float32).eps


@functools.lru_cache(maxsize=1)
def _vectors() -> tuple[np.ndarray, np.ndarray]:
    model = fs.StaticModel.default()
    queries = model.encode(gooaq_queries()[:300], normalize=False)
    corpus = model.encode(pep_paragraphs()[:4000], normalize=False)  # not normalized: cosine must normalize
    return queries, corpus


def _scale(name: str, a: np.ndarray, b: np.ndarray, pairwise: bool) -> np.ndarray:
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    if name in ("cosine", "dot"):
        na, nb = np.linalg.norm(a64, axis=1), np.linalg.norm(b64, axis=1)
        scale = na * nb if pairwise else na[:, None] * nb[None, :]
        return np.ones_like(scale) if name == "cosine" else scale
    if name == "euclidean":
        na, nb = np.linalg.norm(a64, axis=1), np.linalg.norm(b64, axis=1)
    else:
        na, nb = np.abs(a64).sum(axis=1), np.abs(b64).sum(axis=1)
    return na + nb if pairwise else na[:, None] + nb[None, :]


@pytest.mark.parametrize("name", ["cosine", "dot", "euclidean", "manhattan"])
def test_similarity_matches_sentence_transformers(name: str) -> None:
    from sentence_transformers.util import SimilarityFunction

    queries, corpus = _vectors()
    corpus = corpus[:1500]
    expected = SimilarityFunction.to_similarity_fn(name)(queries, corpus).numpy()
    got = fs.similarity(queries, corpus, name)
    assert got.dtype == np.float32 and got.shape == expected.shape == (300, 1500)
    assert (np.abs(got - expected) <= ULPS * _scale(name, queries, corpus, False)).all()
    if name in ("euclidean", "manhattan"):
        assert (got <= 0).all(), "sentence-transformers' convention: negative distances"
    pairs = SimilarityFunction.to_similarity_pairwise_fn(name)(queries, corpus[:300]).numpy()
    got_pairs = fs.similarity_pairwise(queries, corpus[:300], similarity_fn=name)
    assert got_pairs.dtype == np.float32 and got_pairs.shape == (300,)
    assert (np.abs(got_pairs - pairs) <= ULPS * _scale(name, queries, corpus[:300], True)).all()


def test_similarity_inputs_and_named_functions() -> None:
    from sentence_transformers import util

    queries, corpus = _vectors()
    a, b = queries[0], corpus[:3].tolist()  # a 1-D array and a list of lists
    b_array = np.array(b, dtype=np.float32)
    assert fs.cos_sim(a, b).shape == (1, 3)
    np.testing.assert_allclose(fs.cos_sim(a, b), util.cos_sim(a, b_array).numpy(), atol=ULPS)
    np.testing.assert_allclose(fs.dot_score(a, b), util.dot_score(a, b_array).numpy(), rtol=ULPS)
    single = fs.pairwise_cos_sim(queries[0], corpus[0])
    assert single.shape == () and abs(float(single) - float(util.pairwise_cos_sim(queries[0], corpus[0]))) <= ULPS
    assert fs.similarity(a, b, util.SimilarityFunction.DOT_PRODUCT).shape == (1, 3)  # the enum is accepted
    zero = np.zeros((1, corpus.shape[1]), dtype=np.float32)
    assert fs.cos_sim(zero, corpus[:2]).tolist() == util.cos_sim(zero, corpus[:2]).tolist() == [[0.0, 0.0]]
    with pytest.raises(ValueError, match="similarity_fn must be one of"):
        fs.similarity(a, b, "jaccard")
    with pytest.raises(ValueError, match="same dimension"):
        fs.cos_sim(a, corpus[:, :10])
    with pytest.raises(ValueError, match="same shape"):
        fs.pairwise_dot_score(queries[:3], corpus[:4])
    with pytest.raises(TypeError, match="numbers"):
        fs.cos_sim(["a", "b"], b)


def _ids(hits: list[list[dict[str, Any]]]) -> list[list[int]]:
    return [[hit["corpus_id"] for hit in row] for row in hits]


def _assert_same_hits(expected: list[list[dict[str, Any]]], got: list[list[dict[str, Any]]]) -> None:
    """Same ids in the same order, scores within rounding; two neighbours may only trade places where the
    reference scores them within rounding of each other (a near-tie the rounding can flip)."""
    assert len(expected) == len(got)
    for ref_row, row in zip(expected, got):
        assert len(ref_row) == len(row)
        for k, (ref_hit, hit) in enumerate(zip(ref_row, row)):
            assert set(hit) == {"corpus_id", "score"} and isinstance(hit["corpus_id"], int)
            # float32 rounding is relative: dot scores of unnormalized vectors reach ~5, cosines stay <= 1
            tolerance = ULPS * max(1.0, abs(ref_hit["score"]))
            assert abs(hit["score"] - ref_hit["score"]) <= tolerance
            if hit["corpus_id"] != ref_hit["corpus_id"]:
                twin = next(r for r in ref_row if r["corpus_id"] == hit["corpus_id"])
                assert abs(twin["score"] - ref_row[k]["score"]) <= 2 * tolerance, (k, ref_row, row)


def _tie_free(corpus: np.ndarray) -> np.ndarray:
    """The corpus without repeated vectors (PEPs repeat paragraphs, e.g. the copyright notice: exact ties)."""
    _, first = np.unique(corpus, axis=0, return_index=True)
    return corpus[np.sort(first)]


@pytest.mark.parametrize("function", ["cos_sim", "dot_score"])
def test_semantic_search_matches_sentence_transformers(function: str) -> None:
    import torch
    from sentence_transformers import util

    queries, corpus = _vectors()
    corpus = _tie_free(corpus)
    assert len(corpus) > 3000
    expected = util.semantic_search(
        torch.from_numpy(queries), torch.from_numpy(corpus), top_k=10, score_function=getattr(util, function)
    )
    got = fs.semantic_search(queries, corpus, top_k=10, score_function=getattr(fs, function))
    _assert_same_hits(expected, got)  # same ids in the same order, but for neighbours within rounding of each other
    swapped = sum(a != b for ref_row, row in zip(_ids(expected), _ids(got)) for a, b in zip(ref_row, row))
    assert swapped <= len(queries) * 10 // 100, f"{swapped} positions differ: near-ties are rare on real vectors"
    # chunking (queries and corpus) never changes the result
    chunked = fs.semantic_search(queries, corpus, top_k=10, query_chunk_size=7, corpus_chunk_size=333)
    assert _ids(chunked) == _ids(fs.semantic_search(queries, corpus, top_k=10))
    by_name = fs.semantic_search(queries, corpus, top_k=10, score_function="cosine" if function == "cos_sim" else "dot")
    assert _ids(by_name) == _ids(got)


def test_semantic_search_ties_where_sentence_transformers_is_deterministic() -> None:
    """Equal scores: sentence-transformers takes whatever torch.topk returns (unspecified order). Where every tied
    row fits in top_k its set of ids and its scores are fixed, and those must agree; the order here is by id."""
    import torch
    from sentence_transformers import util

    queries, corpus = _vectors()
    rng = np.random.default_rng(3)
    base = corpus[rng.choice(len(corpus), 60, replace=False)]
    tied = np.concatenate([base, base[:5], base[:5], base[:5]])  # rows 0..4 appear 4 times each
    query = (base[:5] + base[5:10]).astype(np.float32)
    expected = util.semantic_search(torch.from_numpy(query), torch.from_numpy(tied), top_k=20)
    got = fs.semantic_search(query, tied, top_k=20)
    for ref_row, row in zip(expected, got):
        ref_groups = _groups(ref_row)
        groups = _groups(row)
        assert [len(g) for g in groups] == [len(g) for g in ref_groups]
        # the last group may be cut by top_k: which of its ties torch.topk keeps is unspecified
        assert [sorted(g) for g in groups[:-1]] == [sorted(g) for g in ref_groups[:-1]]
        for before, after in zip(row, row[1:]):  # equal scores: smallest corpus id first
            assert before["score"] > after["score"] or before["corpus_id"] < after["corpus_id"]
    # a tie across the cut: copies of one vector may score a float32 rounding apart (README), so any copy may be
    # kept; what is fixed is which scores are kept (the test's own float64 scores, rounded). Exact ties across the
    # cut, where the smallest ids must win, are tested on exactly representable vectors below.
    exact = (query / np.linalg.norm(query, axis=1, keepdims=True)).astype(np.float64) @ (
        tied / np.linalg.norm(tied, axis=1, keepdims=True)
    ).T.astype(np.float64)
    for q, row in enumerate(fs.semantic_search(query, tied, top_k=2)):
        rounded = np.round(exact[q], 5)
        kept = rounded[[h["corpus_id"] for h in row]]
        np.testing.assert_array_equal(kept, np.sort(rounded)[::-1][:2])


def _groups(row: list[dict[str, Any]]) -> list[list[int]]:
    """Ids grouped by equal score (rounded: copies of one vector may score a rounding apart), in rank order."""
    groups: list[list[int]] = []
    last = None
    for hit in row:
        score = round(hit["score"], 5)
        if score != last:
            groups.append([])
            last = score
        groups[-1].append(hit["corpus_id"])
    return groups


def test_semantic_search_edges() -> None:
    import torch
    from sentence_transformers import util

    queries, corpus = _vectors()
    small = corpus[:5]
    assert _ids(fs.semantic_search(queries[0], small, top_k=10)) == _ids(
        util.semantic_search(torch.from_numpy(queries[0]), torch.from_numpy(small), top_k=10)
    )
    assert len(fs.semantic_search(queries[0], small, top_k=10)[0]) == 5  # top_k above the corpus size
    assert fs.semantic_search(queries[:2], small, top_k=0) == [[], []]
    assert fs.semantic_search(queries[:2], small[:0], top_k=3) == [[], []]
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="top_k"):
            fs.semantic_search(queries, small, top_k=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="dimension"):
        fs.semantic_search(queries, small[:, :10])
    nan = small.copy()
    nan[2, 3] = np.nan
    with pytest.raises(ValueError, match="finite"):
        fs.semantic_search(queries, nan)
    with pytest.raises(ValueError, match="shape"):
        fs.semantic_search(queries, small, score_function=lambda a, b: np.zeros(3))


def test_semantic_search_memmapped_corpus_is_read_a_chunk_at_a_time(tmp_path: Path) -> None:
    model = fs.StaticModel.default()
    corpus = model.encode(gooaq_queries() + pep_paragraphs()[:6000])
    queries = model.encode(gooaq_queries()[::500])
    np.save(tmp_path / "corpus.npy", corpus)
    mapped = np.load(tmp_path / "corpus.npy", mmap_mode="r")
    expected = fs.semantic_search(queries, corpus, top_k=5)
    tracemalloc.start()
    got = fs.semantic_search(queries, mapped, top_k=5, corpus_chunk_size=1000)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert _ids(got) == _ids(expected)
    assert peak < corpus.nbytes / 4, f"peak {peak} bytes for a {corpus.nbytes}-byte corpus"


def test_hamming_search_on_quantized_vectors(monkeypatch: pytest.MonkeyPatch) -> None:
    from sentence_transformers.util.quantization import quantize_embeddings as st_quantize

    queries, corpus = _vectors()
    q_bits, c_bits = st_quantize(queries, "ubinary"), st_quantize(corpus, "ubinary")
    # the test's own distances: unpacked bits compared one by one
    distances = (np.unpackbits(q_bits, axis=1)[:, None, :] != np.unpackbits(c_bits, axis=1)[None, :, :]).sum(axis=2)
    assert (fs.hamming_distance(q_bits, c_bits) == distances).all()
    got = fs.hamming_search(q_bits, c_bits, top_k=10, query_chunk_size=64, corpus_chunk_size=1500)
    for q, row in enumerate(got):
        order = np.lexsort((np.arange(len(corpus)), distances[q]))[:10]
        assert [h["corpus_id"] for h in row] == order.tolist()
        assert [h["score"] for h in row] == distances[q, order].tolist()
    signed = fs.hamming_search(st_quantize(queries, "binary"), st_quantize(corpus, "binary"), top_k=10)
    assert signed == got, "binary (int8) and ubinary give the same distances"
    monkeypatch.delattr(np, "bitwise_count", raising=False)  # numpy < 2.0: the 256-entry table
    assert (fs.hamming_distance(q_bits, c_bits) == distances).all()
    with pytest.raises(TypeError, match="bit-packed"):
        fs.hamming_search(queries, corpus)
    with pytest.raises(ValueError, match="packed alike"):
        fs.hamming_search(q_bits, st_quantize(corpus, "binary"))


@pytest.mark.parametrize("top_k", [1, 10, 100])
@pytest.mark.parametrize("chunks", [(100, 500000), (7, 333), (1000, 64)])
def test_top_k_with_many_exact_ties(top_k: int, chunks: tuple[int, int]) -> None:
    """Small-integer vectors: every dot product is exact in float32 and most scores are tied. The expected order
    (score, then the smallest id) is computed here in int64, for every chunking and both selection paths (the
    per-group bound for wide chunks, the exact partition for narrow ones)."""
    rng = np.random.default_rng(11)
    queries = rng.integers(-2, 3, (40, 8))
    corpus = rng.integers(-2, 3, (5000, 8))
    exact = queries @ corpus.T
    query_chunk_size, corpus_chunk_size = chunks
    got = fs.semantic_search(
        queries.astype(np.float32),
        corpus.astype(np.float32),
        top_k=top_k,
        score_function=fs.dot_score,
        query_chunk_size=query_chunk_size,
        corpus_chunk_size=corpus_chunk_size,
    )
    ids = np.arange(len(corpus))
    for q, row in enumerate(got):
        order = np.lexsort((ids, -exact[q]))[:top_k]
        assert [h["corpus_id"] for h in row] == order.tolist()
        assert [h["score"] for h in row] == exact[q, order].astype(float).tolist()
    bits_q, bits_c = rng.integers(0, 256, (40, 1), dtype=np.uint8), rng.integers(0, 256, (5000, 1), dtype=np.uint8)
    distances = (np.unpackbits(bits_q, axis=1)[:, None, :] != np.unpackbits(bits_c, axis=1)[None, :, :]).sum(axis=2)
    hits = fs.hamming_search(
        bits_q, bits_c, top_k=top_k, query_chunk_size=query_chunk_size, corpus_chunk_size=corpus_chunk_size
    )
    for q, row in enumerate(hits):
        order = np.lexsort((ids, distances[q]))[:top_k]
        assert [h["corpus_id"] for h in row] == order.tolist()
