"""Make ``fastembed_static/_char_tables.py``: per-code-point tables probed from the installed HF ``tokenizers``.

HF ``tokenizers`` classifies characters with its own, partly old, Unicode tables (general categories from the
``unicode_categories`` crate, NFD from ``unicode-normalization-alignments``, case and whitespace from Rust's
``std``), so Python's ``unicodedata`` disagrees with it on many code points. Instead of re-deriving its rules this
script asks it: it runs ``BertNormalizer`` (one option at a time) and ``BertPreTokenizer`` on every code point
0..0x10FFFF except the surrogates, checks that each option does only what it is expected to do (and that whole
strings behave like the concatenation of single characters, up to the canonical reordering described in the
generated module), and writes the results as range-compressed tables.

    python gen/make_char_tables.py [--out PATH] [--check]

``--check`` regenerates in memory and exits 1 with a diff summary if the tables in the committed module differ
(a different tokenizers or Python version alone, with identical tables, is reported but is not a failure).
Takes about 20 s.

Dev-only: needs ``tokenizers`` (the version pinned in the ``test`` extra). Run as a file or import as
``gen.make_char_tables``; no relative imports.
"""

from __future__ import annotations

import argparse
import difflib
import random
import sys
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import tokenizers
from tokenizers.normalizers import BertNormalizer
from tokenizers.pre_tokenizers import BertPreTokenizer

Ranges = tuple[tuple[int, int], ...]
Runs = tuple[tuple[int, int, int, str], ...]

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "fastembed_static" / "_char_tables.py"
SCRIPT = "gen/make_char_tables.py"
CODE_POINTS: tuple[int, ...] = tuple(cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF)
# Lines of the generated module that name the versions used; --check compares everything else.
PROVENANCE_PREFIXES = ("# Probed from ", "TOKENIZERS_VERSION: ")
# Two marks that HF's NFD reorders (canonical combining classes 7 and 230) and strip_accents keeps; the probes
# for combining classes put a candidate next to them.
LOW_MARK = "\U00011446"  # NEWA SIGN NUKTA, ccc 7
HIGH_MARK = "\U0001e000"  # COMBINING GLAGOLITIC LETTER AZU, ccc 230
# Two kept marks with classes 226 and 216: between them, a deleted character either lets them be reordered
# (it decomposes to marks only) or ends the run (it is or contains a starter, ccc 0).
RUN_HIGH = "\U0001d16d"  # MUSICAL SYMBOL COMBINING AUGMENTATION DOT, ccc 226
RUN_LOW = "\U0001d165"  # MUSICAL SYMBOL COMBINING STEM, ccc 216
MIN_RUN = 4  # shortest arithmetic run of a map worth writing as a run


class ProbeError(AssertionError):
    """tokenizers did something the tables cannot express."""


def _fail(what: str, cp: int, got: object) -> ProbeError:
    return ProbeError(f"{what}: U+{cp:04X} {unicodedata.name(chr(cp), '<unnamed>')} gave {got!r}")


@dataclass(frozen=True)
class Tables:
    tokenizers_version: str
    clean_remove: Ranges
    clean_to_space: Ranges
    chinese: Ranges
    strip_delete: Ranges
    strip_map: dict[int, str]
    lower_map: dict[int, str]
    pretok_whitespace: Ranges
    pretok_punct: Ranges
    reorder_marks: Ranges
    reorder_ccc: dict[int, int]
    strip_delete_starters: Ranges
    # Printed, not written (it depends on the Python version's Unicode data): how many characters kept by
    # strip_accents have a non-zero unicodedata.combining, a superset of what HF's older NFD reorders.
    python_combining_survivors: int


# --- ranges --------------------------------------------------------------------------------------------------


def to_ranges(cps: Iterable[int]) -> Ranges:
    """Sorted, merged (start, end_inclusive) ranges. Surrogates count as members, so ranges span them."""
    ranges: list[tuple[int, int]] = []
    for cp in sorted(cps):
        if ranges and (cp == ranges[-1][1] + 1 or (ranges[-1][1] == 0xD7FF and cp == 0xE000)):
            ranges[-1] = (ranges[-1][0], cp)
        else:
            ranges.append((cp, cp))
    return tuple(ranges)


