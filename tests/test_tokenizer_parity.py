"""Token ids identical to Hugging Face ``tokenizers`` (add_special_tokens=False) for the compiled core, its pure-Python
twin and the readable reference, on real WordPiece tokenizers:

- the real tokenizer of static-retrieval-mrl-en-v1 (English uncased), on GooAQ queries and PEPs;
- the real tokenizer of bert-base-multilingual-cased (cased, accents kept, Chinese characters split), and the same
  vocabulary under every other BertNormalizer setting real BERT models use (the uncased normalizer of
  bert-base-multilingual-uncased and bert-base-uncased: lowercase with strip_accents null; lowercase without
  stripping; stripping without lowercase; no Chinese split; no clean_text);

each on the multilingual text (real translations in 34 languages, tests/data/multilingual.jsonl.xz), the stress
sets and every code point alone and in runs. ``FASTEMBED_STATIC_EXHAUSTIVE=1`` runs every code point (alone and in
runs) and the reference on every text for every normalizer setting (by default: for the two real files).
"""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

import numpy as np
import pytest

import fastembed_static
from fastembed_static._reference import ReferenceTokenizer
from fastembed_static._tokenizer_builder import build_tokenizer

from . import stress_texts
from .helpers import (
    MBERT_ADDED_ROWS,
    gooaq_queries,
    make_st_model,
    mbert_added_tokens_tokenizer,
    mbert_cased_tokenizer,
    pep_paragraphs,
    random_table,
)
from .multilingual import load_multilingual, multilingual_texts

EXHAUSTIVE = os.environ.get("FASTEMBED_STATIC_EXHAUSTIVE", "") not in ("", "0")
MRL = "static-retrieval-mrl-en-v1"
MBERT_ROWS = 119547
# name -> BertNormalizer options that replace the real bert-base-multilingual-cased file's (None: the MRL tokenizer)
WORDPIECE: dict[str, dict[str, object] | None] = {
    MRL: None,
    "mbert-cased": {},
    "mbert-vocab, uncased normalizer": {"lowercase": True, "strip_accents": None},
    "mbert-vocab, lowercase keeping accents": {"lowercase": True, "strip_accents": False},
    "mbert-vocab, accents stripped keeping case": {"lowercase": False, "strip_accents": True},
    "mbert-vocab, no Chinese split": {"handle_chinese_chars": False},
    "mbert-vocab, no clean_text": {"clean_text": False},
}
REAL_FILES = (MRL, "mbert-cased")


class Case(NamedTuple):
    name: str
    model: fastembed_static.StaticModel
    hf: Any  # tokenizers.Tokenizer of the same tokenizer.json
    cores: dict[str, Any]  # name -> encode(text) -> ids: the installed core and its pure-Python twin
    reference: ReferenceTokenizer


def hf_ids(hf: Any, texts: list[str]) -> list[list[int]]:
    return [e.ids for e in hf.encode_batch(texts, add_special_tokens=False)]


def assert_same_ids(name: str, texts: list[str], expected: list[list[int]], encode: Any) -> None:
    mismatches = [(t, e, got) for t, e in zip(texts, expected) if (got := encode(t)) != e]
    detail = "\n".join(f"  {t!r}: expected {e} got {g}" for t, e, g in mismatches[:5])
    assert not mismatches, f"{name}: {len(mismatches)} of {len(texts)} texts differ from tokenizers:\n{detail}"


def make_case(name: str, model: fastembed_static.StaticModel, hf: Any, pure_tokenizer_module: ModuleType) -> Case:
    config, tokens = model.metadata["tokenizer"], model._generated.tokens
    cores = {
        "installed core": model.tokenize,
        "pure-Python core": build_tokenizer(config, tokens, pure_tokenizer_module.Tokenizer).encode,
    }
    return Case(name, model, hf, cores, ReferenceTokenizer(config, tokens))


def mbert_model(folder: Path, **normalizer: object) -> fastembed_static.StaticModel:
    """A generated model of the real bert-base-multilingual-cased tokenizer (``normalizer``: options replaced) with
    a small random table: the rows do not matter for token ids."""
    from fastembed_static.gen import generate

    tokenizer = mbert_cased_tokenizer(folder / "tokenizer", truncation=False, **normalizer)
    source = make_st_model(folder / "source", tokenizer, random_table(MBERT_ROWS, 2))
    return fastembed_static.StaticModel.from_pretrained(generate(source, folder / "generated"))


@pytest.fixture(scope="module", params=list(WORDPIECE))
def case(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pure_tokenizer_module: ModuleType
) -> Case:
    from tokenizers import Tokenizer

    name: str = request.param
    normalizer = WORDPIECE[name]
    if normalizer is None:
        model, hf = request.getfixturevalue("mrl_model"), request.getfixturevalue("hf_mrl_tokenizer")
    else:
        model = mbert_model(tmp_path_factory.mktemp("mbert"), **normalizer)
        hf = Tokenizer.from_file(str(model.path.parent / "tokenizer" / "tokenizer.json"))
    return make_case(name, model, hf, pure_tokenizer_module)


@pytest.fixture(scope="module")
def mrl_case(mrl_model: Any, hf_mrl_tokenizer: Any, pure_tokenizer_module: ModuleType) -> Case:
    return make_case(MRL, mrl_model, hf_mrl_tokenizer, pure_tokenizer_module)


def test_gooaq_queries(mrl_case: Case) -> None:
    texts = gooaq_queries()
    assert len(texts) == 10_000
    expected = hf_ids(mrl_case.hf, texts)
    for name, encode in mrl_case.cores.items():
        assert_same_ids(name, texts, expected, encode)
    assert_same_ids("reference", texts, expected, mrl_case.reference.encode)


