"""Unigram (SentencePiece) tokenizers: token ids identical to HF ``tokenizers`` for the compiled core, its
pure-Python twin and the reference, on real tokenizer files and real multilingual text; vectors equal to
sentence-transformers' StaticEmbedding and model2vec; unsupported components refused by name.

The tokenizer files (``tests/data/unigram/``, see PROVENANCE.md): a real mBART-family ``tokenizer.json`` (its
scores are all 0, so every Viterbi choice is a tie), the same real SentencePiece model converted by transformers'
own XLM-R converter (real scores), and that one with the normalizer and pre-tokenizer of the hub's XLM-R /
bge-m3 / multilingual-e5 files (``Sequence[Precompiled, Replace(" {2,}")]``, ``Metaspace``).

Every code point is checked alone and in runs (for the hub XLM-R style; every 5th for the two others), and the
cluster rule of ``Precompiled`` after a one-character key for every BMP code point. ``FASTEMBED_STATIC_EXHAUSTIVE=1`` adds the reference on all of them and the cluster rule
for every code point (minutes).
"""

from __future__ import annotations

import base64
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
from fastembed_static import _precompiled
from fastembed_static._reference_unigram import ReferenceUnigram
from fastembed_static._tokenizer_builder import build_tokenizer
from fastembed_static.errors import ModelFileError
from fastembed_static.gen.errors import GenerationError
from fastembed_static.gen.tokenizer_spec import read_tokenizer

from .helpers import make_st_model, pure_core, random_table, write_safetensors
from .multilingual import load_multilingual
from .stress_texts import all_stress_sets

DATA = Path(__file__).resolve().parent / "data" / "unigram"
EXHAUSTIVE = os.environ.get("FASTEMBED_STATIC_EXHAUSTIVE") == "1"
TOLERANCE = 1e-5
REAL = "mbart-trimmed-tokenizer.json.xz"
CONVERTED = "mbart-trimmed-xlmr-converted-tokenizer.json.xz"


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(lzma.open(DATA / name).read())
    return data


def _hub_style() -> dict[str, Any]:
    data = _load(CONVERTED)
    replace = {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}
    data["normalizer"] = {"type": "Sequence", "normalizers": [data["normalizer"], replace]}
    data["pre_tokenizer"] = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True}
    return data


def _first(data: dict[str, Any]) -> dict[str, Any]:
    """A substitute for a real file with Metaspace ``prepend_scheme: "first"`` (what transformers' converters write
    for ``legacy=False``; no such Unigram file was found in a public repository here): the same file, scheme first."""
    pre = data["pre_tokenizer"]
    (pre["pretokenizers"][-1] if pre["type"] == "Sequence" else pre)["prepend_scheme"] = "first"
    return data


VARIANTS: dict[str, Callable[[], dict[str, Any]]] = {
    "real mbart-trimmed": lambda: _load(REAL),
    "converted (XLM-R converter)": lambda: _load(CONVERTED),
    "hub XLM-R style": _hub_style,
    "hub XLM-R style, prepend_scheme first": lambda: _first(_hub_style()),
}


def _pure_unigram_module() -> ModuleType:
    """The Unigram core as plain Python, even when the .so is in use."""
    return pure_core("_unigram")


class Setup:
    def __init__(self, name: str, folder: Path) -> None:
        from tokenizers import Tokenizer

        # Every code point for the hub XLM-R style (the one real models use), every 5th for the others (same
        # charsmap, other pre-tokenizers), to keep the suite's time modest; all of them with the env var.
        self.stride = 1 if EXHAUSTIVE or name == "hub XLM-R style" else 5
        self.data = VARIANTS[name]()
        self.path = folder / "tokenizer.json"
        self.path.write_text(json.dumps(self.data), encoding="utf-8")
        self.hf = Tokenizer.from_file(str(self.path))
        spec = read_tokenizer(self.path)
        assert spec.model == "Unigram" and spec.scores is not None
        # A generated model, as users get it: the compiled core it builds, and the pure twin from its files.
        root = make_st_model(folder / "model", self.path, random_table(spec.vocab_size, 4))
        model = fastembed_static.StaticModel.from_pretrained(root, cache_dir=folder / "cache")
        generated = model._generated
        self.compiled = model._tokenizer
        pure_core = _pure_unigram_module().UnigramTokenizer
        self.pure = build_tokenizer(generated.tokenizer_config, generated.tokens, pure_core, generated.extras)
        self.reference = ReferenceUnigram(self.data)

    def expected(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self.hf.encode_batch(texts, add_special_tokens=False)]

    def check(self, texts: list[str], reference: bool = True) -> None:
        expected = self.expected(texts)
        cores: dict[str, Any] = {"compiled core": self.compiled.encode, "pure-Python core": self.pure.encode}
        if reference:
            cores["reference"] = self.reference.encode
        for label, encode in cores.items():
            wrong = [t for t, ids in zip(texts, expected, strict=True) if encode(t) != ids]
            assert not wrong, f"{label}: {len(wrong)} of {len(texts)} differ, first {wrong[0]!r}"