def expand_ranges(ranges: Ranges) -> set[int]:
    """The code points of ``ranges``."""
    return {cp for start, end in ranges for cp in range(start, end + 1) if not 0xD800 <= cp <= 0xDFFF}


# --- probing -------------------------------------------------------------------------------------------------


def _normalizer(clean: bool = False, chinese: bool = False, strip: bool = False, lower: bool = False) -> BertNormalizer:
    return BertNormalizer(clean_text=clean, handle_chinese_chars=chinese, strip_accents=strip, lowercase=lower)


def _per_char(normalize: Callable[[str], str]) -> list[str]:
    return [normalize(chr(cp)) for cp in CODE_POINTS]


def _check_context(name: str, normalize: Callable[[str], str], outputs: list[str]) -> None:
    """A whole string must normalize to the concatenation of its characters' outputs (all code points in order,
    then shuffled)."""
    in_order = list(range(len(CODE_POINTS)))
    shuffled = in_order.copy()
    random.Random(0).shuffle(shuffled)
    for order in (in_order, shuffled):
        text = "".join(chr(CODE_POINTS[i]) for i in order)
        if normalize(text) != "".join(outputs[i] for i in order):
            raise ProbeError(f"{name}: normalizing a whole string differs from normalizing its characters")


def probe_clean_text() -> tuple[Ranges, Ranges]:
    normalize = _normalizer(clean=True).normalize_str
    outputs = _per_char(normalize)
    remove, space = [], []
    for cp, out in zip(CODE_POINTS, outputs):
        if out == "":
            remove.append(cp)
        elif out == " ":
            space.append(cp)
        elif out != chr(cp):
            raise _fail("clean_text maps a character to something other than itself, ' ' or ''", cp, out)
    _check_context("clean_text", normalize, outputs)
    return to_ranges(remove), to_ranges(space)


def probe_chinese() -> Ranges:
    normalize = _normalizer(chinese=True).normalize_str
    outputs = _per_char(normalize)
    chinese = []
    for cp, out in zip(CODE_POINTS, outputs):
        if out == f" {chr(cp)} ":
            chinese.append(cp)
        elif out != chr(cp):
            raise _fail("handle_chinese_chars does more than pad with spaces", cp, out)
    _check_context("handle_chinese_chars", normalize, outputs)
    return to_ranges(chinese)


def probe_strip() -> tuple[Ranges, dict[int, str]]:
    """Per character only; the whole-string behaviour (canonical reordering) is checked in probe_reordering."""
    outputs = _per_char(_normalizer(strip=True).normalize_str)
    delete = [cp for cp, out in zip(CODE_POINTS, outputs) if out == ""]
    mapping = {cp: out for cp, out in zip(CODE_POINTS, outputs) if out not in ("", chr(cp))}
    return to_ranges(delete), mapping


def probe_lowercase() -> dict[int, str]:
    normalize = _normalizer(lower=True).normalize_str
    outputs = _per_char(normalize)
    mapping = {}
    for cp, out in zip(CODE_POINTS, outputs):
        if out == "":
            raise _fail("lowercase deletes a character", cp, out)
        if out != chr(cp):
            mapping[cp] = out
    _check_context("lowercase", normalize, outputs)
    return mapping


def _pieces(pre: BertPreTokenizer, text: str) -> list[str]:
    return [piece for piece, _ in pre.pre_tokenize_str(text)]


def probe_pretokenizer() -> tuple[Ranges, Ranges]:
    pre = BertPreTokenizer()
    whitespace, punct = [], []
    kinds: dict[int, str] = {}
    for cp in CODE_POINTS:
        c = chr(cp)
        first, second = _pieces(pre, "a" + c + "b"), _pieces(pre, "1" + c + c + "1")
        if first == ["a", "b"] and second == ["1", "1"]:
            whitespace.append(cp)
            kinds[cp] = "space"
        elif first == ["a", c, "b"] and second == ["1", c, c, "1"]:
            punct.append(cp)
            kinds[cp] = "punct"
        elif first == ["a" + c + "b"] and second == ["1" + c + c + "1"]:
            kinds[cp] = "word"
        else:
            raise _fail("BertPreTokenizer neither keeps, drops nor isolates a character", cp, (first, second))
    # Whole string: all code points in order must split where the per-character kinds say.
    expected, word = [], ""
    for cp in CODE_POINTS:
        if kinds[cp] == "word":
            word += chr(cp)
            continue
        if word:
            expected.append(word)
            word = ""
        if kinds[cp] == "punct":
            expected.append(chr(cp))
    if word:
        expected.append(word)
    if _pieces(pre, "".join(map(chr, CODE_POINTS))) != expected:
        raise ProbeError("BertPreTokenizer splits a whole string differently from its characters")
    return to_ranges(whitespace), to_ranges(punct)


