"""fastembed_static.model2vec.StaticModel against model2vec 0.10.0's StaticModel, run in the test on the same model
folders: vectors bit for bit on real text and the stress texts, token ids, sequences, config handling."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import fastembed_static
from fastembed_static.model2vec import StaticModel

from .helpers import MRL_DIR, REPO, gooaq_queries, pep_documents, pep_paragraphs, random_table, safetensors_bytes
from .hub_server import FakeHub
from .stress_texts import all_stress_sets

M2V_HUB_ID = "minishlab/potion-like-dropin"


def _m2v_files(config: dict[str, Any], seed: int = 5, dim: int = 256) -> dict[str, bytes]:
    """A model2vec-layout model: config.json, the real MRL tokenizer, a random float32 table (tensor 'embeddings')."""
    return {
        "config.json": json.dumps({"model_type": "model2vec", **config}).encode(),
        "tokenizer.json": (MRL_DIR / "tokenizer.json").read_bytes(),
        "model.safetensors": safetensors_bytes({"embeddings": random_table(30522, dim, seed=seed)}),
    }


def _folder(root: Path, files: dict[str, bytes]) -> Path:
    root.mkdir(parents=True)
    for name, data in files.items():
        (root / name).write_bytes(data)
    return root


@pytest.fixture(scope="module")
def m2v_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _folder(tmp_path_factory.mktemp("m2v") / "model", _m2v_files({"normalize": True}))


def _texts() -> list[str]:
    return gooaq_queries()[:3000] + pep_paragraphs()[::10] + ["", "   ", "[UNK]", "[MASK] ok", "ok"]


def _pair(folder: Path, cache: Path) -> tuple[Any, StaticModel]:
    from model2vec import StaticModel as Reference

    return Reference.from_pretrained(str(folder)), StaticModel.from_pretrained(folder, cache_dir=cache)


def _untruncated(folder: Path) -> Any:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.no_truncation()
    return tokenizer


def _same(expected: np.ndarray, got: np.ndarray) -> None:
    assert got.dtype == expected.dtype and got.shape == expected.shape
    assert got.tobytes() == expected.tobytes(), f"max abs diff {np.abs(got - expected).max()}"


@pytest.mark.parametrize("source", ["model2vec layout", "bundled default model's source"])
def test_vectors_equal_model2vec_bit_for_bit(source: str, m2v_dir: Path, tmp_path: Path) -> None:
    folder = m2v_dir if source == "model2vec layout" else REPO / "gen" / "default_model"
    reference, model = _pair(folder, tmp_path)
    assert (model.dim, model.normalize, model.max_length) == (reference.dim, reference.normalize, reference.max_length)
    assert model.unk_token_id == reference.unk_token_id
    assert model.median_token_length == reference.median_token_length
    texts = _texts()
    unk = reference.unk_token_id
    encodings = _untruncated(folder).encode_batch(texts, add_special_tokens=False)
    assert sum(unk in e.ids for e in encodings) >= 5, "the texts include [UNK] tokens (which model2vec drops)"
    for options in ({}, {"max_length": None}, {"max_length": 20}, {"normalize": False}, {"batch_size": 7}):
        expected = reference.encode(texts, use_multiprocessing=False, **options)
        _same(expected, model.encode(texts, **options))
    _same(reference.encode("a single text"), model.encode("a single text"))
    assert reference.tokenize(texts[:1000]) == model.tokenize(texts[:1000])


def test_stress_texts_bit_for_bit(m2v_dir: Path, tmp_path: Path) -> None:
    reference, model = _pair(m2v_dir, tmp_path)
    for name, texts in all_stress_sets().items():
        for options in ({}, {"max_length": None}):
            expected = reference.encode(texts, use_multiprocessing=False, **options)
            got = model.encode(texts, **options)
            assert got.tobytes() == expected.tobytes(), (name, options, np.abs(got - expected).max())


def test_long_documents_untruncated(tmp_path: Path) -> None:
    """Whole PEPs with max_length=None: texts far over the 4,096 tokens that fastembed_static.StaticModel sums in
    float64 chunks; the drop-in sums them in float32 in order, as np.mean does."""
    reference, model = _pair(REPO / "gen" / "default_model", tmp_path)
    documents = pep_documents()
    counts = [len(ids) for ids in model.tokenize(documents)]  # truncated at the model's 512
    assert max(counts) == 512
    tokenizer = _untruncated(REPO / "gen" / "default_model")
    lengths = [len(e.ids) for e in tokenizer.encode_batch(documents[:50], add_special_tokens=False)]
    assert max(lengths) > 4096
    _same(
        reference.encode(documents, max_length=None, use_multiprocessing=False),
        model.encode(documents, max_length=None),
    )


def test_encode_as_sequence(m2v_dir: Path, tmp_path: Path) -> None:
    reference, model = _pair(m2v_dir, tmp_path)
    texts = _texts()[-400:]
    for options in ({}, {"max_length": 10}):
        expected = reference.encode_as_sequence(texts, use_multiprocessing=False, **options)
        got = model.encode_as_sequence(texts, **options)
        assert len(got) == len(expected)
        for e, g in zip(expected, got):
            _same(e, g)
    _same(reference.encode_as_sequence("two words"), model.encode_as_sequence("two words"))  # type: ignore[arg-type]


def test_config_json_is_read(tmp_path: Path) -> None:
    folder = _folder(tmp_path / "m", _m2v_files({"normalize": False, "max_length": 16}, seed=9, dim=64))
    reference, model = _pair(folder, tmp_path / "cache")
    assert (model.normalize, model.max_length) == (False, 16) == (reference.normalize, reference.max_length)
    texts = pep_paragraphs()[:500]
    _same(reference.encode(texts, use_multiprocessing=False), model.encode(texts))
    override = StaticModel.from_pretrained(folder, normalize=True, max_length=None, cache_dir=tmp_path / "cache")
    expected = reference.encode(texts, normalize=True, max_length=None, use_multiprocessing=False)
    _same(expected, override.encode(texts))


@pytest.fixture
def fake_hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeHub]:
    for name in ("HF_TOKEN", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    files = _m2v_files({"normalize": True, "max_length": 40}, seed=2, dim=64)
    hub = FakeHub({M2V_HUB_ID: {"main": files}}).start()
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    monkeypatch.setenv("FASTEMBED_STATIC_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    yield hub
    hub.stop()


def test_hub_model_reads_its_downloaded_config(fake_hub: FakeHub, tmp_path: Path) -> None:
    from model2vec import StaticModel as Reference

    model = StaticModel.from_pretrained(M2V_HUB_ID)
    assert (model.normalize, model.max_length) == (True, 40)
    reference = Reference.from_pretrained(
        str(_folder(tmp_path / "copy", _m2v_files({"normalize": True, "max_length": 40}, seed=2, dim=64)))
    )
    texts = pep_paragraphs()[:300]
    _same(reference.encode(texts, use_multiprocessing=False), model.encode(texts))


def test_as_the_model2vec_module(monkeypatch: pytest.MonkeyPatch, m2v_dir: Path, tmp_path: Path) -> None:
    """Code that does `from model2vec import StaticModel` (LangChain's Model2vecEmbeddings) gets the drop-in."""
    import fastembed_static.model2vec as dropin

    monkeypatch.setitem(sys.modules, "model2vec", dropin)
    from model2vec import StaticModel as Imported  # type: ignore[attr-defined]

    assert Imported is StaticModel
    model = Imported.from_pretrained(m2v_dir, cache_dir=tmp_path)  # what LangChain's wrapper calls, then:
    documents, query = model.encode(["It's dangerous to go alone!"]).tolist(), model.encode("Take this.").tolist()
    assert len(documents) == 1 and len(documents[0]) == 256 and len(query) == 256 and isinstance(query[0], float)


@pytest.mark.parametrize("dtype", ["float16", "int8"])
def test_smaller_tables_pool_as_static_model(dtype: str, m2v_dir: Path, tmp_path: Path) -> None:
    """float16 and int8 tables (generated with --dtype): no model2vec twin; with model2vec's truncation off and
    on texts without [UNK] the drop-in gives fastembed_static.StaticModel's vectors exactly (same pooling, scales)."""
    from fastembed_static.gen import generate

    folder = generate(m2v_dir, tmp_path / dtype, dtype=dtype)
    model, plain = StaticModel.from_pretrained(folder), fastembed_static.StaticModel.from_pretrained(folder)
    texts = [t for t in gooaq_queries()[:2000] if t.strip() and model.unk_token_id not in plain.tokenize(t)]
    expected = plain.encode(texts, normalize=False)
    _same(expected, model.encode(texts, max_length=None, normalize=False))
    _same(expected, model.encode(texts, max_length=None, normalize=False, batch_size=100))  # scales once per text
    rows = model.encode_as_sequence(texts[:50])
    assert len(rows) == 50 and all(r.dtype == (np.float16 if dtype == "float16" else np.float32) for r in rows)
    means = np.stack([r.astype(np.float64).mean(axis=0) for r in rows])
    np.testing.assert_allclose(means, plain.encode(texts[:50], normalize=False), atol=1e-5)


def test_bad_input(m2v_dir: Path, tmp_path: Path) -> None:
    model = StaticModel.from_pretrained(m2v_dir, cache_dir=tmp_path)
    with pytest.raises(TypeError, match="index 1"):
        model.encode(["ok", None])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="sequence of str"):
        model.encode(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_length"):
        model.encode(["ok"], max_length=0)
    with pytest.raises(ValueError, match="batch_size"):
        model.encode(["ok"], batch_size=0)
    with pytest.raises(ValueError, match="cannot be tokenized"):
        model.encode(["ok", "\ud800"])
    with pytest.raises(NotImplementedError, match="--dtype"):
        StaticModel.from_pretrained(m2v_dir, quantize_to="int8", cache_dir=tmp_path)
    with pytest.raises(TypeError, match="list of str"):
        model.tokenize("one text")
    assert model.encode([]).shape == (0, 256)


def test_progress_bar_goes_to_stderr(m2v_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = StaticModel.from_pretrained(m2v_dir, cache_dir=tmp_path)
    texts = gooaq_queries()[:50]
    _same(model.encode(texts), model.encode(texts, show_progress_bar=True, batch_size=20))
    captured = capsys.readouterr()
    assert captured.out == "" and "Encoding: 50/50" in captured.err
    assert fastembed_static.StaticModel.from_pretrained(m2v_dir, cache_dir=tmp_path).dim == model.dim
