"""The Unicode normalizers of Unigram and BPE pipelines (issue 22): ``NFC``, ``NFD``, ``NFKC``, ``NFKD``,
``StripAccents``, ``Lowercase`` and ``Nmt`` (``fastembed_static._unicode_forms``, tables probed by
``gen/make_normalization_tables.py``) against HF ``tokenizers`` 0.23.3 run here: each normalizer alone on every code
point (in runs; alone for a slice, all with ``FASTEMBED_STATIC_EXHAUSTIVE=1``), on sequences built for canonical
reordering and composition, on the real multilingual text and the stress sets; then token ids of real files for the
compiled core, its pure-Python twin and the reference (the real ALBERT ``tokenizer.json`` with its NFKD,
StripAccents and Lowercase; that file with the hub albert-base-v2 normalizer, Precompiled included, as a
substitute; a real SentencePiece-BPE ``tokenizer.json`` with NFKC; GPT-2 with a Nmt / NFKD / StripAccents /
Lowercase normalizer as a substitute), vectors equal to sentence-transformers' StaticEmbedding and model2vec, the
generator reproducing the committed tables, and refusals.
"""

from __future__ import annotations

import base64
import copy
import importlib.util
import json
import lzma
import os
import sys
import unicodedata
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
import tokenizers
from tokenizers import Tokenizer, normalizers

import fastembed_static
from fastembed_static import GenerationError, ModelFileError, _model_files, _unicode_forms
from fastembed_static import _normalization_tables as tables
from fastembed_static._reference_unigram import ReferenceUnigram, named_normalizer
from fastembed_static._tokenizer_builder import build_tokenizer
from fastembed_static.gen.tokenizer_spec import read_tokenizer

from .helpers import DATA, REPO, gooaq_queries, make_st_model, pure_core, random_table, write_safetensors
from .multilingual import load_multilingual
from .stress_texts import all_stress_sets
from .test_bpe_parity import ADVERSARIAL, Cores, gpt2_json, untruncated, write_json

EXHAUSTIVE = os.environ.get("FASTEMBED_STATIC_EXHAUSTIVE") == "1"
ALBERT_XZ = DATA / "albert" / "tokenizer.json.xz"
NFKC_BPE_XZ = DATA / "nfkc-bpe" / "tokenizer.json.xz"
CHARSMAP_XZ = DATA / "unigram" / "mbart-trimmed-tokenizer.json.xz"  # a real nmt_nfkc Precompiled charsmap
CODE_POINTS = [cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF]
STEPS = _unicode_forms.NAMED_STEPS


def hf_step(name: str) -> Callable[[str], str]:
    normalize: Callable[[str], str] = getattr(normalizers, name)().normalize_str
    return normalize


def _xz_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(lzma.open(path).read())
    return data


# --- each normalizer alone -----------------------------------------------------------------------------------


def _assert_same(name: str, texts: list[str], ours: Callable[[str], str] | None = None) -> None:
    hf = hf_step(name)
    mine = ours or _unicode_forms.named_step(name)
    wrong = [t for t in texts if mine(t) != hf(t)]
    assert not wrong, f"{name}: {len(wrong)} of {len(texts)} differ, first {ascii(wrong[0][:40])}"


@pytest.mark.parametrize("name", STEPS)
def test_every_code_point_alone_and_in_runs(name: str) -> None:
    chars = [chr(cp) for cp in CODE_POINTS]
    _assert_same(name, chars if EXHAUSTIVE else chars[::7])
    _assert_same(name, ["".join(chars[i : i + 16]) for i in range(0, len(chars), 16)])
    _assert_same(name, ["".join(chars), "".join(reversed(chars))])


