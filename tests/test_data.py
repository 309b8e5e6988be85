"""The shipped data is what tests/data/PROVENANCE.md says it is: every file's sha256 matches SHA256SUMS."""

from __future__ import annotations

import hashlib

from .helpers import DATA, gooaq_queries, pep_documents, pep_paragraphs, stsb_pairs


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
