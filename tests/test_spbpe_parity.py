"""SentencePiece-style BPE (issue 22: Llama / Mistral / TinyLlama / OpenLLaMA): token ids identical to HF
``tokenizers`` 0.23.3 on a real Llama-family ``tokenizer.json`` (OpenLLaMA's, tests/data/openllama: the legacy form,
normalizer ``Sequence[Prepend("▁"), Replace(" ", "▁")]`` and no pre-tokenizer) and on the Metaspace form built from
it (normalizer null, pre-tokenizer ``Metaspace(prepend_scheme "first", split false)``: a substitute, see
tests/data/PROVENANCE.md), for the compiled core, its pure-Python twin and the readable reference; vectors equal to
model2vec's and sentence-transformers' StaticEmbedding; what is not reproduced is refused by name.

``FASTEMBED_STATIC_EXHAUSTIVE=1`` also runs every code point alone through the pure twin and the reference (minutes).
"""

from __future__ import annotations

import copy
import json
import lzma
import os
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import fastembed_static
from fastembed_static import GenerationError, ModelFileError
from fastembed_static.gen.tokenizer_spec import read_tokenizer

from .helpers import DATA, gooaq_queries, pep_paragraphs, pure_core, random_table, write_safetensors
from .multilingual import load_multilingual
from .stress_texts import all_stress_sets
from .test_bpe_parity import ADVERSARIAL, LONG, Cores, write_json

OPENLLAMA_XZ = DATA / "openllama" / "tokenizer.json.xz"
EXHAUSTIVE = os.environ.get("FASTEMBED_STATIC_EXHAUSTIVE") == "1"
DIM = 256
ROWS = 32001  # 32,000 tokens and the added [PAD] 32000


