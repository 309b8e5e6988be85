"""Embeddings equal to sentence-transformers' StaticEmbedding and to model2vec, computed in the test."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import fastembed_static

from .helpers import (
    MBERT_ADDED_ROWS,
    MRL_DIR,
    REPO,
    gooaq_queries,
    make_st_model,
    mbert_added_tokens_tokenizer,
    mbert_cased_tokenizer,
    pep_paragraphs,
    random_table,
    write_safetensors,
)
from .multilingual import load_multilingual

TOLERANCE = 1e-6  # float32 sums in a different order


def texts_for_parity() -> list[str]:
    return gooaq_queries()[:5000] + pep_paragraphs()[::20] + ["", "   ", "\t\n", "[MASK]", "ok"]


@pytest.fixture(scope="module")
def st_mrl(mrl_source: Path) -> Any:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(mrl_source), device="cpu")


def st_encode(model: Any, texts: list[str], **kwargs: Any) -> np.ndarray:
    return np.asarray(model.encode(texts, batch_size=256, convert_to_numpy=True, **kwargs))


def test_real_shape_table_matches_sentence_transformers(st_mrl: Any, mrl_model: Any) -> None:
    texts = texts_for_parity()
    expected = st_encode(st_mrl, texts)
    got = mrl_model.encode(texts)
    assert got.dtype == np.float32 and got.shape == expected.shape == (len(texts), 1024)
    assert np.abs(got - expected).max() <= TOLERANCE
    assert not got[-5:-2].any(), "empty and whitespace-only texts give the zero vector"


def test_single_text_matches_batch(st_mrl: Any, mrl_model: Any) -> None:
    texts = gooaq_queries()[:300] + pep_paragraphs()[:50]
    expected = st_encode(st_mrl, texts)
    for text, row in zip(texts, expected):
        vector = mrl_model.encode(text)
        assert vector.shape == (1024,)
        assert np.abs(vector - row).max() <= TOLERANCE


@pytest.mark.parametrize("dim", [64, 256, 1024])
def test_matryoshka_dims_and_normalize(mrl_source: Path, mrl_model: Any, dim: int) -> None:
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(mrl_source), device="cpu", truncate_dim=dim)
    texts = gooaq_queries()[:2000]
    expected = st_encode(st, texts, normalize_embeddings=True)
    got = mrl_model.encode(texts, dim=dim, normalize=True)
    assert got.shape == (2000, dim)
    assert np.abs(got - expected).max() <= TOLERANCE
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_bundled_default_model_matches_sentence_transformers() -> None:
    from sentence_transformers import SentenceTransformer

    source = REPO / "gen" / "default_model"
    st = SentenceTransformer(str(source), device="cpu")
    model = fastembed_static.StaticModel.default()
    texts = texts_for_parity()
    expected = st_encode(st, texts)
    got = model.encode(texts)
    assert model.normalize_default is True  # the model has a Normalize module
    assert np.abs(got - expected).max() <= TOLERANCE


@pytest.fixture(scope="module")
def model2vec_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model2vec-layout model: config.json + the real MRL tokenizer + a random 256-dim table."""
    root = tmp_path_factory.mktemp("m2v")
    (root / "config.json").write_text(json.dumps({"model_type": "model2vec", "normalize": True}), encoding="utf-8")
    (root / "tokenizer.json").write_bytes((MRL_DIR / "tokenizer.json").read_bytes())
    write_safetensors(root / "model.safetensors", {"embeddings": random_table(30522, 256, seed=5)})
    return root


def test_model2vec_layout_matches_model2vec(model2vec_dir: Path, tmp_path: Path) -> None:
    """model2vec drops [UNK] tokens and truncates at 512 tokens by default; fastembed-static keeps [UNK] rows
    (as sentence-transformers does) and truncates only if tokenizer.json says so. So compare with model2vec's
    truncation off, on texts without [UNK], and check that texts with [UNK] do differ."""
    from model2vec import StaticModel as Model2VecModel

    reference = Model2VecModel.from_pretrained(str(model2vec_dir))
    model = fastembed_static.StaticModel.from_pretrained(model2vec_dir, cache_dir=tmp_path)
    texts = gooaq_queries()[:3000] + pep_paragraphs()[::40]
    unk = model.metadata["tokenizer"]["unk_id"]
    plain = [t for t in texts if t.strip() and unk not in model.tokenize(t)]
    with_unk = [t for t in texts if unk in model.tokenize(t)]
    assert len(plain) > 3000 and with_unk
    expected = reference.encode(plain, max_length=None, use_multiprocessing=False)
    got = model.encode(plain)
    assert model.normalize_default is True
    assert np.abs(got - expected).max() <= TOLERANCE
    differs = reference.encode(with_unk, max_length=None, use_multiprocessing=False)
    assert np.abs(model.encode(with_unk) - differs).max() > 1e-3, "the documented [UNK] difference is real"


