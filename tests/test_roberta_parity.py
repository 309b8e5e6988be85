"""Byte-level BPE with ``lstrip`` added tokens (issue 22): token ids identical to HF ``tokenizers`` 0.23.3 on a real
RoBERTa ``tokenizer.json`` (``<mask>`` takes the whitespace before it), for the compiled core, its pure-Python twin
and the readable reference; vectors equal to sentence-transformers' StaticEmbedding and model2vec; ``lstrip`` /
``rstrip`` of normalized and raw added tokens on byte-level and SentencePiece-style BPE.
"""

from __future__ import annotations

import copy
import json
import lzma
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import fastembed_static
from fastembed_static import GenerationError
from fastembed_static.gen.tokenizer_spec import read_tokenizer

from .helpers import DATA, gooaq_queries, pep_paragraphs, pure_core, random_table, write_safetensors
from .multilingual import load_multilingual
from .stress_texts import all_stress_sets
from .test_bpe_parity import ADVERSARIAL, Cores, write_json

ROBERTA_XZ = DATA / "roberta" / "tokenizer.json.xz"
DIM = 64
# Unicode White_Space (what tokenizers' lstrip / rstrip take), and characters that are not, around added tokens
WHITE_SPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"
)
NOT_WHITE_SPACE = "\x1c\x1d\x1e\x1f\u200b\u200d\ufeff\u180e\u2060x."


