"""Make ``fastembed_static/_normalization_tables.py``: how HF ``tokenizers``' Unicode normalizers (``NFC``, ``NFD``,
``NFKC``, ``NFKD``, ``StripAccents``, ``Nmt``; ``Lowercase`` is ``_char_tables.LOWER_MAP``) differ from Python's
``unicodedata``, probed from the installed ``tokenizers``.

``tokenizers`` normalizes with the ``unicode-normalization-alignments`` crate, whose Unicode tables are older than
those of Python's ``unicodedata``: code points assigned since then are, to the crate, starters (canonical combining
class 0) with no decomposition that compose with nothing. This script finds every code point on which the two
disagree, per form (alone; next to marks of every combining class, in both orders; every pair of Python's
canonical composition table; the Hangul syllables), checks that each of them is inert to ``tokenizers`` (left as
it is, never reordered, never composed, and the text around it normalized as if it were cut there), and checks the
runtime rule that follows on whole strings: cut the text around these code points, normalize the pieces between
them with ``unicodedata``, keep the code points as they are. It also probes ``StripAccents`` (the characters it
deletes: the crate's ``is_combining_mark``), ``Nmt`` (deleted and space-mapped characters) and checks that
``Lowercase`` is ``_char_tables.LOWER_MAP`` character by character.

    python gen/make_normalization_tables.py [--out PATH] [--check]

``--check`` regenerates in memory and exits 1 if the tables differ from the committed module (a different
tokenizers or Python version with identical tables is reported but is not a failure). Takes about 30 s.

Dev-only: needs ``tokenizers`` (the version pinned in the ``test`` extra). Run as a file or import as
``gen.make_normalization_tables``; no relative imports.
"""

from __future__ import annotations

import argparse
import difflib
import importlib.util
import random
import re
import sys
import textwrap
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import tokenizers
from tokenizers import normalizers

Ranges = tuple[tuple[int, int], ...]
Form = Literal["NFC", "NFD", "NFKC", "NFKD"]

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "fastembed_static" / "_normalization_tables.py"
CHAR_TABLES = REPO / "fastembed_static" / "_char_tables.py"
SCRIPT = "gen/make_normalization_tables.py"
CODE_POINTS: tuple[int, ...] = tuple(cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF)
FORMS: tuple[Form, ...] = ("NFC", "NFD", "NFKC", "NFKD")
PROVENANCE_PREFIXES = ("# Probed from ", "TOKENIZERS_VERSION: ")
LOW = "\u0334"  # COMBINING TILDE OVERLAY, ccc 1: a mark of a higher class before it is moved after it
HIGH = "\u0345"  # COMBINING GREEK YPOGEGRAMMENI, ccc 240: a mark of a lower class after it is moved before it
# Text around a probed code point: starters that compose, marks of several classes, Hangul jamo and syllables.
LEFTS = ("", "a", "e\u0301", "a\u0316\u0301", "\u1100", "\uac00", "\u0301", "\ufb01", "\u0915\u094d", "A\u0334")
RIGHTS = ("", "a", "\u0301", "\u0316\u0301b", "\u1161", "\u11a8", "\u0334", "\u0345", "\u093c", "\u0301\u0345")


class ProbeError(AssertionError):
    """tokenizers did something the tables cannot express."""


def _name(cp: int) -> str:
    return f"U+{cp:04X} {unicodedata.name(chr(cp), '<unnamed>')}"


@dataclass(frozen=True)
class Tables:
    tokenizers_version: str
    unicode_version: str  # Python's unicodedata.unidata_version, which the split sets are relative to
    split: dict[str, Ranges]  # per form: the code points to cut the text around
    combining_marks: Ranges  # StripAccents deletes these
    nmt_remove: Ranges
    nmt_space: Ranges
    lower_differs: Ranges  # where str.lower() of the character alone is not tokenizers' Lowercase (and Σ)
    assigned: Ranges  # the code points unicodedata (of UNICODE_VERSION) assigns: a later Python's newer ones are known
    counts: dict[str, int]  # per probe, how many code points differ (printed and written in the docstring)


