"""Token ids identical to Hugging Face ``tokenizers`` (add_special_tokens=False) on the real tokenizer of
static-retrieval-mrl-en-v1, for the compiled core, its pure-Python twin and the readable reference."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

import fastembed_static
from fastembed_static._reference import ReferenceTokenizer
from fastembed_static.model import build_tokenizer

from . import stress_texts
from .helpers import gooaq_queries, pep_paragraphs


def hf_ids(hf: Any, texts: list[str]) -> list[list[int]]:
    return [e.ids for e in hf.encode_batch(texts, add_special_tokens=False)]


def assert_same_ids(name: str, texts: list[str], expected: list[list[int]], encode: Any) -> None:
    mismatches = [(t, e, got) for t, e in zip(texts, expected) if (got := encode(t)) != e]
    detail = "\n".join(f"  {t!r}: expected {e} got {g}" for t, e, g in mismatches[:5])
    assert not mismatches, f"{name}: {len(mismatches)} of {len(texts)} texts differ from tokenizers:\n{detail}"


@pytest.fixture(scope="module")
def cores(mrl_model: fastembed_static.StaticModel, pure_tokenizer_module: ModuleType) -> dict[str, Any]:
    config, tokens = mrl_model.metadata["tokenizer"], mrl_model._generated.tokens
    return {
        "installed core": mrl_model.tokenize,
        "pure-Python core": build_tokenizer(config, tokens, pure_tokenizer_module.Tokenizer).encode,
    }


@pytest.fixture(scope="module")
def reference(mrl_model: fastembed_static.StaticModel) -> ReferenceTokenizer:
    return ReferenceTokenizer(mrl_model.metadata["tokenizer"], mrl_model._generated.tokens)


def test_gooaq_queries(cores: dict[str, Any], reference: ReferenceTokenizer, hf_mrl_tokenizer: Any) -> None:
    texts = gooaq_queries()
    assert len(texts) == 10_000
    expected = hf_ids(hf_mrl_tokenizer, texts)
    for name, encode in cores.items():
        assert_same_ids(name, texts, expected, encode)
    assert_same_ids("reference", texts, expected, reference.encode)


def test_pep_paragraphs(cores: dict[str, Any], reference: ReferenceTokenizer, hf_mrl_tokenizer: Any) -> None:
    texts = pep_paragraphs()
    assert len(texts) > 50_000
    expected = hf_ids(hf_mrl_tokenizer, texts)
    for name, encode in cores.items():
        assert_same_ids(name, texts, expected, encode)
    assert_same_ids("reference", texts[:5000], expected[:5000], reference.encode)


@pytest.mark.parametrize("set_name", list(stress_texts.all_stress_sets()))
def test_stress_sets(
    set_name: str, cores: dict[str, Any], reference: ReferenceTokenizer, hf_mrl_tokenizer: Any
) -> None:
    texts = stress_texts.all_stress_sets()[set_name]
    expected = hf_ids(hf_mrl_tokenizer, texts)
    for name, encode in cores.items():
        assert_same_ids(f"{name}, {set_name}", texts, expected, encode)
    assert_same_ids(f"reference, {set_name}", texts, expected, reference.encode)


def test_every_code_point_alone(cores: dict[str, Any], hf_mrl_tokenizer: Any) -> None:
    texts = stress_texts.every_code_point_alone()
    assert len(texts) == 0x110000 - 0x800
    expected = hf_ids(hf_mrl_tokenizer, texts)
    for name, encode in cores.items():
        assert_same_ids(name, texts, expected, encode)


def test_cache_does_not_change_results(mrl_model: fastembed_static.StaticModel, hf_mrl_tokenizer: Any) -> None:
    """The same words again (warm per-word cache) give the same ids; so does a fresh model (cold cache)."""
    texts = gooaq_queries()[:2000]
    expected = hf_ids(hf_mrl_tokenizer, texts)
    fresh = fastembed_static.StaticModel.from_pretrained(mrl_model.path)
    assert [fresh.tokenize(t) for t in texts] == expected  # cold
    assert [fresh.tokenize(t) for t in texts] == expected  # warm
    assert [fresh.tokenize(t) for t in reversed(texts)] == expected[::-1]