def roberta_json() -> dict[str, Any]:
    """The real RoBERTa tokenizer.json, parsed (a fresh copy each call), with its saved truncation (512) off."""
    with lzma.open(ROBERTA_XZ, "rt", encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    data["truncation"] = None
    return data


@pytest.fixture(scope="module")
def pure_bpe_module() -> ModuleType:
    return pure_core("_bpe")


@pytest.fixture(scope="module")
def roberta(tmp_path_factory: pytest.TempPathFactory, pure_bpe_module: ModuleType) -> Cores:
    return Cores(write_json(tmp_path_factory.mktemp("roberta"), roberta_json()), pure_bpe_module)


def around_added_tokens(tokens: list[str]) -> list[str]:
    """Texts built around added tokens with every whitespace kind (and look-alikes) before and after them."""
    texts: list[str] = []
    for token in tokens:
        for w in WHITE_SPACE + NOT_WHITE_SPACE:
            for a in ("", "x", "Hello world", "日本"):
                texts += [
                    a + w + token + w + "y",
                    a + w + w + token,
                    token + w + a,
                    w + token,
                    a + token + w + token + w + w + token + "z",
                    w * 3 + token + w * 3 + a + w + token,
                    a + " " + w + token + w + " " + a,
                ]
    texts += ["".join(tokens), " ".join(tokens), "  ".join(tokens) + "  ", "\n".join(tokens), tokens[0] * 5]
    return texts


def test_the_real_file_is_robertas() -> None:
    data = roberta_json()
    assert data["model"]["type"] == "BPE" and len(data["model"]["vocab"]) == 50265
    assert len(data["model"]["merges"]) == 50000 and data["pre_tokenizer"]["type"] == "ByteLevel"
    mask = [t for t in data["added_tokens"] if t["content"] == "<mask>"]
    assert mask == [{**mask[0], "id": 50264, "lstrip": True, "rstrip": False, "normalized": False}]
    with lzma.open(DATA / "gpt2" / "tokenizer.json.xz", "rt", encoding="utf-8") as f:
        gpt2 = json.load(f)
    assert data["model"]["merges"] == gpt2["model"]["merges"], "RoBERTa's merges are GPT-2's"


def test_added_tokens_with_every_whitespace(roberta: Cores) -> None:
    texts = around_added_tokens(["<mask>", "<s>", "</s>", "<pad>", "<unk>"])
    assert roberta.check(texts) > 1000
    masks = roberta.expected(["a <mask>", "a\u3000\t<mask>", "a\u200b<mask>"])
    assert masks[0] == masks[1] == [102, 50264] and masks[2] != masks[0], "lstrip takes White_Space only"


def test_english_text(roberta: Cores) -> None:
    texts = gooaq_queries()[:2000] + pep_paragraphs()[::10]
    assert roberta.check(texts) > 2000
    masked = [q.replace(" the ", " <mask> ").replace(" a ", "  <mask>\t") for q in gooaq_queries()[2000:3000]]
    assert roberta.check(masked)


def test_multilingual_text(roberta: Cores) -> None:
    """All 48,662 texts of the 34 languages for both cores, every 4th for the reference, and with <mask>."""
    texts = load_multilingual()
    assert len(texts) >= 20
    for lang, items in texts.items():
        roberta.check(items, reference=False)
        roberta.check(items[::4])
        roberta.check([t.replace(" ", " <mask> ", 1) for t in items[::5]])
        assert items, lang


def test_every_code_point_alone_and_in_runs(roberta: Cores) -> None:
    singles = [chr(cp) for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF]
    roberta.check(singles, reference=False, pure=False)
    roberta.check(singles[::97])
    roberta.check(singles[1::7], reference=False)
    roberta.check([c + "<mask>" + c for c in singles[::13]], reference=False)
    runs = ["".join(singles[i : i + 64]) for i in range(0, len(singles), 64)]
    roberta.check(runs[::3])
    roberta.check(runs[1::3] + runs[2::3], reference=False)


def test_adversarial_and_stress_strings(roberta: Cores) -> None:
    roberta.check(ADVERSARIAL + [a + " <mask> " + b for a in ADVERSARIAL[::2] for b in ADVERSARIAL[::5]])
    for name, texts in all_stress_sets().items():
        roberta.check(texts, reference=False)
        assert roberta.check(texts[::7]) or not texts, name


STRIP_VARIANTS: dict[str, dict[str, Any]] = {
    "rstrip": {"lstrip": False, "rstrip": True},
    "lstrip and rstrip": {"lstrip": True, "rstrip": True},
    "lstrip, normalized": {"lstrip": True, "normalized": True},
    "rstrip, normalized": {"rstrip": True, "normalized": True},
    "lstrip and rstrip, normalized": {"lstrip": True, "rstrip": True, "normalized": True},
}


@pytest.mark.parametrize("variant", sorted(STRIP_VARIANTS))
def test_strip_options(variant: str, tmp_path: Path, pure_bpe_module: ModuleType) -> None:
    """``<mask>`` and ``</s>`` with the options changed; normalized tokens are matched (and strip whitespace) in
    the normalized text (here NFC + Lowercase, so ``<MASK>`` is ``<mask>``)."""
    data = roberta_json()
    for token in data["added_tokens"]:
        if token["content"] in ("<mask>", "</s>"):
            token.update(STRIP_VARIANTS[variant])
    if "normalized" in STRIP_VARIANTS[variant]:
        data["normalizer"] = {"type": "Sequence", "normalizers": [{"type": "NFC"}, {"type": "Lowercase"}]}
    cores = Cores(write_json(tmp_path, data), pure_bpe_module)
    texts = around_added_tokens(["<mask>", "</s>", "<MASK>", "</S>"]) + gooaq_queries()[:200]
    texts += ["<mask></s><mask>", " </s>  <mask>  </s> ", "<mask>\u3000</s>\u3000x", "é<MASK> É</S>\u2028"]
    assert cores.check(texts)


def test_strip_on_sentencepiece_style_bpe(tmp_path: Path, pure_bpe_module: ModuleType) -> None:
    """The real OpenLLaMA file (spaces written as ▁ by its normalizer) with lstrip / rstrip on its added tokens:
    ``<s>`` / ``<unk>`` are matched in the normalized text, where ▁ is not whitespace; ``</s>`` in the raw text."""
    with lzma.open(DATA / "openllama" / "tokenizer.json.xz", "rt", encoding="utf-8") as f:
        data = json.load(f)
    for token in data["added_tokens"]:
        token.update(lstrip=True, rstrip=token["content"] != "<s>")
    cores = Cores(write_json(tmp_path / "legacy", data), pure_bpe_module)
    texts = around_added_tokens(["<s>", "</s>", "<unk>"]) + gooaq_queries()[:200]
    assert cores.check(texts)
    metaspace = copy.deepcopy(data)
    metaspace["normalizer"] = None
    metaspace["pre_tokenizer"] = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": False}
    assert Cores(write_json(tmp_path / "metaspace", metaspace), pure_bpe_module).check(texts)


def test_single_word_is_refused_by_name(tmp_path: Path) -> None:
    data = roberta_json()
    data["added_tokens"][-1]["single_word"] = True
    with pytest.raises(GenerationError, match="'<mask>' sets single_word=true"):
        read_tokenizer(write_json(tmp_path, data))


# --- generated model folders: vectors -------------------------------------------------------------------------


def _folders(tmp_path: Path) -> tuple[Path, Path, np.ndarray]:
    table = random_table(50265, DIM, seed=22)
    st, m2v = tmp_path / "st", tmp_path / "m2v"
    st.mkdir()
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.StaticEmbedding"}]
    (st / "modules.json").write_text(json.dumps(modules), encoding="utf-8")
    write_json(st, roberta_json())
    write_safetensors(st / "model.safetensors", {"embedding.weight": table})
    m2v.mkdir()
    (m2v / "config.json").write_text(json.dumps({"model_type": "model2vec", "normalize": True}), encoding="utf-8")
    write_json(m2v, roberta_json())
    write_safetensors(m2v / "model.safetensors", {"embeddings": table})
    return st, m2v, table


def _vector_texts() -> list[str]:
    langs = load_multilingual()
    texts = gooaq_queries()[:1500] + pep_paragraphs()[::25] + [t for items in langs.values() for t in items[:40]]
    return texts + ADVERSARIAL + around_added_tokens(["<mask>", "</s>"])[::9]


def test_vectors_equal_sentence_transformers_and_model2vec(tmp_path: Path) -> None:
    from model2vec import StaticModel as Reference
    from sentence_transformers import SentenceTransformer

    from fastembed_static.model2vec import StaticModel

    st, m2v, _ = _folders(tmp_path)
    texts = _vector_texts()
    expected = np.asarray(SentenceTransformer(str(st), device="cpu").encode(texts, batch_size=256))
    model = fastembed_static.StaticModel.from_pretrained(st, cache_dir=tmp_path / "cache")
    assert model.metadata["tokenizer"]["model"] == "BPE" and model.vocab_size == 50265
    assert [t for t in model.metadata["tokenizer"]["added_tokens"] if t.get("lstrip")] == [
        {"content": "<mask>", "id": 50264, "special": True, "lstrip": True}
    ]
    got = model.encode(texts)
    assert got.shape == expected.shape and np.abs(got - expected).max() <= 1e-6
    m2v_expected = Reference.from_pretrained(str(m2v)).encode(texts)
    m2v_got = StaticModel.from_pretrained(m2v, cache_dir=tmp_path / "cache2").encode(texts)
    assert m2v_got.tobytes() == m2v_expected.tobytes(), f"max abs diff {np.abs(m2v_got - m2v_expected).max()}"