def to_ranges(cps: Iterable[int]) -> Ranges:
    """Sorted, merged (start, end_inclusive) ranges; surrogates count as members, so ranges span them."""
    ranges: list[tuple[int, int]] = []
    for cp in sorted(set(cps)):
        if ranges and (cp == ranges[-1][1] + 1 or (ranges[-1][1] == 0xD7FF and cp == 0xE000)):
            ranges[-1] = (ranges[-1][0], cp)
        else:
            ranges.append((cp, cp))
    return tuple(ranges)


def expand_ranges(ranges: Ranges) -> set[int]:
    return {cp for start, end in ranges for cp in range(start, end + 1) if not 0xD800 <= cp <= 0xDFFF}


def hf_forms() -> dict[str, Callable[[str], str]]:
    return {form: getattr(normalizers, form)().normalize_str for form in FORMS}


def _canonical_pairs() -> list[tuple[int, str]]:
    """Every code point whose canonical decomposition (one level) is two characters, with those two."""
    pairs = []
    for cp in CODE_POINTS:
        decomposition = unicodedata.decomposition(chr(cp))
        if decomposition and not decomposition.startswith("<"):
            parts = decomposition.split()
            if len(parts) == 2:
                pairs.append((cp, "".join(chr(int(p, 16)) for p in parts)))
    return pairs


def probe_differences() -> tuple[dict[str, set[int]], dict[str, int]]:
    """Per form, every code point on which tokenizers and unicodedata disagree (alone, beside marks of every
    combining class, or in a canonical composition pair)."""
    hf = hf_forms()
    counts: dict[str, int] = {}
    differ: dict[str, set[int]] = {form: set() for form in FORMS}
    for form in FORMS:
        alone = {cp for cp in CODE_POINTS if hf[form](chr(cp)) != unicodedata.normalize(form, chr(cp))}
        counts[f"{form} alone"] = len(alone)
        differ[form] |= alone
    # Combining classes: first zero / non-zero (against LOW and HIGH, for every code point), then the exact class
    # (against a mark of every class that both know, for the code points with a class in unicodedata).
    classes: set[int] = set()
    nfd = hf["NFD"]
    for cp in CODE_POINTS:
        ch = chr(cp)
        for text in ("a" + ch + LOW, "a" + HIGH + ch):
            if nfd(text) != unicodedata.normalize("NFD", text):
                classes.add(cp)
    representatives: dict[int, str] = {}
    for cp in CODE_POINTS:
        ccc = unicodedata.combining(chr(cp))
        if ccc and ccc not in representatives and cp not in classes:
            representatives[ccc] = chr(cp)
    for cp in CODE_POINTS:
        ch = chr(cp)
        if not unicodedata.combining(ch) or cp in classes:
            continue
        for mark in representatives.values():
            for text in ("a" + ch + mark, "a" + mark + ch):
                if nfd(text) != unicodedata.normalize("NFD", text):
                    classes.add(cp)
    counts["combining class"] = len(classes)
    for form in FORMS:
        differ[form] |= classes
    # Compositions: every canonical pair of unicodedata, and the Hangul syllables.
    composed: set[int] = set()
    for cp, pair in _canonical_pairs():
        for form in FORMS[::2]:  # NFC, NFKC
            if hf[form](pair) != unicodedata.normalize(form, pair):
                composed.update((cp, *map(ord, pair)))
    for text in _hangul_texts():
        for form in FORMS:
            if hf[form](text) != unicodedata.normalize(form, text):
                raise ProbeError(f"Hangul {ascii(text)}: {form} differs")
    counts["composition"] = len(composed)
    for form in ("NFC", "NFKC"):
        differ[form] |= composed
    return differ, counts


def _hangul_texts() -> list[str]:
    leads = [chr(c) for c in range(0x1100, 0x1113)]
    vowels = [chr(c) for c in range(0x1161, 0x1176)]
    tails = [chr(c) for c in range(0x11A8, 0x11C3)]
    texts = [lead + vowel for lead in leads for vowel in vowels]
    texts += [chr(s) + tail for s in range(0xAC00, 0xD7A4, 28) for tail in tails]
    texts += [chr(s) for s in range(0xAC00, 0xD7A4)]
    return texts


