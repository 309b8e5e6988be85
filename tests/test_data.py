"""The shipped data is what tests/data/PROVENANCE.md says it is: every file's sha256 matches SHA256SUMS."""

from __future__ import annotations

import hashlib
import json
import unicodedata

from .helpers import DATA, gooaq_queries, pep_documents, pep_paragraphs, stsb_pairs
from .multilingual import load_multilingual


def test_every_data_file_matches_its_recorded_sha256() -> None:
    lines = (DATA / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    recorded = dict(reversed(line.split("  ", 1)) for line in lines if line.strip())
    shipped = {
        str(p.relative_to(DATA))
        for p in DATA.rglob("*")
        if p.is_file() and p.name not in ("SHA256SUMS", "PROVENANCE.md")
    }
    assert set(recorded) == shipped
    for name, digest in recorded.items():
        assert hashlib.sha256((DATA / name).read_bytes()).hexdigest() == digest, name


def test_the_corpora_have_their_documented_sizes() -> None:
    assert len(gooaq_queries()) == 10_000
    assert len(pep_documents()) == 726
    assert len(pep_paragraphs()) == 79_613
    pairs = stsb_pairs()
    assert len(pairs) == 1_500 and all(0 <= float(p["score"]) <= 5 for p in pairs)  # type: ignore[arg-type]


def test_the_multilingual_text_has_its_languages_and_scripts() -> None:
    texts = load_multilingual()
    sources = json.loads((DATA / "multilingual.sources.json").read_text(encoding="utf-8"))
    assert {lang: len(t) for lang, t in texts.items()} == {
        lang: info["chosen"] for lang, info in sources["languages"].items()
    }
    assert len(texts) >= 20 and sum(map(len, texts.values())) == 48_662
    for lang, lang_texts in texts.items():
        assert len(set(lang_texts)) == len(lang_texts), lang  # deduplicated per language
        assert all(lang_texts), lang
    # each script is really there: a letter of it in most of its language's texts
    scripts = {
        "ru": "CYRILLIC",
        "el": "GREEK",
        "ar": "ARABIC",
        "he": "HEBREW",
        "hi": "DEVANAGARI",
        "th": "THAI",
        "ko": "HANGUL",
        "zh_CN": "CJK UNIFIED",
        "ja": "HIRAGANA",
        "ka": "GEORGIAN",
        "hy": "ARMENIAN",
    }
    for lang, script in scripts.items():
        with_script = sum(any(script in unicodedata.name(c, "") for c in t) for t in texts[lang])
        assert with_script > len(texts[lang]) // 2, (lang, with_script)
    assert sum(any(c in "ąęłńśźżĄĘŁŃŚŹŻ" for c in t) for t in texts["pl"]) > 300