def test_pep_paragraphs(mrl_case: Case) -> None:
    texts = pep_paragraphs()
    assert len(texts) > 50_000
    expected = hf_ids(mrl_case.hf, texts)
    for name, encode in mrl_case.cores.items():
        assert_same_ids(name, texts, expected, encode)
    assert_same_ids("reference", texts[:5000], expected[:5000], mrl_case.reference.encode)


def test_multilingual_text(case: Case) -> None:
    """Every language of the multilingual text, text by text, for the three implementations."""
    by_language = load_multilingual()
    assert len(by_language) >= 20
    for lang, texts in by_language.items():
        expected = hf_ids(case.hf, texts)
        assert sum(map(len, expected)) > len(texts), lang  # real tokens, not empty texts
        for name, encode in case.cores.items():
            assert_same_ids(f"{case.name}, {name}, {lang}", texts, expected, encode)
        step = 1 if case.name in REAL_FILES or EXHAUSTIVE else 5  # the slow reference: every 5th text of a setting
        assert_same_ids(f"{case.name}, reference, {lang}", texts[::step], expected[::step], case.reference.encode)


def test_multilingual_text_through_the_batch_engine(case: Case) -> None:
    """``encode`` of many texts goes through the chunk cache (when the model's ASCII handling allows it): its vectors
    are the mean of the rows of tokenizers' ids, for every language at once."""
    texts = [t for texts in load_multilingual().values() for t in texts]
    table = np.asarray(case.model._table, dtype=np.float64)
    got = case.model.encode(texts, normalize=False)
    expected = np.stack(
        [table[ids].mean(axis=0) if ids else np.zeros(table.shape[1]) for ids in hf_ids(case.hf, texts)]
    )
    assert np.abs(got - expected).max() <= 1e-5


@pytest.mark.parametrize("set_name", list(stress_texts.all_stress_sets()))
def test_stress_sets(set_name: str, case: Case) -> None:
    if set_name.startswith("every code point") and case.name not in REAL_FILES and not EXHAUSTIVE:
        pytest.skip("every code point for this normalizer setting: FASTEMBED_STATIC_EXHAUSTIVE=1")
    texts = stress_texts.all_stress_sets()[set_name]
    expected = hf_ids(case.hf, texts)
    for name, encode in case.cores.items():
        assert_same_ids(f"{case.name}, {name}, {set_name}", texts, expected, encode)
    assert_same_ids(f"{case.name}, reference, {set_name}", texts, expected, case.reference.encode)


def test_every_code_point_alone(case: Case) -> None:
    if case.name not in REAL_FILES and not EXHAUSTIVE:
        pytest.skip("every code point alone for this normalizer setting: FASTEMBED_STATIC_EXHAUSTIVE=1")
    texts = stress_texts.every_code_point_alone()
    assert len(texts) == 0x110000 - 0x800
    expected = hf_ids(case.hf, texts)
    for name, encode in case.cores.items():
        assert_same_ids(f"{case.name}, {name}", texts, expected, encode)


def test_added_tokens_past_the_vocabulary_and_truncation(tmp_path: Path, pure_tokenizer_module: ModuleType) -> None:
    """Another real multilingual BERT tokenizer.json: three added special tokens past the vocabulary's end, truncation
    at 128 tokens (LongestFirst) and padding (BatchLongest), which sentence-transformers and model2vec switch off,
    as fastembed-static ignores it. Every multilingual text, the same with an added token written in, and long ones."""
    from tokenizers import Tokenizer

    from fastembed_static.gen import generate

    tokenizer = mbert_added_tokens_tokenizer(tmp_path / "tokenizer")
    source = make_st_model(tmp_path / "source", tokenizer, random_table(MBERT_ADDED_ROWS, 2))
    model = fastembed_static.StaticModel.from_pretrained(generate(source, tmp_path / "generated"))
    hf = Tokenizer.from_file(str(tokenizer))
    hf.no_padding()
    case = make_case("mbert-cased-kz-ru-en", model, hf, pure_tokenizer_module)
    plain = multilingual_texts()
    texts = plain + [f"[KZ] {t}[RU]" if i % 2 else t.replace(" ", "[EN]", 1) for i, t in enumerate(plain[::7])]
    texts += [" ".join(plain[i : i + 40]) for i in range(0, 4000, 40)]  # well past 128 tokens
    expected = hf_ids(hf, texts)
    assert sum(119547 in ids or 119548 in ids or 119549 in ids for ids in expected) > 3000
    assert sum(len(ids) == 128 for ids in expected) >= 100
    for name, encode in case.cores.items():
        assert_same_ids(name, texts, expected, encode)
    assert_same_ids("reference", texts[::3], expected[::3], case.reference.encode)


def test_cache_does_not_change_results(mrl_model: fastembed_static.StaticModel, hf_mrl_tokenizer: Any) -> None:
    """The same words again (warm per-word cache) give the same ids; so does a fresh model (cold cache)."""
    texts = gooaq_queries()[:2000]
    expected = hf_ids(hf_mrl_tokenizer, texts)
    fresh = fastembed_static.StaticModel.from_pretrained(mrl_model.path)
    assert [fresh.tokenize(t) for t in texts] == expected  # cold
    assert [fresh.tokenize(t) for t in texts] == expected  # warm
    assert [fresh.tokenize(t) for t in reversed(texts)] == expected[::-1]