# --- normalize x dim: every combination against sentence-transformers and model2vec -----------------------------

NORM_DIM = 64


@pytest.fixture(scope="module")
def small_pair(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One 30522x256 table (the real MRL tokenizer) as two sentence-transformers models, with and without a
    Normalize module, each loaded by sentence-transformers and generated by fastembed-static."""
    from sentence_transformers import SentenceTransformer

    root = tmp_path_factory.mktemp("norm-dim")
    table = random_table(30522, 256, seed=11)
    pair: dict[str, Any] = {}
    for name, normalize in (("with", True), ("without", False)):
        source = make_st_model(root / name, MRL_DIR / "tokenizer.json", table, normalize=normalize)
        pair[name] = (
            SentenceTransformer(str(source), device="cpu"),
            fastembed_static.StaticModel.from_pretrained(source, cache_dir=root / "cache"),
        )
    return pair


def _st_reference(pair: dict[str, Any], module: bool, normalize: bool | None, dim: int | None) -> Any:
    """The sentence-transformers call each (Normalize module, normalize, dim) combination stands for."""
    texts = gooaq_queries()[:2000]
    if normalize is False:  # the raw mean: sentence-transformers without the Normalize module
        return st_encode(pair["without"][0], texts, truncate_dim=dim)
    st = pair["with" if module else "without"][0]
    return st_encode(st, texts, truncate_dim=dim, normalize_embeddings=bool(normalize))


@pytest.mark.parametrize("dim", [None, NORM_DIM])
@pytest.mark.parametrize("normalize", [None, True, False])
@pytest.mark.parametrize("module", [True, False], ids=["Normalize", "no-Normalize"])
def test_normalize_and_dim_match_sentence_transformers(
    small_pair: dict[str, Any], module: bool, normalize: bool | None, dim: int | None
) -> None:
    texts = gooaq_queries()[:2000]
    model = small_pair["with" if module else "without"][1]
    assert model.normalize_default is module
    expected = _st_reference(small_pair, module, normalize, dim)
    got = model.encode(texts, normalize=normalize, dim=dim)
    assert got.shape == expected.shape == (2000, dim or 256) and got.flags.c_contiguous
    assert np.abs(got - expected).max() <= TOLERANCE
    for i in (0, 1, 2, 1999):  # the one-text path
        single = model.encode(texts[i], normalize=normalize, dim=dim)
        assert single.shape == (dim or 256,)
        assert np.abs(single - expected[i]).max() <= TOLERANCE
    norms = np.linalg.norm(got, axis=1)
    if normalize or (normalize is None and module and dim is None):
        np.testing.assert_allclose(norms, 1.0, atol=1e-5)
    elif normalize is None and module:  # the Normalize module ran on the full vector: truncated, shorter
        assert norms.max() < 0.9


def test_bundled_default_model_truncate_dim_matches_sentence_transformers() -> None:
    """The case reported in issue 17: the bundled model (a Normalize module) with ``dim``."""
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(REPO / "gen" / "default_model"), device="cpu")
    model = fastembed_static.StaticModel.default()
    texts = gooaq_queries()[:2000]
    for dim in (32, 128):
        expected = st_encode(st, texts, truncate_dim=dim)
        got = model.encode(texts, dim=dim)
        assert np.abs(got - expected).max() <= TOLERANCE
        assert np.linalg.norm(expected, axis=1).max() < 0.999, "sentence-transformers keeps the truncated norms"
        unit = st_encode(st, texts, truncate_dim=dim, normalize_embeddings=True)
        assert np.abs(model.encode(texts, dim=dim, normalize=True) - unit).max() <= TOLERANCE


@pytest.mark.parametrize("flag", [True, False])
def test_model2vec_normalize_flag_and_dimensionality(tmp_path: Path, flag: bool) -> None:
    """model2vec has no ``dim`` in ``encode``: its ``normalize`` flag (or argument) divides the vector it computed,
    and ``from_pretrained(dimensionality=k)`` cuts the table first, so its vectors are unit length after
    truncation (fastembed-static's ``normalize=True, dim=k``). Slicing its full normalized vectors is
    fastembed-static's ``normalize=None, dim=k``."""
    from model2vec import StaticModel as Model2VecModel

    root = tmp_path / "m2v"
    root.mkdir()
    (root / "config.json").write_text(json.dumps({"model_type": "model2vec", "normalize": flag}), encoding="utf-8")
    (root / "tokenizer.json").write_bytes((MRL_DIR / "tokenizer.json").read_bytes())
    write_safetensors(root / "model.safetensors", {"embeddings": random_table(30522, 256, seed=12)})
    model = fastembed_static.StaticModel.from_pretrained(root, cache_dir=tmp_path / "cache")
    unk = model.metadata["tokenizer"]["unk_id"]
    texts = [t for t in gooaq_queries()[:2000] if t.strip() and unk not in model.tokenize(t)]
    full = Model2VecModel.from_pretrained(str(root))
    cut = Model2VecModel.from_pretrained(str(root), dimensionality=NORM_DIM)

    def m2v(reference: Any, **kwargs: Any) -> Any:
        return reference.encode(texts, max_length=None, use_multiprocessing=False, **kwargs)

    cases = [
        (None, None, m2v(full)),
        (True, None, m2v(full, normalize=True)),
        (False, None, m2v(full, normalize=False)),
        (None, NORM_DIM, m2v(full)[:, :NORM_DIM]),
        (True, NORM_DIM, m2v(cut, normalize=True)),
        (False, NORM_DIM, m2v(cut, normalize=False)),
    ]
    assert model.normalize_default is flag
    for normalize, dim, expected in cases:
        got = model.encode(texts, normalize=normalize, dim=dim)
        assert np.abs(got - expected).max() <= TOLERANCE, (normalize, dim)


# --- multilingual WordPiece: the real bert-base-multilingual-cased tokenizer, cased and with the uncased normalizer --

MBERT_NORMALIZERS = {"cased": {}, "uncased normalizer": {"lowercase": True, "strip_accents": None}}


@pytest.mark.parametrize("setting", list(MBERT_NORMALIZERS))
def test_multilingual_wordpiece_matches_sentence_transformers_and_model2vec(setting: str, tmp_path: Path) -> None:
    """A table of the real shape (119,547 x 256, fixed seed) behind the real multilingual tokenizer, every language
    of the multilingual text: the vectors of sentence-transformers' StaticEmbedding, and of model2vec (with its
    truncation off, on the texts without [UNK], which model2vec drops; see the English test above)."""
    from model2vec import StaticModel as Model2VecModel
    from sentence_transformers import SentenceTransformer

    tokenizer = mbert_cased_tokenizer(tmp_path / "tokenizer", truncation=False, **MBERT_NORMALIZERS[setting])
    table = random_table(119547, 256, seed=22)
    st_dir = make_st_model(tmp_path / "st", tokenizer, table, normalize=True)
    m2v_dir = tmp_path / "m2v"
    m2v_dir.mkdir()
    (m2v_dir / "config.json").write_text(json.dumps({"model_type": "model2vec", "normalize": True}), encoding="utf-8")
    (m2v_dir / "tokenizer.json").write_bytes(tokenizer.read_bytes())
    write_safetensors(m2v_dir / "model.safetensors", {"embeddings": table})
    texts = [t for lang_texts in load_multilingual().values() for t in lang_texts]

    model = fastembed_static.StaticModel.from_pretrained(st_dir, cache_dir=tmp_path / "cache")
    expected = st_encode(SentenceTransformer(str(st_dir), device="cpu"), texts)
    got = model.encode(texts)
    assert got.shape == expected.shape == (len(texts), 256)
    assert np.abs(got - expected).max() <= TOLERANCE

    m2v = fastembed_static.StaticModel.from_pretrained(m2v_dir, cache_dir=tmp_path / "cache")
    unk = m2v.metadata["tokenizer"]["unk_id"]
    plain = [t for t in texts if t.strip() and unk not in m2v.tokenize(t)]
    assert len(plain) > len(texts) // 2
    reference = Model2VecModel.from_pretrained(str(m2v_dir))
    expected = reference.encode(plain, max_length=None, use_multiprocessing=False)
    assert np.abs(m2v.encode(plain) - expected).max() <= TOLERANCE


def test_multilingual_wordpiece_with_added_tokens_and_padding_matches_sentence_transformers(tmp_path: Path) -> None:
    """The real tokenizer.json with added tokens past the vocabulary, truncation at 128 and BatchLongest padding in
    it, as it is: sentence-transformers switches the padding off and keeps the truncation, and so does
    fastembed-static (a padded batch would add [PAD] rows that depend on the batch)."""
    from sentence_transformers import SentenceTransformer

    tokenizer = mbert_added_tokens_tokenizer(tmp_path / "tokenizer")
    st_dir = make_st_model(tmp_path / "st", tokenizer, random_table(MBERT_ADDED_ROWS, 64, seed=23))
    texts = [t for lang_texts in load_multilingual().values() for t in lang_texts[::3]]
    texts += [f"[KZ] {t} [EN]" for t in texts[::10]] + [" ".join(texts[i : i + 40]) for i in range(0, 2000, 40)]
    model = fastembed_static.StaticModel.from_pretrained(st_dir, cache_dir=tmp_path / "cache")
    expected = st_encode(SentenceTransformer(str(st_dir), device="cpu"), texts)
    got = model.encode(texts)
    assert np.abs(got - expected).max() <= TOLERANCE