def reorder(chars: Iterable[str | None], ccc: Mapping[int, int]) -> str:
    """Stable-sort by ``ccc`` each maximal run of consecutive characters that have a class in ``ccc``; ``None``
    is an invisible run break (a deleted starter)."""
    out: list[str] = []
    run: list[str] = []
    for ch in chars:
        if ch is not None and ord(ch) in ccc:
            run.append(ch)
            continue
        out.extend(sorted(run, key=lambda c: ccc[ord(c)]))
        run.clear()
        if ch is not None:
            out.append(ch)
    out.extend(sorted(run, key=lambda c: ccc[ord(c)]))
    return "".join(out)


def probe_reordering(
    strip_delete: Ranges, strip_map: dict[int, str], lower_map: dict[int, str], pretok_special: Ranges
) -> tuple[Ranges, dict[int, int], Ranges, int]:
    """strip_accents runs NFD over the whole string, so marks of different characters can be reordered. Find the
    kept characters that NFD reorders (REORDER_MARKS, with their classes) and the deleted characters that end a
    run of them (STRIP_DELETE_STARTERS), and check that this explains every whole-string result."""
    normalize = _normalizer(strip=True).normalize_str
    deleted = expand_ranges(strip_delete)
    kept = {cp for cp in CODE_POINTS if cp not in deleted and cp not in strip_map}
    for out in strip_map.values():
        kept.update(map(ord, out))
    python_combining = sum(1 for cp in kept if unicodedata.combining(chr(cp)))

    if normalize("a" + HIGH_MARK + LOW_MARK) != "a" + LOW_MARK + HIGH_MARK:
        raise ProbeError("the reference marks are not reordered")
    # A kept character has a non-zero class iff it is reordered around one of the reference marks.
    marks = sorted(
        cp
        for cp in kept
        if normalize("a" + chr(cp) + LOW_MARK) == "a" + LOW_MARK + chr(cp)
        or normalize("a" + HIGH_MARK + chr(cp)) == "a" + chr(cp) + HIGH_MARK
    )
    ccc = {cp: unicodedata.combining(chr(cp)) for cp in marks}
    for a in marks:  # the classes (Python's values) must explain every pairwise reordering
        for b in marks:
            swapped = normalize("a" + chr(a) + chr(b)) == "a" + chr(b) + chr(a) and a != b
            if swapped != (ccc[a] > ccc[b] > 0):
                raise _fail(f"class of U+{b:04X} (ccc {ccc[b]}) after", a, (ccc[a], "swapped" if swapped else "kept"))

    # Deleted characters between two marks: starters (or decompositions with a starter) end the run.
    starters = [
        cp for cp in sorted(deleted) if normalize("a" + RUN_HIGH + chr(cp) + RUN_LOW) != "a" + RUN_LOW + RUN_HIGH
    ]

    # The rule also assumes that a character's strip output shows its whole decomposition where marks are
    # involved, that lowercase and the pre-tokenizer leave marks alone.
    nfd = tokenizers.normalizers.NFD().normalize_str
    for cp, out in strip_map.items():
        if any(ord(c) in ccc for c in out) and nfd(chr(cp)) != out:
            raise _fail("strip_accents hides part of a decomposition with marks", cp, (out, nfd(chr(cp))))
    special = expand_ranges(pretok_special)
    for cp in marks:
        if cp in lower_map or cp in special or any(cp in map(ord, out) for out in lower_map.values()):
            raise _fail("a reordered mark is lowercased or split by the pre-tokenizer", cp, lower_map.get(cp))

    # Whole strings: all code points in order, then shuffled, then random strings dense in marks.
    starter_set = set(starters)
    per_char = {cp: strip_map.get(cp, "" if cp in deleted else chr(cp)) for cp in CODE_POINTS}

    def expected(text: str) -> str:
        chars: list[str | None] = []
        for c in text:
            chars.extend(per_char[ord(c)] if ord(c) not in starter_set else [None])
        return reorder(chars, ccc)

    order = list(CODE_POINTS)
    texts = ["".join(map(chr, order))]
    random.Random(0).shuffle(order)
    texts.append("".join(map(chr, order)))
    pool = [chr(cp) for cp in marks + starters[:200] + sorted(deleted - starter_set)[:200]]
    pool += [chr(cp) for cp in strip_map if any(ord(c) in ccc for c in strip_map[cp])] + list("aé가 ")
    rng = random.Random(1)
    texts += ["".join(rng.choices(pool, k=rng.randint(1, 12))) for _ in range(20000)]
    for text in texts:
        if normalize(text) != expected(text):
            raise ProbeError(f"strip_accents on {ascii(text[:40])}: the reorder rule does not explain the result")
    return to_ranges(marks), ccc, to_ranges(starters), python_combining


