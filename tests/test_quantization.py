"""quantize_embeddings against sentence-transformers' own, bit for bit, on real vectors (GooAQ queries and PEP
paragraphs encoded with the bundled default model)."""

from __future__ import annotations

import functools

import numpy as np
import pytest

import fastembed_static as fs

from .helpers import gooaq_queries, pep_paragraphs

PRECISIONS = ["float32", "int8", "uint8", "binary", "ubinary"]


@functools.lru_cache(maxsize=1)
def _vectors() -> tuple[np.ndarray, np.ndarray]:
    model = fs.StaticModel.default()
    return model.encode(gooaq_queries()[:2000]), model.encode(pep_paragraphs()[:3000], normalize=False)


def _same(expected: np.ndarray, got: np.ndarray) -> None:
    assert got.dtype == expected.dtype and got.shape == expected.shape
    assert got.tobytes() == expected.tobytes()


@pytest.mark.parametrize("precision", PRECISIONS)
def test_quantize_matches_sentence_transformers(precision: str) -> None:
    from sentence_transformers.util.quantization import quantize_embeddings as reference

    queries, corpus = _vectors()
    _same(reference(corpus, precision), fs.quantize_embeddings(corpus, precision))
    _same(
        reference(queries, precision, calibration_embeddings=corpus),
        fs.quantize_embeddings(queries, precision, calibration_embeddings=corpus),
    )
    ranges = np.vstack([corpus.min(axis=0), corpus.max(axis=0)]).astype(np.float64)
    _same(reference(queries[0], precision, ranges=ranges), fs.quantize_embeddings(queries[0], precision, ranges=ranges))
    as_float64 = corpus[:500].astype(np.float64)
    _same(reference(as_float64, precision), fs.quantize_embeddings(as_float64, precision))
    odd = corpus[:100, :13]  # a dimension that is not a multiple of 8: the last byte is zero-padded
    _same(reference(odd, precision), fs.quantize_embeddings(odd, precision))
    _same(reference(corpus[:0], precision), fs.quantize_embeddings(corpus[:0], precision))


def test_quantize_constant_dimension_and_lists() -> None:
    from sentence_transformers.util.quantization import quantize_embeddings as reference

    _, corpus = _vectors()
    flat = corpus[:200].copy()
    flat[:, 7] = 0.25  # min == max: the step becomes 1
    for precision in ("int8", "uint8"):
        _same(reference(flat, precision), fs.quantize_embeddings(flat, precision))
    rows = [row for row in corpus[:50]]
    _same(reference(rows, "uint8"), fs.quantize_embeddings(rows, "uint8"))


def test_quantize_bad_input() -> None:
    queries, corpus = _vectors()
    with pytest.raises(ValueError, match="precision must be one of"):
        fs.quantize_embeddings(corpus, "int4")
    with pytest.raises(ValueError, match="single embedding"):
        fs.quantize_embeddings(queries[0], "int8")
    with pytest.raises(ValueError, match="single embedding"):
        fs.quantize_embeddings(queries[:1], "uint8")
    with pytest.raises(TypeError, match="floats"):
        fs.quantize_embeddings(fs.quantize_embeddings(corpus, "uint8"), "int8")
    with pytest.raises(ValueError, match="ranges must be"):
        fs.quantize_embeddings(corpus, "int8", ranges=np.zeros((2, 5)))
    with pytest.raises(ValueError, match="calibration_embeddings must be"):
        fs.quantize_embeddings(corpus, "int8", calibration_embeddings=corpus[:, :5])
    nan = corpus[:10].copy()
    nan[1, 1] = np.nan
    with pytest.raises(ValueError, match="finite"):
        fs.quantize_embeddings(nan, "int8")
    with pytest.raises(ValueError, match="1-D"):
        fs.quantize_embeddings(corpus[None], "ubinary")