def check_inert(cps: set[int]) -> None:
    """Each code point is inert to tokenizers: unchanged by every form, and the text around it normalizes as if it
    were cut there (so nothing reorders or composes across it)."""
    hf = hf_forms()
    for cp in sorted(cps):
        ch = chr(cp)
        for form, normalize in hf.items():
            if normalize(ch) != ch:
                raise ProbeError(f"{_name(cp)}: tokenizers' {form} changes it ({ascii(normalize(ch))})")
            for left in LEFTS:
                for right in RIGHTS:
                    if normalize(left + ch + right) != normalize(left) + ch + normalize(right):
                        raise ProbeError(
                            f"{_name(cp)} between {ascii(left)} and {ascii(right)}: {form} is not cut there"
                        )


def split_normalize(form: Form, text: str, pattern: re.Pattern[str]) -> str:
    """The runtime rule: unicodedata on the pieces between the split code points, which stay as they are."""
    parts = pattern.split(text)
    return "".join(unicodedata.normalize(form, p) if i % 2 == 0 else p for i, p in enumerate(parts))


def _class(ranges: Ranges) -> str:
    def esc(cp: int) -> str:
        return f"\\U{cp:08x}"

    return "".join(esc(a) if a == b else f"{esc(a)}-{esc(b)}" for a, b in ranges)


def check_whole_strings(split: dict[str, Ranges]) -> None:
    """The split rule against tokenizers on whole strings: every code point in order and shuffled, and random
    strings dense in the split code points, marks, composing starters and Hangul."""
    hf = hf_forms()
    order = list(CODE_POINTS)
    texts = ["".join(map(chr, order))]
    random.Random(0).shuffle(order)
    texts.append("".join(map(chr, order)))
    every = set().union(*(expand_ranges(r) for r in split.values()))
    marks = [cp for cp in CODE_POINTS if unicodedata.combining(chr(cp))]
    starters = sorted({ord(pair[0]) for _, pair in _canonical_pairs()})
    pool = [chr(cp) for cp in sorted(every)] + [chr(cp) for cp in marks[::3]] + [chr(cp) for cp in starters[::5]]
    pool += list("aeiouAE가각\u1100\u1161\u11a8 \ufb01\u00e9\u0958")
    rng = random.Random(1)
    texts += ["".join(rng.choices(pool, k=rng.randint(1, 14))) for _ in range(30000)]
    for form in FORMS:
        pattern = re.compile(f"([{_class(split[form])}]+)") if split[form] else re.compile("(?!)")
        for text in texts:
            if hf[form](text) != split_normalize(form, text, pattern):
                raise ProbeError(f"{form} on {ascii(text[:40])}: the split rule does not explain tokenizers' result")


def python_inert(form: Form, cp: int, composing: set[int]) -> bool:
    """unicodedata leaves the code point alone under ``form`` and nothing reorders or composes with it: cutting the
    text around it changes nothing on the Python side either, so it need not be cut."""
    ch = chr(cp)
    if unicodedata.normalize(form, ch) != ch or unicodedata.combining(ch):
        return False
    return not (form in ("NFC", "NFKC") and cp in composing)


def probe_strip_accents() -> Ranges:
    strip = normalizers.StripAccents().normalize_str
    deleted = []
    for cp in CODE_POINTS:
        out = strip(chr(cp))
        if out == "":
            deleted.append(cp)
        elif out != chr(cp):
            raise ProbeError(f"StripAccents maps {_name(cp)} to {ascii(out)}")
    marks = set(deleted)
    text = "".join(map(chr, CODE_POINTS))
    if strip(text) != "".join(c for c in text if ord(c) not in marks):
        raise ProbeError("StripAccents on a whole string differs from its characters one by one")
    return to_ranges(deleted)


def probe_nmt() -> tuple[Ranges, Ranges]:
    nmt = normalizers.Nmt().normalize_str
    remove, space = [], []
    for cp in CODE_POINTS:
        out = nmt(chr(cp))
        if out == "":
            remove.append(cp)
        elif out == " " and cp != 0x20:
            space.append(cp)
        elif out != chr(cp):
            raise ProbeError(f"Nmt maps {_name(cp)} to {ascii(out)}")
    table: dict[int, str | None] = {cp: None for cp in remove} | {cp: " " for cp in space}
    text = "".join(map(chr, CODE_POINTS))
    if nmt(text) != text.translate(table):
        raise ProbeError("Nmt on a whole string differs from its characters one by one")
    return to_ranges(remove), to_ranges(space)