@contextmanager
def _timed(name: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    print(f"  probed {name} in {time.perf_counter() - start:.1f} s", file=sys.stderr)


def probe() -> Tables:
    """Run every probe (about 20 s)."""
    with _timed("clean_text"):
        clean_remove, clean_to_space = probe_clean_text()
    with _timed("handle_chinese_chars"):
        chinese = probe_chinese()
    with _timed("strip_accents"):
        strip_delete, strip_map = probe_strip()
    with _timed("lowercase"):
        lower_map = probe_lowercase()
    with _timed("BertPreTokenizer"):
        pretok_whitespace, pretok_punct = probe_pretokenizer()
    with _timed("canonical reordering"):
        reorder_marks, reorder_ccc, starters, python_combining = probe_reordering(
            strip_delete, strip_map, lower_map, pretok_whitespace + pretok_punct
        )
    return Tables(
        tokenizers_version=tokenizers.__version__,
        clean_remove=clean_remove,
        clean_to_space=clean_to_space,
        chinese=chinese,
        strip_delete=strip_delete,
        strip_map=strip_map,
        lower_map=lower_map,
        pretok_whitespace=pretok_whitespace,
        pretok_punct=pretok_punct,
        reorder_marks=reorder_marks,
        reorder_ccc=reorder_ccc,
        strip_delete_starters=starters,
        python_combining_survivors=python_combining,
    )


# --- rendering -----------------------------------------------------------------------------------------------

WIDTH = 116
RANGES_TYPE = "Final[tuple[tuple[int, int], ...]]"

MODULE_DOC = '''"""Per-code-point behaviour of HF ``tokenizers``' ``BertNormalizer`` and ``BertPreTokenizer``.

Probed (see the header) by running the installed ``tokenizers`` on every code point 0..0x10FFFF except the
surrogates, one normalizer option at a time. Ranges are sorted, disjoint ``(start, end_inclusive)`` pairs (a
range may span the surrogates, which never occur); maps list only characters that change.

BertNormalizer applies its options per character in the order clean_text -> handle_chinese_chars ->
strip_accents -> lowercase:

- CLEAN_REMOVE: clean_text deletes these. CLEAN_TO_SPACE: clean_text makes these " " (U+0020 included); it
  leaves every other character unchanged.
- CHINESE: handle_chinese_chars makes c " c "; it leaves every other character unchanged.
- STRIP_DELETE, STRIP_MAP: strip_accents (NFD, then deletion of nonspacing marks) deletes / replaces these.
- LOWER_MAP: lowercase (per character, so no final-sigma rule) replaces these.

BertPreTokenizer drops PRETOK_WHITESPACE characters (splitting there), isolates PRETOK_PUNCT characters as
one-character pieces, and keeps every other character inside words.

Canonical reordering: strip_accents is NFD of the *whole* string, which stable-sorts every maximal run of
characters with a non-zero canonical combining class (ccc) by class, before nonspacing marks are deleted. The
characters HF's NFD reorders and strip_accents keeps are REORDER_MARKS, with classes REORDER_CCC (spacing marks
such as musical stems, flags and the augmentation dot, the Hangul tone marks U+302E/U+302F and some viramas, and
nonspacing marks too new for HF's category table). So where strip_accents is in effect, per-character results
must be fixed up: stable-sort by REORDER_CCC each maximal run of consecutive REORDER_MARKS characters of the
per-character output, where a run is also ended, invisibly, by each STRIP_DELETE_STARTERS character (a deleted
starter, ccc 0) that clean_text did not remove. Characters that clean_text removes, and the other STRIP_DELETE
characters (deleted marks with a non-zero class), do not end a run. Lowercase and the pre-tokenizer never touch
REORDER_MARKS, so the sort can be applied to the final per-character output. Example: U+1D15F (U+1D158 U+1D165)
then U+1B44 (ccc 9) gives U+1D158 U+1B44 U+1D165. Without strip_accents nothing is reordered.
"""'''


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


def _hex(cp: int) -> str:
    return f"0x{cp:04X}"


def _render_ranges(name: str, ranges: Ranges) -> list[str]:
    items = (f"({_hex(start)}, {_hex(end)})," for start, end in ranges)
    return [f"{name}: {RANGES_TYPE} = (", *_wrap(items), ")", ""]


def compress_map(mapping: Mapping[int, str]) -> tuple[dict[int, str], Runs]:
    """Split a map into explicit entries and arithmetic runs ``(start, end, step, first)``: code point
    ``start + k * step`` (up to ``end``) maps to ``first`` with its last character advanced by ``k * step``."""

    def follows(a: str, b: str, step: int) -> bool:
        return len(a) == len(b) and a[:-1] == b[:-1] and ord(b[-1]) - ord(a[-1]) == step

    explicit: dict[int, str] = {}
    runs: list[tuple[int, int, int, str]] = []
    used: set[int] = set()
    for cp in sorted(mapping):
        if cp in used:
            continue
        best = (cp, 1)
        for step in (1, 2):
            end = cp
            while end + step in mapping and end + step not in used and follows(mapping[end], mapping[end + step], step):
                end += step
            if (end - cp) // step > (best[0] - cp) // best[1]:
                best = (end, step)
        end, step = best
        if (end - cp) // step + 1 >= MIN_RUN:
            runs.append((cp, end, step, mapping[cp]))
            used.update(range(cp, end + 1, step))
        else:
            explicit[cp] = mapping[cp]
    return explicit, tuple(runs)


def expand_map(explicit: Mapping[int, str], runs: Runs) -> dict[int, str]:
    """The inverse of compress_map (the generated module has its own copy, ``_expand``)."""
    table = dict(explicit)
    for start, end, step, first in runs:
        head, last = first[:-1], ord(first[-1])
        for cp in range(start, end + 1, step):
            table[cp] = head + chr(last + cp - start)
    return table


EXPAND_SOURCE = '''def _expand(explicit: dict[int, str], runs: tuple[tuple[int, int, int, str], ...]) -> dict[int, str]:
    """``explicit`` plus arithmetic runs ``(start, end, step, first)``: code point ``start + k * step`` (up to
    ``end``) maps to ``first`` with its last character advanced by ``k * step``."""
    table = dict(explicit)
    for start, end, step, first in runs:
        head, last = first[:-1], ord(first[-1])
        for cp in range(start, end + 1, step):
            table[cp] = head + chr(last + cp - start)
    return table
'''


def _render_map(name: str, mapping: Mapping[int, str]) -> list[str]:
    explicit, runs = compress_map(mapping)
    if expand_map(explicit, runs) != dict(mapping):
        raise AssertionError(f"compress_map is wrong for {name}")
    entries = (f"{_hex(cp)}: {ascii(value)}," for cp, value in explicit.items())
    run_items = (f"({_hex(s)}, {_hex(e)}, {step}, {ascii(first)})," for s, e, step, first in runs)
    return [
        f"{name}: Final[dict[int, str]] = _expand(",
        "    {",
        *_wrap(entries, "        "),
        "    },",
        "    (",
        *_wrap(run_items, "        "),
        "    ),",
        ")",
        "",
    ]


def render(tables: Tables) -> str:
    python = f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}"
    ccc = (f"{_hex(cp)}: {value}," for cp, value in tables.reorder_ccc.items())
    lines = [
        f"# GENERATED by {SCRIPT} from the installed HF tokenizers -- DO NOT EDIT.",
        f"# Probed from tokenizers=={tables.tokenizers_version} on Python {python}.",
        f"# Regenerate: python {SCRIPT}    Check: python {SCRIPT} --check",
        MODULE_DOC,
        "",
        "from typing import Final",
        "",
        "",
        EXPAND_SOURCE,
        "",
        f"TOKENIZERS_VERSION: Final[str] = {tables.tokenizers_version!r}",
        "",
        *_render_ranges("CLEAN_REMOVE", tables.clean_remove),
        *_render_ranges("CLEAN_TO_SPACE", tables.clean_to_space),
        *_render_ranges("CHINESE", tables.chinese),
        *_render_ranges("STRIP_DELETE", tables.strip_delete),
        *_render_map("STRIP_MAP", tables.strip_map),
        *_render_map("LOWER_MAP", tables.lower_map),
        *_render_ranges("PRETOK_WHITESPACE", tables.pretok_whitespace),
        *_render_ranges("PRETOK_PUNCT", tables.pretok_punct),
        *_render_ranges("REORDER_MARKS", tables.reorder_marks),
        "REORDER_CCC: Final[dict[int, int]] = {",
        *_wrap(ccc),
        "}",
        "",
        *_render_ranges("STRIP_DELETE_STARTERS", tables.strip_delete_starters),
    ]
    return "\n".join(lines).rstrip("\n") + "\n"