@pytest.fixture(scope="module", params=list(VARIANTS))
def setup(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Setup:
    return Setup(request.param, tmp_path_factory.mktemp("unigram"))


def test_compiled_core_is_the_one_built(setup: Setup) -> None:
    assert type(setup.compiled).__module__ == "fastembed_static._unigram"
    assert type(setup.pure).__module__ == "fastembed_static._unigram_pure"  # tests/helpers.py pure_core


def test_multilingual_text(setup: Setup) -> None:
    """All 48,662 texts of the 34 languages for both cores, every 8th for the (slow) reference."""
    texts = load_multilingual()
    assert len(texts) >= 20
    for lang, items in texts.items():
        expected = setup.expected(items)
        for label, core in (("compiled", setup.compiled), ("pure", setup.pure)):
            wrong = sum(core.encode(t) != ids for t, ids in zip(items, expected, strict=True))
            assert wrong == 0, f"{lang}: {label} core differs on {wrong} of {len(items)} texts"
        sample = items if EXHAUSTIVE else items[::8]
        wrong = sum(setup.reference.encode(t) != ids for t, ids in zip(sample, expected[:: 1 if EXHAUSTIVE else 8]))
        assert wrong == 0, f"{lang}: reference differs on {wrong} of {len(sample)} texts"


def _code_points() -> list[str]:
    return [chr(cp) for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF]


def test_every_code_point_alone(setup: Setup) -> None:
    chars = _code_points()[:: setup.stride]
    expected = setup.expected(chars)
    for label, core in (("compiled", setup.compiled), ("pure", setup.pure)):
        wrong = [c for c, ids in zip(chars, expected, strict=True) if core.encode(c) != ids]
        assert not wrong, f"{label} core: {len(wrong)} code points differ, first U+{ord(wrong[0]):04X}"
    step = 1 if EXHAUSTIVE else 101
    wrong = [c for c, ids in zip(chars[::step], expected[::step], strict=True) if setup.reference.encode(c) != ids]
    assert not wrong, f"reference: {len(wrong)} differ, first U+{ord(wrong[0]):04X}"


def test_code_point_runs(setup: Setup) -> None:
    """Every code point inside runs of 16 consecutive ones, and runs with spaces between."""
    chars = _code_points()
    runs = ["".join(chars[i : i + 16]) for i in range(0, len(chars), 16)][:: setup.stride]
    spaced = [" ".join(chars[i : i + 16]) for i in range(0, len(chars), 16 * 7)][:: setup.stride]
    setup.check(runs + spaced, reference=EXHAUSTIVE)
    setup.check(runs[::50] + spaced[::20])


ADVERSARIAL = [
    "",
    " ",
    "  ",
    "\t\n\r\n \u3000\u00a0\u2009\u200b\u2028\ufeff",
    "a" * 5000,
    "pneumonoultramicroscopicsilicovolcanoconiosis" * 20,
    "日本語の文章は空白なしで続きます" * 30,
    "A\u0300\u0301 e\u0301\u0302 \u0301 Å\u030a ﬁ\u0301 Ａ\u0301 \r\n\u0301",
    "👩\u200d👩\u200d👧\u200d👦 👍🏽 🇫🇷🇩🇪🇯 ❤\ufe0f \u200d\u200d",
    "क्षत्रिय নিষ্ক্রিয় ᄀ\u1161\u11a8 한국어 กำ ำ \u0e33",
    "mixedЛатиницаКириллицаΕλληνικάעבריתالعربية中文",
    "\u2581\u2581a\u2581 b \u2581",
    "<s>x</s><unk><pad> <mask> a<mask>b  <mask>  c",
    "＜ｓ＞ fullwidth ＡＢＣ１２３ ㍿ ℌ ⅸ ①",
    "\x00\x01\x7f\x85\u00ad\ufffd\U0010ffff\U000e0001",
    "trailing space ",
    " leading",
]


def test_adversarial_strings(setup: Setup) -> None:
    setup.check(ADVERSARIAL)
    setup.check([a + " " + b for a in ADVERSARIAL for b in ADVERSARIAL[::3]])


def test_lone_surrogate_is_bad_text(setup: Setup) -> None:
    from fastembed_static._tokenizer import BadTextError

    with pytest.raises(BadTextError, match="U\\+D800"):
        setup.compiled.encode("a\ud800b")


def test_precompiled_clusters_against_tokenizers() -> None:
    """The whole-cluster rule: a one-character key ("µ") followed by each BMP code point normalizes as
    tokenizers' own Precompiled normalizer does (the cluster tables decide whether the code point is dropped)."""
    from tokenizers.normalizers import Precompiled

    blob = base64.b64decode(_load(CONVERTED)["normalizer"]["precompiled_charsmap"])
    hf = Precompiled(blob)
    charsmap = _precompiled.Charsmap(_precompiled.mapping(blob))
    last = 0x110000 if EXHAUSTIVE else 0x10000
    texts = [p + chr(cp) + s for cp in range(last) if not 0xD800 <= cp <= 0xDFFF for p, s in (("µ", ""), ("A", "b"))]
    wrong = [t for t in texts if charsmap.normalize(t) != hf.normalize_str(t)]
    assert not wrong, f"{len(wrong)} differ, first {wrong[0]!r}"
    units, strings = _precompiled.parse(blob)
    keys = _precompiled.mapping(blob)
    for key, value in list(keys.items())[::97]:  # the walked table agrees with the literal trie search
        found = _precompiled.common_prefix_search(units, key.encode("utf-8"))
        assert _precompiled.replacement(strings, found[-1]) == value


# --- vectors -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model_dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, int]:
    """A sentence-transformers StaticEmbedding folder and a model2vec folder with the converted (XLM-R style)
    tokenizer and a random table of its real shape (31,998 x 256)."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding
    from tokenizers import Tokenizer

    root = tmp_path_factory.mktemp("unigram-models")
    tokenizer_json = root / "tokenizer.json"
    tokenizer_json.write_text(json.dumps(_hub_style()), encoding="utf-8")
    rows = Tokenizer.from_file(str(tokenizer_json)).get_vocab_size()
    table = random_table(rows, 256, seed=22)
    st = SentenceTransformer(
        modules=[StaticEmbedding(Tokenizer.from_file(str(tokenizer_json)), embedding_weights=table)]
    )
    st.save(str(root / "st"))
    m2v = root / "m2v"
    m2v.mkdir()
    (m2v / "config.json").write_text(json.dumps({"model_type": "model2vec", "normalize": False}), encoding="utf-8")
    (m2v / "tokenizer.json").write_bytes(tokenizer_json.read_bytes())
    write_safetensors(m2v / "model.safetensors", {"embeddings": table})
    return root / "st", m2v, rows


def _texts() -> list[str]:
    return [t for items in load_multilingual().values() for t in items[:60]] + ADVERSARIAL[1:]


def test_vectors_equal_sentence_transformers(model_dirs: tuple[Path, Path, int], tmp_path: Path) -> None:
    from sentence_transformers import SentenceTransformer

    st_dir, _, rows = model_dirs
    model = fastembed_static.StaticModel.from_pretrained(st_dir, cache_dir=tmp_path)
    assert model.vocab_size == rows and model.dim == 256
    assert model.metadata["tokenizer"]["model"] == "Unigram"
    texts = _texts()
    expected = SentenceTransformer(str(st_dir), device="cpu").encode(texts)
    got = model.encode(texts)
    assert np.abs(got - expected).max() <= TOLERANCE
    assert np.abs(model.encode(texts, threads=2) - expected).max() <= TOLERANCE


def test_vectors_equal_model2vec(model_dirs: tuple[Path, Path, int], tmp_path: Path) -> None:
    """model2vec drops unknown tokens, fastembed-static keeps them (as sentence-transformers): texts without."""
    from model2vec import StaticModel as Model2VecModel

    _, m2v_dir, _ = model_dirs
    reference = Model2VecModel.from_pretrained(str(m2v_dir))
    model = fastembed_static.StaticModel.from_pretrained(m2v_dir, cache_dir=tmp_path)
    unk = model.metadata["tokenizer"]["unk_id"]
    # This 32k vocabulary lacks many scripts' pieces: of all 48,662 texts, about 14,000 have no unknown token.
    every = [t for items in load_multilingual().values() for t in items] + ADVERSARIAL[1:]
    texts = [t for t in every if t.strip() and unk not in model.tokenize(t)]
    assert len(texts) > 10000
    expected = reference.encode(texts, max_length=None, use_multiprocessing=False)
    assert np.abs(model.encode(texts) - expected).max() <= TOLERANCE


def test_generated_model_reloads_and_validates(model_dirs: tuple[Path, Path, int], tmp_path: Path) -> None:
    """model.json's Unigram fields and the SCORES of vocab.py are validated on load, errors naming the file."""
    st_dir, _, _ = model_dirs
    model = fastembed_static.StaticModel.from_pretrained(st_dir, cache_dir=tmp_path)
    folder = model.path
    again = fastembed_static.StaticModel.from_pretrained(folder)
    assert again.tokenize("Grüße aus Köln") == model.tokenize("Grüße aus Köln")
    meta_path = folder / "model.json"
    original = json.loads(meta_path.read_text(encoding="utf-8"))
    bad_values: list[tuple[str, object]] = [
        ("prepend_scheme", "sometimes"),
        ("replacement", "ab"),
        ("byte_fallback", "yes"),
        ("charsmap", {"a": 1}),
        ("model", "Bogus"),
    ]
    for field, value in bad_values:
        meta = json.loads(json.dumps(original))
        meta["tokenizer"][field] = value
        meta_path.write_text(json.dumps(meta), encoding="utf-8")
        with pytest.raises(ModelFileError, match="model.json"):
            fastembed_static.StaticModel.from_pretrained(folder)
    meta_path.write_text(json.dumps(original), encoding="utf-8")
    # The core's trie numbers tokens in 21 bits: a model.json claiming more rows is refused by name, not by the core.
    from fastembed_static._model_files import UNIGRAM_MAX_ROWS, check_metadata

    huge = json.loads(json.dumps(original))
    huge["vocab_size"] = UNIGRAM_MAX_ROWS
    huge["weights"]["bytes"] = UNIGRAM_MAX_ROWS * huge["dim"] * 4
    with pytest.raises(ModelFileError, match=f"model.json: field vocab_size is {UNIGRAM_MAX_ROWS}: a Unigram"):
        check_metadata(meta_path, huge)
    huge["vocab_size"] -= 1
    huge["weights"]["bytes"] -= huge["dim"] * 4
    with pytest.raises(ModelFileError, match="plus added tokens past their end"):  # the next check, not this one
        check_metadata(meta_path, huge)


# --- refusals ------------------------------------------------------------------------------------------------


def _refused(tmp_path: Path, data: dict[str, Any], match: str) -> None:
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(GenerationError, match=match):
        read_tokenizer(path)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (
            lambda d: d.update(
                normalizer={"type": "Sequence", "normalizers": [{"type": "NFKD"}, {"type": "ByteLevel"}]}
            ),
            "'ByteLevel' in a Sequence",
        ),
        (lambda d: d.update(normalizer={"type": "BertNormalizer"}), "'BertNormalizer'"),
        (lambda d: d.update(normalizer={"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": " "}), "Replace"),
        (lambda d: d.update(pre_tokenizer={"type": "ByteLevel"}), "ByteLevel"),
        (lambda d: d["pre_tokenizer"]["pretokenizers"][1].update(prepend_scheme="sometimes"), "'sometimes'"),
        (lambda d: d["model"].update(unk_id=None), "unk_id"),
        (lambda d: d["added_tokens"][0].update(normalized=True), "normalized"),
        (lambda d: d["model"]["vocab"][7].__setitem__(1, "x"), "vocab entry 7"),
    ],
)
def test_unsupported_components_refused_by_name(tmp_path: Path, change: Callable[[Any], None], match: str) -> None:
    data = _load(CONVERTED)
    change(data)
    _refused(tmp_path, data, match)