def check_lowercase() -> Ranges:
    """tokenizers' Lowercase is _char_tables.LOWER_MAP (probed there from BertNormalizer's lowercase), per
    character and on a whole string. Returns the code points where Python's ``str.lower`` of the character alone
    differs from it, and U+03A3 (``str.lower`` makes a final capital sigma ς, tokenizers σ): text without them
    lowercases as ``str.lower`` does."""
    spec = importlib.util.spec_from_file_location("_char_tables_for_lowercase", CHAR_TABLES)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    lower_map: dict[int, str] = module.LOWER_MAP
    lower = normalizers.Lowercase().normalize_str
    for cp in CODE_POINTS:
        if lower(chr(cp)) != lower_map.get(cp, chr(cp)):
            raise ProbeError(f"Lowercase of {_name(cp)} is {ascii(lower(chr(cp)))}, not LOWER_MAP's")
    text = "".join(map(chr, CODE_POINTS))
    if lower(text) != text.translate(lower_map):
        raise ProbeError("Lowercase on a whole string differs from LOWER_MAP")
    differs = {cp for cp in CODE_POINTS if chr(cp).lower() != lower_map.get(cp, chr(cp))} | {0x03A3}
    ranges = to_ranges(differs)
    rng = random.Random(2)
    chars = [chr(cp) for cp in CODE_POINTS if cp not in differs]
    for _ in range(20000):  # texts without them: str.lower is tokenizers' Lowercase
        sample = "".join(rng.choices(chars, k=rng.randint(1, 20)))
        if sample.lower() != lower(sample):
            raise ProbeError(f"str.lower differs from Lowercase on {ascii(sample)}")
    return ranges


def _timed(name: str, start: float) -> None:
    print(f"  {name}: {time.perf_counter() - start:.1f} s", file=sys.stderr)


def probe() -> Tables:
    start = time.perf_counter()
    differ, counts = probe_differences()
    _timed("differences", start)
    every = set().union(*differ.values())
    check_inert(every)
    _timed("inert", start)
    composing = {ord(c) for _, pair in _canonical_pairs() for c in pair} | {cp for cp, _ in _canonical_pairs()}
    split: dict[str, Ranges] = {
        form: to_ranges(cp for cp in differ[form] if not python_inert(form, cp, composing)) for form in FORMS
    }
    check_whole_strings(split)
    _timed("whole strings", start)
    marks = probe_strip_accents()
    nmt_remove, nmt_space = probe_nmt()
    lower_differs = check_lowercase()
    _timed("StripAccents, Nmt, Lowercase", start)
    for form in FORMS:
        counts[f"{form} split"] = len(expand_ranges(split[form]))
    return Tables(
        tokenizers_version=tokenizers.__version__,
        unicode_version=unicodedata.unidata_version,
        split=split,
        combining_marks=marks,
        nmt_remove=nmt_remove,
        nmt_space=nmt_space,
        lower_differs=lower_differs,
        assigned=to_ranges(cp for cp in CODE_POINTS if unicodedata.category(chr(cp)) != "Cn"),
        counts=counts,
    )


# --- rendering -----------------------------------------------------------------------------------------------

WIDTH = 116
RANGES_TYPE = "Final[tuple[tuple[int, int], ...]]"


def _wrap(items: Iterable[str], indent: str = "    ") -> list[str]:
    lines: list[str] = []
    line = ""
    for item in items:
        if line and len(indent) + len(line) + 1 + len(item) > WIDTH:
            lines.append(indent + line)
            line = ""
        line = f"{line} {item}" if line else item
    if line:
        lines.append(indent + line)
    return lines


def _render_ranges(name: str, ranges: Ranges) -> list[str]:
    items = (f"(0x{a:04X}, 0x{b:04X})," for a, b in ranges)
    return [f"{name}: {RANGES_TYPE} = (", *_wrap(items), ")", ""]