def render_module(tables: Tables | None = None) -> str:
    """The text of ``fastembed_static/_char_tables.py`` for the installed tokenizers (probes unless given
    ``tables``)."""
    return render(tables if tables is not None else probe())


def tables_lines(module_text: str) -> list[str]:
    """The lines of a generated module without those naming the tokenizers and Python versions."""
    return [line for line in module_text.splitlines() if not line.startswith(PROVENANCE_PREFIXES)]


# --- command line --------------------------------------------------------------------------------------------


def summary(tables: Tables) -> str:
    def count(ranges: Ranges) -> str:
        return f"{len(ranges)} ranges, {len(expand_ranges(ranges))} code points"

    return "\n".join(
        [
            f"  CLEAN_REMOVE: {count(tables.clean_remove)}",
            f"  CLEAN_TO_SPACE: {count(tables.clean_to_space)}",
            f"  CHINESE: {count(tables.chinese)}",
            f"  STRIP_DELETE: {count(tables.strip_delete)}",
            f"  STRIP_MAP: {len(tables.strip_map)} entries",
            f"  LOWER_MAP: {len(tables.lower_map)} entries",
            f"  PRETOK_WHITESPACE: {count(tables.pretok_whitespace)}",
            f"  PRETOK_PUNCT: {count(tables.pretok_punct)}",
            f"  REORDER_MARKS: {count(tables.reorder_marks)} (kept by strip_accents with a non-zero"
            f" unicodedata.combining on this Python: {tables.python_combining_survivors})",
            f"  STRIP_DELETE_STARTERS: {count(tables.strip_delete_starters)}",
        ]
    )