# --- prepend_scheme first: the pre-token at offset 0 of the original text -------------------------------------

# Unicode White_Space, characters the charsmap deletes or writes as a space, and ones it expands into a space and
# a mark (U+00A8, U+00B4): what moves the first pre-token off offset 0 (tokenizers' alignments)
LEADING = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2003\u200a\u2028\u2029\u202f\u205f\u3000\x1c\x00\x01\x7f\u200b\u200d\ufeff\u00ad"
)
LEADING += "\u00a8\u00b4\u00bd\u2474\u3000\uff21"

FIRST_NORMALIZERS: dict[str, list[dict[str, Any]]] = {
    "Precompiled": [],
    "Precompiled, Strip": [{"type": "Strip", "strip_left": True, "strip_right": True}],
    "Precompiled, Strip left, Replace": [
        {"type": "Strip", "strip_left": True, "strip_right": False},
        {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
    ],
    "Strip, Precompiled": [],
    "Precompiled, Prepend": [{"type": "Prepend", "prepend": "\u2581"}],
}


def _first_texts() -> list[str]:
    texts = ["", " ", "  ", "\u2581", "\u2581a", " \u2581 a"]
    for token in ("<mask>", "<s>", "</s>", "<unk>"):
        for w in LEADING:
            for a in ("", "x", "hi there", "\u00a8", "\u200b", "\u00a8\u0301q"):
                texts += [a + w + token + w + "y", w + a + token, token + w + a, w + token + a, a + w + "q"]
                texts += [w + w + a, w + a + " " + token, a + w]
    for w in LEADING:
        for v in LEADING:
            texts += [w + v + "q r", w + "q" + v, w + v]
    return texts


@pytest.mark.parametrize("normalizers", sorted(FIRST_NORMALIZERS))
@pytest.mark.parametrize("whitespace_split", [True, False], ids=["WhitespaceSplit", "Metaspace alone"])
def test_prepend_scheme_first(normalizers: str, whitespace_split: bool, tmp_path: Path) -> None:
    """Added tokens at the start (``<mask>`` takes the whitespace before it), leading whitespace and characters the
    normalizer deletes, expands or strips, empty strings; with every normalizer step before the pre-tokenizer."""
    data = _first(_load(CONVERTED))
    if not whitespace_split:
        data["pre_tokenizer"] = data["pre_tokenizer"]["pretokenizers"][-1]
    precompiled = data["normalizer"]
    steps = FIRST_NORMALIZERS[normalizers]
    if normalizers.startswith("Strip"):
        steps = [{"type": "Strip", "strip_left": True, "strip_right": True}, precompiled]
    else:
        steps = [precompiled, *steps]
    data["normalizer"] = {"type": "Sequence", "normalizers": steps}
    VARIANTS["test"] = lambda: copy.deepcopy(data)
    try:
        setup = Setup("test", tmp_path)
    finally:
        del VARIANTS["test"]
    texts = _first_texts() + ADVERSARIAL
    chars = _code_points()[::29]
    setup.check(texts)
    setup.check(chars + [" " + c + "b" for c in chars[::5]] + [c + " a" for c in chars[1::5]], reference=False)
    setup.check(chars[::7])
    langs = load_multilingual()
    setup.check([t for items in langs.values() for t in items[::25]], reference=False)
    setup.check([t for items in langs.values() for t in items[::150]])
    for texts in all_stress_sets().values():
        setup.check(texts[::3], reference=False)
    firsts = setup.expected(["hi", " hi", "\u3000hi", "<mask>hi"])
    assert firsts[0] != firsts[1] or not whitespace_split, "tokenizers: no ▁ before a word not at offset 0"


def test_prepend_scheme_first_with_an_untracked_normalizer_is_refused(tmp_path: Path) -> None:
    """The runtime replays the offsets of Precompiled, Replace, Strip and Prepend only."""
    import fastembed_static.gen.unigram_spec as spec

    data = _first(_load(CONVERTED))
    tracks = spec.FIRST_TRACKS
    try:
        spec.FIRST_TRACKS = ("Replace", "Strip", "Prepend")
        _refused(tmp_path, data, "prepend_scheme first after the normalizer 'Precompiled'")
    finally:
        spec.FIRST_TRACKS = tracks