def _reordering_texts() -> list[str]:
    """Every code point with a combining class (and every one the tables cut around) before and after a mark of
    every class, after a base; every canonical composition pair, alone and with a mark between; Hangul."""
    marks: dict[int, str] = {}
    for cp in CODE_POINTS:
        ccc = unicodedata.combining(chr(cp))
        if ccc and ccc not in marks:
            marks[ccc] = chr(cp)
    split = {cp for form in _unicode_forms.FORMS for a, b in getattr(tables, f"SPLIT_{form}") for cp in range(a, b + 1)}
    probed = sorted({cp for cp in CODE_POINTS if unicodedata.combining(chr(cp))} | split)
    texts = []
    for cp in probed:
        x = chr(cp)
        for mark in marks.values():
            texts += ["a" + x + mark, "e" + mark + x, x + mark + "\u0301"]
    for cp in CODE_POINTS:
        decomposition = unicodedata.decomposition(chr(cp))
        if decomposition and not decomposition.startswith("<"):
            parts = "".join(chr(int(p, 16)) for p in decomposition.split())
            texts += [parts, parts[0] + "\u0316" + parts[1:], parts + "\u0301", chr(cp) + "\u0334"]
    texts += [chr(lead) + chr(vowel) + "\u11a8" for lead in range(0x1100, 0x1113) for vowel in range(0x1161, 0x1176)]
    texts += [chr(s) + chr(t) for s in range(0xAC00, 0xD7A4, 97) for t in range(0x11A7, 0x11C3)]
    return texts


@pytest.mark.parametrize("name", _unicode_forms.FORMS)
def test_canonical_reordering_and_composition(name: str) -> None:
    texts = _reordering_texts()
    assert len(texts) > 100_000
    _assert_same(name, texts)


@pytest.mark.parametrize("name", STEPS)
def test_multilingual_and_stress_texts(name: str) -> None:
    texts = [t for items in load_multilingual().values() for t in items]
    assert len(texts) == 48_662
    _assert_same(name, texts)
    for set_name, stress in all_stress_sets().items():
        hf = hf_step(name)
        mine = _unicode_forms.named_step(name)
        wrong = [t for t in stress if mine(t) != hf(t)]
        assert not wrong, f"{name} on {set_name}: {len(wrong)} differ"


def test_sequences_of_normalizers() -> None:
    """Whole chains as tokenizers runs them (each step on the whole text), as the cores build them."""
    chains = [
        ["NFKD", "StripAccents", "Lowercase"],
        ["Nmt", "NFKC", "Lowercase"],
        ["NFD", "StripAccents", "NFC"],
        ["Lowercase", "NFKC", "NFD", "Nmt", "StripAccents", "NFKD"],
    ]
    texts = [t for items in load_multilingual().values() for t in items[::3]] + ADVERSARIAL
    for chain in chains:
        hf = normalizers.Sequence([getattr(normalizers, n)() for n in chain]).normalize_str
        steps = [_unicode_forms.named_step(n) for n in chain]

        def mine(text: str, steps: list[Callable[[str], str]] = steps) -> str:
            for step in steps:
                text = step(text)
            return text

        wrong = [t for t in texts if mine(t) != hf(t)]
        assert not wrong, f"{chain}: {len(wrong)} differ, first {ascii(wrong[0][:40])}"


@pytest.mark.parametrize("name", STEPS)
def test_reference_named_normalizer(name: str) -> None:
    """The references' readable version (character by character from the tables) agrees with tokenizers too."""
    chars = [chr(cp) for cp in CODE_POINTS]
    texts = ["".join(chars[i : i + 16]) for i in range(0, len(chars), 16 * (1 if EXHAUSTIVE else 11))]
    texts += [t for items in load_multilingual().values() for t in items[::20]]
    texts += _reordering_texts()[:: 1 if EXHAUSTIVE else 13]
    _assert_same(name, texts, lambda text: named_normalizer(name, text))


def test_lowercase_is_the_char_tables_map() -> None:
    from fastembed_static._char_tables import LOWER_MAP

    lower = hf_step("Lowercase")
    assert all(lower(chr(cp)) == LOWER_MAP.get(cp, chr(cp)) for cp in CODE_POINTS)


def test_model_files_lists_the_same_steps() -> None:
    assert _model_files._NAMED_STEPS == _unicode_forms.NAMED_STEPS
    assert _model_files._DELETING_STEPS == _unicode_forms.DELETING_STEPS


def test_newer_unicode_data_rule_finds_nothing_new_on_the_tables_version() -> None:
    """The rule for a Python with newer Unicode data than the tables': on the tables' own version, there is nothing
    newer (the rule itself is used only where ``unicodedata`` is newer, e.g. Python 3.12 and 3.13)."""
    assert unicodedata.unidata_version == tables.UNICODE_VERSION
    for form in _unicode_forms.FORMS:
        assert _unicode_forms._newer_code_points(form) == ()


# --- the generator -------------------------------------------------------------------------------------------