def check(path: Path, fresh: str) -> int:
    committed = path.read_text(encoding="utf-8") if path.is_file() else ""
    if committed == fresh:
        print(f"{path} is up to date")
        return 0
    diff = list(
        difflib.unified_diff(tables_lines(committed), tables_lines(fresh), "committed", "probed", lineterm="", n=0)
    )
    if not diff:
        print(f"{path}: the tables agree; only the tokenizers/Python versions in the header differ")
        return 0
    changed = sum(1 for line in diff if line[:1] in "+-" and not line.startswith(("+++", "---")))
    print(f"{path} disagrees with the installed tokenizers=={tokenizers.__version__}: {changed} changed lines")
    print("\n".join(diff[:60]))
    if len(diff) > 60:
        print(f"... ({len(diff) - 60} more diff lines)")
    print(f"Regenerate with: python {SCRIPT}")
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the module to write or check")
    parser.add_argument("--check", action="store_true", help="compare with --out instead of writing it")
    args = parser.parse_args(argv)
    print(f"probing tokenizers=={tokenizers.__version__} ...", file=sys.stderr)
    tables = probe()
    print(summary(tables), file=sys.stderr)
    text = render(tables)
    if args.check:
        return check(args.out, text)
    args.out.write_text(text, encoding="utf-8", newline="\n")
    print(f"wrote {args.out} ({len(text.encode())} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