def render(tables: Tables) -> str:
    python = f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}"
    counts = "\n".join(textwrap.wrap(", ".join(f"{name} {n}" for name, n in tables.counts.items()) + ".", WIDTH))
    doc = f'''"""How HF ``tokenizers``' Unicode normalizers differ from Python's ``unicodedata`` (used by
:mod:`fastembed_static._unicode_forms`).

``tokenizers`` normalizes (NFC, NFD, NFKC, NFKD) with older Unicode tables than ``unicodedata``
{tables.unicode_version}: to it, the code points assigned since are starters with no decomposition that compose
with nothing. SPLIT_<form> lists, per form, the code points where the two disagree and ``unicodedata`` would not
leave the text around them alone; ``tokenizers`` normalizes the text around each of them as if it were cut there.
So a form is exact as: ``unicodedata.normalize`` on the pieces between SPLIT code points, which stay as they are
(checked by the generator on every code point alone, beside marks of every combining class, on every canonical
composition pair, on all code points in one string and on random strings). Probed differences (code points):
{counts}

COMBINING_MARKS: what ``StripAccents`` deletes (the crate's ``is_combining_mark``), character by character.
NMT_REMOVE / NMT_SPACE: what ``Nmt`` deletes / makes a space. ``Lowercase`` is ``_char_tables.LOWER_MAP``
(checked by the generator); LOWER_DIFFERS: where Python's ``str.lower`` of the character alone differs from it,
and U+03A3 (``str.lower``'s final sigma rule), so text without them lowercases as ``str.lower`` does. ASSIGNED: the code points ``unicodedata`` {tables.unicode_version} assigns (on a Python
with newer Unicode data, the code points assigned since are unknown to ``tokenizers`` too, and are cut around
where that Python would not leave them alone). Ranges are sorted ``(start, end_inclusive)`` pairs.
"""'''
    lines = [
        f"# GENERATED by {SCRIPT} from the installed HF tokenizers -- DO NOT EDIT.",
        f"# Probed from tokenizers=={tables.tokenizers_version} on Python {python}.",
        f"# Regenerate: python {SCRIPT}    Check: python {SCRIPT} --check",
        doc,
        "",
        "from typing import Final",
        "",
        f"TOKENIZERS_VERSION: Final[str] = {tables.tokenizers_version!r}",
        f"UNICODE_VERSION: Final[str] = {tables.unicode_version!r}  # unicodedata's: the SPLIT sets are relative to it",
        "",
    ]
    for form in FORMS:
        lines += _render_ranges(f"SPLIT_{form}", tables.split[form])
    lines += _render_ranges("COMBINING_MARKS", tables.combining_marks)
    lines += _render_ranges("NMT_REMOVE", tables.nmt_remove)
    lines += _render_ranges("NMT_SPACE", tables.nmt_space)
    lines += _render_ranges("LOWER_DIFFERS", tables.lower_differs)
    lines += _render_ranges("ASSIGNED", tables.assigned)
    return "\n".join(lines).rstrip("\n") + "\n"


def render_module(tables: Tables | None = None) -> str:
    """The text of ``fastembed_static/_normalization_tables.py`` for the installed tokenizers (probes unless given
    ``tables``)."""
    return render(tables if tables is not None else probe())


def tables_lines(module_text: str) -> list[str]:
    return [line for line in module_text.splitlines() if not line.startswith(PROVENANCE_PREFIXES)]


def check(path: Path, fresh: str) -> int:
    committed = path.read_text(encoding="utf-8") if path.is_file() else ""
    if committed == fresh:
        print(f"{path} is up to date")
        return 0
    diff = list(difflib.unified_diff(tables_lines(committed), tables_lines(fresh), "committed", "probed", lineterm=""))
    if not diff:
        print(f"{path}: the tables agree; only the tokenizers/Python versions in the header differ")
        return 0
    print(f"{path} disagrees with the installed tokenizers=={tokenizers.__version__}:")
    print("\n".join(diff[:60]))
    print(f"Regenerate with: python {SCRIPT}")
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the module to write or check")
    parser.add_argument("--check", action="store_true", help="compare with --out instead of writing it")
    args = parser.parse_args(argv)
    print(f"probing tokenizers=={tokenizers.__version__} ...", file=sys.stderr)
    tables = probe()
    for name, n in tables.counts.items():
        print(f"  {name}: {n} code points", file=sys.stderr)
    print(f"  COMBINING_MARKS: {len(expand_ranges(tables.combining_marks))} code points", file=sys.stderr)
    print(f"  LOWER_DIFFERS: {len(expand_ranges(tables.lower_differs))} code points", file=sys.stderr)
    text = render(tables)
    if args.check:
        return check(args.out, text)
    args.out.write_text(text, encoding="utf-8", newline="\n")
    print(f"wrote {args.out} ({len(text.encode())} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