def _generator() -> ModuleType:
    path = REPO / "gen" / "make_normalization_tables.py"
    spec = importlib.util.spec_from_file_location("make_normalization_tables_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_generator_reproduces_the_committed_tables() -> None:
    """Rerunning the probes on the installed tokenizers gives the committed module (all its tables), about 15 s."""
    gen = _generator()
    assert tokenizers.__version__ == tables.TOKENIZERS_VERSION
    committed = (REPO / "fastembed_static" / "_normalization_tables.py").read_text(encoding="utf-8")
    assert gen.tables_lines(gen.render_module()) == gen.tables_lines(committed)


# --- real files: token ids -----------------------------------------------------------------------------------


def albert_json() -> dict[str, Any]:
    """The real ALBERT tokenizer.json (a fine-tuned albert-base-v2's), truncation off (parity on whole texts)."""
    data = _xz_json(ALBERT_XZ)
    data["truncation"] = None
    return data


def albert_hub_normalizer() -> dict[str, Any]:
    """A substitute: the real ALBERT file with the normalizer of the hub's albert-base-v2 / XLNet files (Replace
    ``, Replace '', NFKD, StripAccents, Lowercase, Precompiled, Replace " {2,}"), the charsmap a real nmt_nfkc one
    (mBART's, tests/data/unigram)."""
    data = albert_json()
    charsmap = _xz_json(CHARSMAP_XZ)["normalizer"]["precompiled_charsmap"]
    base64.b64decode(charsmap, validate=True)
    data["normalizer"] = {
        "type": "Sequence",
        "normalizers": [
            {"type": "Replace", "pattern": {"String": "``"}, "content": '"'},
            {"type": "Replace", "pattern": {"String": "''"}, "content": '"'},
            {"type": "NFKD"},
            {"type": "StripAccents"},
            {"type": "Lowercase"},
            {"type": "Precompiled", "precompiled_charsmap": charsmap},
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
        ],
    }
    return data


def nfkc_bpe_json() -> dict[str, Any]:
    return _xz_json(NFKC_BPE_XZ)


def gpt2_nmt_nfkd() -> dict[str, Any]:
    """A substitute: the real GPT-2 file (byte-level BPE) with the normalizer Sequence[Nmt, NFKD, StripAccents,
    Lowercase]."""
    data = untruncated(gpt2_json())
    steps = [{"type": name} for name in ("Nmt", "NFKD", "StripAccents", "Lowercase")]
    data["normalizer"] = {"type": "Sequence", "normalizers": steps}
    return data


UNIGRAM_FILES: dict[str, Callable[[], dict[str, Any]]] = {
    "albert (real)": albert_json,
    "albert with the hub normalizer (substitute)": albert_hub_normalizer,
}
BPE_FILES: dict[str, Callable[[], dict[str, Any]]] = {
    "nfkc sentencepiece-bpe (real)": nfkc_bpe_json,
    "gpt2 with Nmt, NFKD, StripAccents, Lowercase (substitute)": gpt2_nmt_nfkd,
}


def test_the_real_files_are_what_provenance_says() -> None:
    albert = _xz_json(ALBERT_XZ)
    assert albert["model"]["type"] == "Unigram" and len(albert["model"]["vocab"]) == 30000
    kinds = [step["type"] for step in albert["normalizer"]["normalizers"]]
    assert kinds == ["Replace", "Replace"] + ["NFKD", "StripAccents", "Lowercase", "Replace"] * 2
    bpe = nfkc_bpe_json()
    assert bpe["model"]["type"] == "BPE" and bpe["normalizer"] == {"type": "NFKC"}
    assert bpe["pre_tokenizer"]["type"] == "Metaspace" and bpe["pre_tokenizer"]["prepend_scheme"] == "always"


class UnigramCores:
    """tokenizers, the compiled core of a generated model, its pure twin and the reference, for one file."""

    def __init__(self, data: dict[str, Any], folder: Path) -> None:
        path = write_json(folder, data)
        self.hf = Tokenizer.from_file(str(path))
        spec = read_tokenizer(path)
        root = make_st_model(folder / "model", path, random_table(spec.vocab_size, 4))
        model = fastembed_static.StaticModel.from_pretrained(root, cache_dir=folder / "cache")
        generated = model._generated
        self.compiled = model._tokenizer
        self.pure = build_tokenizer(
            generated.tokenizer_config, generated.tokens, pure_core("_unigram").UnigramTokenizer, generated.extras
        )
        self.reference = ReferenceUnigram(data)

    def check(self, texts: list[str], *, reference: bool = True) -> None:
        expected = [e.ids for e in self.hf.encode_batch(texts, add_special_tokens=False)]
        cores = {"compiled core": self.compiled.encode, "pure-Python core": self.pure.encode}
        if reference:
            cores["reference"] = self.reference.encode
        for label, encode in cores.items():
            wrong = [t for t, ids in zip(texts, expected, strict=True) if encode(t) != ids]
            assert not wrong, f"{label}: {len(wrong)} of {len(texts)} differ, first {ascii(wrong[0][:60])}"


@pytest.fixture(scope="module", params=list(UNIGRAM_FILES))
def unigram(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> UnigramCores:
    return UnigramCores(UNIGRAM_FILES[request.param](), tmp_path_factory.mktemp("unigram"))


@pytest.fixture(scope="module", params=list(BPE_FILES))
def bpe(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Cores:
    folder = tmp_path_factory.mktemp("bpe")
    return Cores(write_json(folder, BPE_FILES[request.param]()), pure_core("_bpe"))


def _texts_of_every_kind() -> tuple[list[str], list[str]]:
    """(texts for all cores, texts for the compiled and pure cores only)."""
    multilingual = [t for items in load_multilingual().values() for t in items]
    chars = [chr(cp) for cp in CODE_POINTS]
    runs = ["".join(chars[i : i + 16]) for i in range(0, len(chars), 16)]
    stress = [t for items in all_stress_sets().values() for t in items]
    added = ["[CLS] x [SEP]", "<unk>", "a<pad>b [MASK]", "``quoted''", "  Ｈｅｌｌｏ  ﬁ  Ⅻ  "]
    reference = multilingual[::16] + chars[::211] + runs[::100] + stress[::20] + ADVERSARIAL + added  # it is slow
    return reference, multilingual + chars[:: 1 if EXHAUSTIVE else 5] + runs[:: 1 if EXHAUSTIVE else 3] + stress


def test_unigram_token_ids(unigram: UnigramCores) -> None:
    reference, cores_only = _texts_of_every_kind()
    unigram.check(reference)
    unigram.check(cores_only, reference=False)


def test_bpe_token_ids(bpe: Cores) -> None:
    reference, cores_only = _texts_of_every_kind()
    bpe.check(reference)
    bpe.check(cores_only, reference=False)


# --- vectors -------------------------------------------------------------------------------------------------


def _vector_texts() -> list[str]:
    return gooaq_queries()[:500] + [t for items in load_multilingual().values() for t in items[:40]] + ADVERSARIAL


@pytest.mark.parametrize(
    ("name", "dim"), [("albert (real)", 128), ("nfkc sentencepiece-bpe (real)", 256)]
)  # ALBERT's embedding width is 128
def test_vectors_equal_sentence_transformers_and_model2vec(name: str, dim: int, tmp_path: Path) -> None:
    from model2vec import StaticModel as Model2VecModel
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding

    data = {**UNIGRAM_FILES, **BPE_FILES}[name]()
    path = write_json(tmp_path / "tok", data)
    rows = Tokenizer.from_file(str(path)).get_vocab_size()
    table = random_table(rows, dim, seed=22)
    st = SentenceTransformer(modules=[StaticEmbedding(Tokenizer.from_file(str(path)), embedding_weights=table)])
    st.save(str(tmp_path / "st"))
    texts = _vector_texts()
    expected = st.encode(texts)
    model = fastembed_static.StaticModel.from_pretrained(tmp_path / "st", cache_dir=tmp_path / "cache")
    assert model.vocab_size == rows and model.dim == dim
    assert np.abs(model.encode(texts) - expected).max() <= 1e-5
    m2v = tmp_path / "m2v"
    m2v.mkdir()
    (m2v / "config.json").write_text(json.dumps({"model_type": "model2vec", "normalize": False}), encoding="utf-8")
    write_json(m2v, data)
    write_safetensors(m2v / "model.safetensors", {"embeddings": table})
    model = fastembed_static.StaticModel.from_pretrained(m2v, cache_dir=tmp_path / "cache2")
    unk = model.metadata["tokenizer"]["unk_id"]
    kept = [t for t in texts if t.strip() and unk not in model.tokenize(t)]  # model2vec drops unknown tokens
    assert len(kept) > 300
    reference = Model2VecModel.from_pretrained(str(m2v)).encode(kept, max_length=None, use_multiprocessing=False)
    assert np.abs(model.encode(kept) - reference).max() <= 1e-5


# --- model.json and refusals ---------------------------------------------------------------------------------


def test_model_json_names_the_steps_and_is_validated(tmp_path: Path) -> None:
    path = write_json(tmp_path / "tok", albert_hub_normalizer())
    root = make_st_model(tmp_path / "model", path, random_table(30000, 4))
    model = fastembed_static.StaticModel.from_pretrained(root, cache_dir=tmp_path / "cache")
    steps = model.metadata["tokenizer"]["normalizers"]
    assert [s["type"] for s in steps] == ["Replace", "Replace", "NFKD", "StripAccents", "Lowercase", "Precompiled"] + [
        "Replace"
    ]
    meta_path = model.path / "model.json"
    original = json.loads(meta_path.read_text(encoding="utf-8"))
    for bad in ({"type": "NFKX"}, {"type": "BertNormalizer"}, {"type": 3}):
        meta = copy.deepcopy(original)
        meta["tokenizer"]["normalizers"][2] = bad
        meta_path.write_text(json.dumps(meta), encoding="utf-8")
        with pytest.raises(ModelFileError, match="model.json"):
            fastembed_static.StaticModel.from_pretrained(model.path)
    meta_path.write_text(json.dumps(original), encoding="utf-8")
    assert fastembed_static.StaticModel.from_pretrained(model.path).tokenize("Ünïcödé ﬁ") == model.tokenize("Ünïcödé ﬁ")


def test_bpe_model_json_refuses_a_deleting_step_before_prepend_first(tmp_path: Path) -> None:
    data = nfkc_bpe_json()
    path = write_json(tmp_path / "tok", data)
    root = make_st_model(tmp_path / "model", path, random_table(Tokenizer.from_file(str(path)).get_vocab_size(), 4))
    model = fastembed_static.StaticModel.from_pretrained(root, cache_dir=tmp_path / "cache")
    meta_path = model.path / "model.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    assert meta["tokenizer"]["normalizers"] == ["NFKC"]
    for bad, match in (("NFKZ", "must be one of"), ("StripAccents", "prepend_scheme first")):
        broken = copy.deepcopy(meta)
        broken["tokenizer"]["normalizers"] = [bad]
        broken["tokenizer"]["pre_tokenizer"]["prepend_scheme"] = "first"
        meta_path.write_text(json.dumps(broken), encoding="utf-8")
        with pytest.raises(ModelFileError, match=match):
            fastembed_static.StaticModel.from_pretrained(model.path)


@pytest.mark.parametrize(
    ("family", "normalizer", "match"),
    [
        ("unigram", {"type": "BertNormalizer", "lowercase": True}, "'BertNormalizer'"),
        ("unigram", {"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "ByteLevel"}]}, "'ByteLevel'"),
        ("bpe", {"type": "Sequence", "normalizers": [{"type": "BertNormalizer"}]}, "'BertNormalizer' in a Sequence"),
        ("bpe-first", {"type": "StripAccents"}, "StripAccents .*prepend_scheme first"),
        ("bpe-first", {"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Nmt"}]}, "Nmt"),
    ],
)
def test_refused_by_name(family: str, normalizer: dict[str, Any], match: str, tmp_path: Path) -> None:
    data = albert_json() if family == "unigram" else nfkc_bpe_json()
    data["normalizer"] = normalizer
    if family == "bpe-first":
        data["pre_tokenizer"]["prepend_scheme"] = "first"
    path = write_json(tmp_path, data)
    with pytest.raises(GenerationError, match=match):
        read_tokenizer(path)


def test_bpe_prepend_first_with_forms_is_exact(tmp_path: Path) -> None:
    """Steps that do not delete characters keep prepend_scheme first exact (the first piece starts at offset 0)."""
    data = nfkc_bpe_json()
    data["pre_tokenizer"]["prepend_scheme"] = "first"
    data["normalizer"] = {"type": "Sequence", "normalizers": [{"type": "NFKD"}, {"type": "Lowercase"}]}
    cores = Cores(write_json(tmp_path, data), pure_core("_bpe"))
    texts = ["\u0301ab", "ﬁ x", "Ａ b", "\u1100\u1161 c"] + [
        t for items in load_multilingual().values() for t in items[:30]
    ]
    cores.check(texts)