def openllama_json() -> dict[str, Any]:
    """The real OpenLLaMA tokenizer.json, parsed (a fresh copy each call: tests change it)."""
    with lzma.open(OPENLLAMA_XZ, "rt", encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


_LEGACY = openllama_json()


def metaspace_form(data: dict[str, Any], scheme: str = "first", split: bool = False) -> dict[str, Any]:
    """The file as transformers' Llama converter writes it with ``legacy=False`` (Mistral v0.3 has this form)."""
    data = copy.deepcopy(data)
    data["normalizer"] = None
    data["pre_tokenizer"] = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": scheme, "split": split}
    return data


FORMS: dict[str, Callable[[], dict[str, Any]]] = {
    "legacy": lambda: copy.deepcopy(_LEGACY),
    "metaspace": lambda: metaspace_form(_LEGACY),
}

# Added tokens where they are and are not matched: <unk> and <s> are normalized=true in the real file (matched as
# "▁<unk>" / "▁<s>" in the legacy form's normalized text), </s> and [PAD] are not.
SPECIALS = [
    "<s>",
    "</s>",
    "<unk>",
    "[PAD]",
    "<s>Hello",
    "Hello<s>",
    "hi <s> x",
    "hi<s>x",
    "</s>hi",
    "</s> hi",
    "hi</s> x",
    "a <unk>b <unk><unk>  <unk>",
    "[PAD]hi [PAD] there[PAD]",
    " <s> </s> [PAD] <unk> ",
    "<s><s></s></s>",
    "▁<s>▁x ▁▁<unk>",
    "<s",
    "</s",
    "[PAD",
    "Le <s>château</s> 日本<unk>語 [PAD]😀",
]


@pytest.fixture(scope="module")
def pure_bpe_module() -> ModuleType:
    """The BPE core as plain Python, even when the .so is in use."""
    return pure_core("_bpe")


@pytest.fixture(scope="module", params=sorted(FORMS))
def cores(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pure_bpe_module: ModuleType
) -> Cores:
    form: str = request.param
    return Cores(write_json(tmp_path_factory.mktemp(form), FORMS[form]()), pure_bpe_module)


def test_the_real_file_is_a_legacy_llama_bpe() -> None:
    model = _LEGACY["model"]
    assert model["type"] == "BPE" and len(model["vocab"]) == 32000 and len(model["merges"]) == 64812
    assert model["byte_fallback"] is True and model["fuse_unk"] is True and model["unk_token"] == "<unk>"
    assert all(model["vocab"][f"<0x{b:02X}>"] == 3 + b for b in range(256))
    assert _LEGACY["pre_tokenizer"] is None
    assert [s["type"] for s in _LEGACY["normalizer"]["normalizers"]] == ["Prepend", "Replace"]
    assert [(t["content"], t["id"], t["normalized"]) for t in _LEGACY["added_tokens"]] == [
        ("<unk>", 0, True),
        ("<s>", 1, True),
        ("</s>", 2, False),
        ("[PAD]", 32000, False),
    ]
    assert _LEGACY["post_processor"]["type"] == "TemplateProcessing"  # adds <s>: skipped, add_special_tokens=False


def test_english_text(cores: Cores) -> None:
    queries = gooaq_queries()
    paragraphs = pep_paragraphs()
    cores.check(queries[:3000] + paragraphs[::40], reference=False)
    assert cores.check(queries[3000:3600] + paragraphs[::400]) > 600  # the reference merges whole texts: slow


def test_multilingual_text(cores: Cores) -> None:
    """Every language of the real translations (34 languages, 19 scripts): the compiled core on all of them, the
    pure twin on every 3rd, the reference on every 15th. Most non-Latin characters go to byte fallback here."""
    texts = load_multilingual()
    assert len(texts) >= 20
    for lang, items in texts.items():
        cores.check(items, reference=False, pure=False)
        cores.check(items[::3], reference=False)
        assert cores.check(items[::15]), lang


def test_added_tokens_in_text(cores: Cores) -> None:
    assert cores.check(SPECIALS)
    expected = cores.expected(SPECIALS)
    assert (
        any(1 in ids for ids in expected)
        and any(32000 in ids for ids in expected)
        and any(0 in ids for ids in expected)
    )


def test_every_code_point_alone_and_in_runs(cores: Cores) -> None:
    singles = [chr(cp) for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF]
    if EXHAUSTIVE:
        cores.check(singles)
    else:
        cores.check(singles[::5], reference=False, pure=False)
        cores.check(singles[::211])
    runs = ["".join(singles[i : i + 64]) for i in range(0, len(singles), 64)]
    mixed = [" ".join(singles[i : i + 16]) + " 1a" for i in range(0, len(singles), 997)]
    cores.check(runs[::7], reference=False)
    cores.check(runs[::301] + mixed[::3])


SP_ADVERSARIAL = [
    "▁",
    "▁▁▁ ▁ ",
    "  leading and trailing  ",
    "tabs\tand\nnewlines\r\n\u3000ideographic\u00a0nbsp",
    "a▁b ▁c▁ ▁▁d",
    "<0x41> <0xZZ> <0x>",
    "    def f(x):\n        return x  # code",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
]


def test_adversarial_strings(cores: Cores) -> None:
    cores.check(ADVERSARIAL + SP_ADVERSARIAL)
    cores.check(LONG + [" ".join(gooaq_queries()[:400])], reference=False)


def test_stress_sets(cores: Cores) -> None:
    for name, texts in all_stress_sets().items():
        cores.check(texts[::2], reference=False, pure=False)
        assert cores.check(texts[::29]) or not texts, name


def test_words_are_cut_only_where_no_merge_joins_across(tmp_path: Path, pure_bpe_module: ModuleType) -> None:
    """The real merges allow cutting a whole piece into words before "▁"; a merge that joins a letter to a
    "▁..." token forbids it (the core then merges whole pieces, as tokenizers does), and the ids stay equal."""
    assert Cores(write_json(tmp_path / "real", copy.deepcopy(_LEGACY)), pure_bpe_module).compiled.words_re is not None
    data = copy.deepcopy(_LEGACY)
    vocab = data["model"]["vocab"]
    vocab["e▁"] = len(vocab)
    data["model"]["merges"].insert(0, "e ▁")  # first of all merges: joins "e" to the "▁" after it
    data["added_tokens"][-1]["id"] = len(vocab)  # [PAD] stays past the vocabulary's end
    for form, tokenizer_json in (("legacy", data), ("metaspace", metaspace_form(data))):
        cores = Cores(write_json(tmp_path / form, tokenizer_json), pure_bpe_module)
        assert cores.compiled.words_re is None
        texts = gooaq_queries()[:300] + ["the the tree the", "hee thee", "e e▁e ▁▁e", "▁he▁the"] + SPECIALS
        assert any(len(vocab) - 1 in ids for ids in cores.expected(texts))
        cores.check(texts)


VARIANTS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "Metaspace always": lambda d: metaspace_form(d, "always"),
    "Metaspace never": lambda d: metaspace_form(d, "never"),
    "Metaspace first, split": lambda d: metaspace_form(d, "first", split=True),
    "Metaspace always, split": lambda d: metaspace_form(d, "always", split=True),
    "Metaspace legacy add_prefix_space": lambda d: {
        **metaspace_form(d),
        "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "add_prefix_space": True},
    },
    "added tokens not normalized": lambda d: {
        **d,
        "added_tokens": [{**t, "normalized": False} for t in d["added_tokens"]],
    },
    "every added token normalized": lambda d: {
        **d,
        "added_tokens": [{**t, "normalized": True} for t in d["added_tokens"]],
    },
    "NFC, Lowercase and Replace regex before Prepend": lambda d: {
        **d,
        "normalizer": {
            "type": "Sequence",
            "normalizers": [
                {"type": "NFC"},
                {"type": "Lowercase"},
                {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
                *d["normalizer"]["normalizers"],
            ],
        },
    },
    "no fuse_unk, no byte fallback": lambda d: {
        **d,
        "model": {**d["model"], "fuse_unk": False, "byte_fallback": False},
    },
    "byte fallback without unk": lambda d: {**d, "model": {**d["model"], "unk_token": None}},
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_options(variant: str, tmp_path: Path, pure_bpe_module: ModuleType) -> None:
    cores = Cores(write_json(tmp_path, VARIANTS[variant](copy.deepcopy(_LEGACY))), pure_bpe_module)
    langs = load_multilingual()
    texts = ADVERSARIAL + SP_ADVERSARIAL + SPECIALS + gooaq_queries()[:200]
    texts += [t for items in langs.values() for t in items[:8]]
    texts += ["ΑΣ ΣΑΣ ΌΣΟΣ İstanbul", "e\u0301 \u212b \u1e9b\u0323  Ÿ", "THE <S> </S> [pad]"]
    texts += [chr(cp) for cp in range(0, 0x3400, 13)]
    cores.check(texts)


@pytest.mark.parametrize("direction", ["Right", "Left"])
def test_truncation(direction: str, tmp_path: Path, pure_bpe_module: ModuleType) -> None:
    for form, make in FORMS.items():
        data = make()
        data["truncation"] = {"max_length": 20, "strategy": "LongestFirst", "stride": 0, "direction": direction}
        cores = Cores(write_json(tmp_path / form, data), pure_bpe_module)
        texts = pep_paragraphs()[:100] + SPECIALS
        assert cores.check(texts)
        assert max(map(len, cores.expected(texts))) == 20


# --- generated model folders: vectors -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def table() -> np.ndarray:
    return random_table(ROWS, DIM, seed=22)


def _st_folder(root: Path, tokenizer_json: dict[str, Any], table: np.ndarray) -> Path:
    root.mkdir(parents=True)
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.StaticEmbedding"}]
    (root / "modules.json").write_text(json.dumps(modules), encoding="utf-8")
    write_json(root, tokenizer_json)
    write_safetensors(root / "model.safetensors", {"embedding.weight": table})
    return root


def _m2v_folder(root: Path, tokenizer_json: dict[str, Any], table: np.ndarray, normalize: bool) -> Path:
    root.mkdir(parents=True)
    (root / "config.json").write_text(json.dumps({"model_type": "model2vec", "normalize": normalize}), encoding="utf-8")
    write_json(root, tokenizer_json)
    write_safetensors(root / "model.safetensors", {"embeddings": table})
    return root


def _vector_texts() -> list[str]:
    langs = load_multilingual()
    return (
        gooaq_queries()[:1500]
        + pep_paragraphs()[::40]
        + [t for items in langs.values() for t in items[:40]]
        + SPECIALS
        + ADVERSARIAL
    )


@pytest.mark.parametrize("form", sorted(FORMS))
def test_vectors_equal_sentence_transformers(form: str, tmp_path: Path, table: np.ndarray) -> None:
    from sentence_transformers import SentenceTransformer

    folder = _st_folder(tmp_path / "st", FORMS[form](), table)
    texts = _vector_texts()
    expected = np.asarray(SentenceTransformer(str(folder), device="cpu").encode(texts, batch_size=256))
    model = fastembed_static.StaticModel.from_pretrained(folder, cache_dir=tmp_path / "cache")
    assert model.metadata["tokenizer"]["model"] == "BPE" and model.vocab_size == ROWS
    got = model.encode(texts)
    assert got.shape == expected.shape == (len(texts), DIM)
    assert np.abs(got - expected).max() <= 1e-6
    assert model.tokenize("Hello world") == [16644, 924]


@pytest.mark.parametrize(("form", "normalize"), [("legacy", True), ("metaspace", False)])
def test_vectors_equal_model2vec(form: str, normalize: bool, tmp_path: Path, table: np.ndarray) -> None:
    from model2vec import StaticModel as Reference

    from fastembed_static.model2vec import StaticModel

    folder = _m2v_folder(tmp_path / "m2v", FORMS[form](), table, normalize)
    texts = _vector_texts()
    reference = Reference.from_pretrained(str(folder))
    expected = reference.encode(texts)
    got = StaticModel.from_pretrained(folder, cache_dir=tmp_path / "cache").encode(texts)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    assert got.tobytes() == expected.tobytes(), f"max abs diff {np.abs(got - expected).max()}"


def test_generated_folder_round_trip(tmp_path: Path, table: np.ndarray) -> None:
    """model.json carries the normalizer steps, the pre-tokenizer (null or Metaspace) and the normalized added
    tokens; a generated folder reloads (vocab.py read as data) and tokenizes as tokenizers does."""
    from tokenizers import Tokenizer

    texts = pep_paragraphs()[:200] + SPECIALS
    for form, make in FORMS.items():
        data = make()
        folder = _st_folder(tmp_path / form / "st", data, table[:, :16].copy())
        out = tmp_path / form / "gen"
        fastembed_static.gen.generate(folder, out)
        meta = json.loads((out / "model.json").read_text(encoding="utf-8"))["tokenizer"]
        if form == "legacy":
            assert meta["pre_tokenizer"] is None and meta["normalizers"][0] == {"type": "Prepend", "prepend": "▁"}
        else:
            assert meta["pre_tokenizer"]["prepend_scheme"] == "first" and meta["normalizers"] == []
        assert [t.get("normalized", False) for t in meta["added_tokens"]] == [True, True, False, False]
        model = fastembed_static.StaticModel.from_pretrained(out)
        hf = Tokenizer.from_str(json.dumps(data))
        assert [model.tokenize(t) for t in texts] == [e.ids for e in hf.encode_batch(texts, add_special_tokens=False)]


# --- refusals, by name ----------------------------------------------------------------------------------------


def _sequence(*steps: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Sequence", "normalizers": list(steps)}


REFUSED: dict[str, tuple[Callable[[dict[str, Any]], Any], str]] = {
    "dropout": (lambda d: d["model"].update(dropout=0.1), "dropout 0.1"),
    "regex Replace other than ' {2,}'": (
        lambda d: d["normalizer"]["normalizers"].append(
            {"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": "▁"}
        ),
        "unsupported Replace pattern {'Regex': '\\\\s+'} in a Sequence",
    ),
    "Strip": (
        lambda d: d["normalizer"]["normalizers"].insert(0, {"type": "Strip", "strip_left": True, "strip_right": True}),
        "unsupported normalizer 'Strip' in a Sequence",
    ),
    "BertNormalizer": (
        lambda d: d.update(normalizer={"type": "BertNormalizer", "lowercase": True}),
        "unsupported normalizer 'BertNormalizer'",
    ),
    "Precompiled": (
        lambda d: d.update(normalizer=_sequence({"type": "Precompiled", "precompiled_charsmap": None})),
        "unsupported normalizer 'Precompiled' in a Sequence",
    ),
    "Metaspace prepend_scheme": (
        lambda d: d.update(pre_tokenizer={"type": "Metaspace", "replacement": "▁", "prepend_scheme": "sometimes"}),
        "unsupported Metaspace prepend_scheme 'sometimes'",
    ),
    "Metaspace replacement": (
        lambda d: d.update(pre_tokenizer={"type": "Metaspace", "replacement": "__", "prepend_scheme": "first"}),
        "unsupported Metaspace replacement '__'",
    ),
    "deleting Replace before prepend_scheme first": (
        lambda d: d.update(
            normalizer=_sequence({"type": "Replace", "pattern": {"String": "\u200b"}, "content": ""}),
            pre_tokenizer={"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": False},
        ),
        "Replace normalizer that deletes text before Metaspace prepend_scheme first",
    ),
    "WhitespaceSplit + Metaspace": (
        lambda d: d.update(
            pre_tokenizer={
                "type": "Sequence",
                "pretokenizers": [{"type": "WhitespaceSplit"}, {"type": "Metaspace", "replacement": "▁"}],
            }
        ),
        "unsupported pre_tokenizer: 'Sequence'",
    ),
    "single_word added token": (lambda d: d["added_tokens"][2].update(single_word=True), "sets single_word=true"),
    "byte token missing from the merges' vocabulary": (
        lambda d: d["model"]["merges"].append("<0x41> <0x42>"),
        "'<0x41><0x42>' is not in the vocabulary",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_by_name(case: str, tmp_path: Path) -> None:
    data = copy.deepcopy(_LEGACY)
    change, message = REFUSED[case]
    change(data)
    with pytest.raises(GenerationError) as info:
        read_tokenizer(write_json(tmp_path, data))
    assert message in str(info.value) and "tokenizer.json" in str(info.value)


def test_corrupt_model_json_is_refused(tmp_path: Path, table: np.ndarray) -> None:
    out = tmp_path / "gen"
    fastembed_static.gen.generate(_st_folder(tmp_path / "st", metaspace_form(_LEGACY), table[:, :8].copy()), out)
    meta_path = out / "model.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    cases: list[tuple[Callable[[dict[str, Any]], None], str]] = [
        (lambda t: t["pre_tokenizer"].update(prepend_scheme="sometimes"), "prepend_scheme must be"),
        (lambda t: t["pre_tokenizer"].update(replacement="▁▁"), "replacement must be one character"),
        (lambda t: t["pre_tokenizer"].update(split="no"), "tokenizer.pre_tokenizer.split"),
        (lambda t: t["pre_tokenizer"].update(type="Whitespace"), "tokenizer.pre_tokenizer.type"),
        (lambda t: t.update(normalizers=[{"type": "Prepend"}]), "tokenizer.normalizers[0].prepend"),
        (
            lambda t: t.update(normalizers=[{"type": "Replace", "pattern": "\\s+", "regex": True, "content": ""}]),
            "regex",
        ),
        (lambda t: t.update(normalizers=[{"type": "Strip", "left": True, "right": True}]), "tokenizer.normalizers[0]"),
        (lambda t: t["added_tokens"][0].update(normalized="yes"), "tokenizer.added_tokens[0].normalized"),
    ]
    for change, message in cases:
        broken = copy.deepcopy(meta)
        change(broken["tokenizer"])
        meta_path.write_text(json.dumps(broken), encoding="utf-8")
        with pytest.raises(ModelFileError) as info:
            fastembed_static.StaticModel.from_pretrained(out)
        assert message in str(info.value) and "model.json" in str(info.value), (message, str(info.value))
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    from tokenizers import Tokenizer

    hf = Tokenizer.from_str(json.dumps(metaspace_form(_LEGACY)))
    text = "</s>Hello <s> world"
    assert (
        fastembed_static.StaticModel.from_pretrained(out).tokenize(text)
        == hf.encode(text, add_special_tokens=False).ids
    )
