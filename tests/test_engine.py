"""The batch engine: the numpy chunk cache gives the same token ids as Hugging Face ``tokenizers`` (cold and warm,
ASCII and not, with truncation), and ``encode(threads=N)`` gives the same vectors whatever N.

Which results are identical: token ids always; vectors bit for bit across thread counts and unit boundaries (each
text's rows are added in token order in float32 on every path). Against sentence-transformers the vectors differ
only by float32 summation order (tests/test_embedding_parity.py runs at the default thread count).
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest

from fastembed_static import StaticModel
from fastembed_static import model as model_module

from .helpers import gooaq_queries, pep_documents, pep_paragraphs
from .stress_texts import all_stress_sets


def hf_ids(hf: Any, texts: list[str]) -> list[list[int]]:
    return [e.ids for e in hf.encode_batch(texts, add_special_tokens=False)]


def batch_ids(model: StaticModel, texts: list[str]) -> list[list[int]]:
    """Token ids of ``texts`` through the batch path (the chunk cache for inputs of more than a few texts)."""
    ids, lengths = model._tokenize_batch(texts, 0)
    ends = np.cumsum(lengths)
    return [ids[end - count : end].tolist() for end, count in zip(ends.tolist(), lengths.tolist())]


def assert_same(name: str, texts: list[str], expected: list[list[int]], got: list[list[int]]) -> None:
    bad = [(t, e, g) for t, e, g in zip(texts, expected, got) if e != g]
    detail = "\n".join(f"  {t[:80]!r}: expected {e[:12]} got {g[:12]}" for t, e, g in bad[:5])
    assert len(got) == len(expected) and not bad, f"{name}: {len(bad)} of {len(texts)} texts differ:\n{detail}"


@pytest.fixture()
def fresh_mrl(mrl_model: StaticModel) -> StaticModel:
    """A model with empty caches (cold)."""
    return StaticModel.from_pretrained(mrl_model.path)


def test_chunk_cache_is_used_for_the_mrl_tokenizer(fresh_mrl: StaticModel) -> None:
    assert fresh_mrl._chunks is not None


@pytest.mark.parametrize("corpus", ["gooaq", "pep paragraphs", "pep documents"])
def test_chunk_cache_ids_equal_tokenizers_cold_and_warm(
    corpus: str, fresh_mrl: StaticModel, hf_mrl_tokenizer: Any
) -> None:
    texts = {"gooaq": gooaq_queries, "pep paragraphs": pep_paragraphs, "pep documents": pep_documents}[corpus]()
    expected = hf_ids(hf_mrl_tokenizer, texts)
    for name in ("cold", "warm"):
        got = [ids for first in range(0, len(texts), 700) for ids in batch_ids(fresh_mrl, texts[first : first + 700])]
        assert_same(f"{corpus}, {name}", texts, expected, got)


@pytest.mark.parametrize("set_name", list(all_stress_sets()))
def test_chunk_cache_ids_equal_tokenizers_on_stress_sets(
    set_name: str, fresh_mrl: StaticModel, hf_mrl_tokenizer: Any
) -> None:
    texts = all_stress_sets()[set_name]
    expected = hf_ids(hf_mrl_tokenizer, texts)
    # the same texts in one batch, again warm, and mixed with ASCII text so that batches hold both kinds
    assert_same(set_name, texts, expected, batch_ids(fresh_mrl, texts))
    assert_same(f"{set_name}, warm", texts, expected, batch_ids(fresh_mrl, texts))
    mixed = [t for pair in zip(texts, gooaq_queries()) for t in pair]
    assert_same(f"{set_name}, mixed", mixed, hf_ids(hf_mrl_tokenizer, mixed), batch_ids(fresh_mrl, mixed))


def test_chunk_cache_edge_cases(fresh_mrl: StaticModel, hf_mrl_tokenizer: Any) -> None:
    long_chunk = "x" * 23 + " " + "y" * 24 + " " + "z" * 150 + " " + "=" * 80
    texts = [
        "",
        " ",
        "\t\n\r ",
        "a",
        "  leading and trailing  ",
        "tab\tseparated\nlines\r\nhere",
        "vertical\x0btab and form\x0cfeed join words",
        "nul\x00byte and \x1funit separator",
        "[CLS] special [SEP] tokens[MASK]inside words [UNK]",
        long_chunk,
        long_chunk.upper(),
        "café naïve Straße ﬁ “quotes” — em dash",
        "mixed 東京 text with\u00a0no-break\u3000spaces",
    ] * 3
    expected = hf_ids(hf_mrl_tokenizer, texts)
    for _ in range(2):
        assert_same("edge cases", texts, expected, batch_ids(fresh_mrl, texts))


def test_chunk_cache_applies_truncation() -> None:
    """The bundled default model truncates at 512 tokens (its tokenizer.json says so): the batch path does too."""
    model = StaticModel.default()
    assert model.metadata["tokenizer"]["truncation"]["max_length"] == 512
    texts = pep_documents()[:40] + gooaq_queries()[:40]
    assert batch_ids(model, texts) == [model.tokenize(t) for t in texts]
    assert max(len(ids) for ids in batch_ids(model, texts)) == 512


def test_lone_surrogate_in_a_batch_is_reported_with_its_index(mrl_model: StaticModel) -> None:
    texts = gooaq_queries()[:3000]
    texts[2345] = "broken \udc80 text"
    for threads in (1, 2):
        with pytest.raises(ValueError, match="index 2345 cannot be tokenized"):
            mrl_model.encode(texts, threads=threads)


@pytest.mark.parametrize("threads", [2, 3, 5])
def test_threads_give_identical_vectors(mrl_model: StaticModel, threads: int) -> None:
    texts = gooaq_queries() + pep_paragraphs()[:3000] + pep_documents()[:50] + gooaq_queries()[::-1]
    one = mrl_model.encode(texts, threads=1)
    np.testing.assert_array_equal(mrl_model.encode(texts, threads=threads), one)
    np.testing.assert_array_equal(mrl_model.encode(texts, threads=threads, batch_size=37, dim=64), one[:, :64])
    # the single-text path agrees too
    for i in (0, 10_000, 13_000, len(texts) - 1):
        np.testing.assert_array_equal(mrl_model.encode(texts[i]), one[i])


def test_workers_is_an_alias_of_threads(mrl_model: StaticModel) -> None:
    texts = pep_paragraphs()[:4000]
    np.testing.assert_array_equal(mrl_model.encode(texts, workers=2), mrl_model.encode(texts, threads=1))


def test_default_threads_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    monkeypatch.delenv("FASTEMBED_STATIC_THREADS", raising=False)
    assert model_module.default_threads() == len(os.sched_getaffinity(0))
    monkeypatch.setenv("FASTEMBED_STATIC_THREADS", "3")
    assert model_module.default_threads() == 3
    for bad in ("0", "-1", "many"):
        monkeypatch.setenv("FASTEMBED_STATIC_THREADS", bad)
        with pytest.raises(ValueError, match="FASTEMBED_STATIC_THREADS"):
            model_module.default_threads()


def test_bad_threads_argument(mrl_model: StaticModel) -> None:
    for bad in (0, -2, 1.5, True, "2"):
        with pytest.raises(ValueError, match="threads must be"):
            mrl_model.encode(["x"], threads=bad)  # type: ignore[arg-type]


def record_threads(model: StaticModel, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    names: list[str] = []
    original = model._encode_unit

    def spy(*args: Any) -> None:
        names.append(threading.current_thread().name)
        original(*args)

    monkeypatch.setattr(model, "_encode_unit", spy)
    return names


def test_small_inputs_stay_on_the_calling_thread(mrl_model: StaticModel, monkeypatch: pytest.MonkeyPatch) -> None:
    """One text and 32 texts never wait for a pool; a large input is split into units run by the pool."""
    names = record_threads(mrl_model, monkeypatch)
    mrl_model.encode(gooaq_queries()[:32], threads=4)
    mrl_model.encode(gooaq_queries()[:1], threads=4)
    assert names == [threading.current_thread().name] * 2
    names.clear()
    mrl_model.encode(gooaq_queries(), threads=2)
    assert len(names) > 2 and all(n.startswith("fastembed-static") for n in names)


def test_threads_share_one_model_safely(mrl_model: StaticModel) -> None:
    """Several user threads encoding at once with one fresh model (its cache filling concurrently) get the
    same vectors as one thread alone."""
    fresh = StaticModel.from_pretrained(mrl_model.path)
    texts = pep_paragraphs()[:6000]
    expected = mrl_model.encode(texts, threads=1)
    results: dict[int, np.ndarray] = {}

    def work(k: int) -> None:
        results[k] = fresh.encode(texts[k * 500 :] + texts[: k * 500], threads=2)

    workers = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    for k, got in results.items():
        np.testing.assert_array_equal(got, np.roll(expected, -k * 500, axis=0))
    assert len(results) == 4


def test_memory_copy_gives_identical_vectors(mrl_model: StaticModel) -> None:
    """memory="copy" moves the table into anonymous (huge-page advised) memory: same bytes, same vectors."""
    copied = StaticModel.from_pretrained(mrl_model.path, memory="copy")
    assert not np.shares_memory(copied._table, mrl_model._table)
    assert not copied._table.flags.writeable
    texts = gooaq_queries()[:3000] + pep_paragraphs()[:500]
    np.testing.assert_array_equal(copied.encode(texts), mrl_model.encode(texts))
    np.testing.assert_array_equal(copied.encode(texts[0]), mrl_model.encode(texts[0]))
    default = StaticModel.default(memory="copy")
    np.testing.assert_array_equal(default.encode(texts[:100]), StaticModel.default().encode(texts[:100]))
    with pytest.raises(ValueError, match="memory must be"):
        StaticModel.from_pretrained(mrl_model.path, memory="ram")
