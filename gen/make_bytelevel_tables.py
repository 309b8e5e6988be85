"""Make ``fastembed_static/_bytelevel_tables.py``: the character classes of HF ``tokenizers``' ``ByteLevel`` split
regex, probed from the installed ``tokenizers``.

``ByteLevel`` splits with the Oniguruma regex ``'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|
\\s+(?!\\S)|\\s+``. Python's ``re`` has no ``\\p{L}``, and its ``\\s`` is not Oniguruma's (it holds U+001C..U+001F),
and Oniguruma's Unicode tables need not be the version of Python's ``unicodedata``. So this script asks
``tokenizers`` itself, for every code point c (surrogates excepted), which class c is in:

- space (``\\s``) when ``"\\t" + c + "\\t"`` is one piece (a whitespace run at the end),
- letter (``\\p{L}``) when ``"a" + c`` is one piece,
- number (``\\p{N}``) when ``"1" + c`` is one piece,
- other (``[^\\s\\p{L}\\p{N}]``) when ``c + "!"`` is one piece, and a probe error if none of these holds.

It then checks each class's defining behaviour on every code point once more (a letter joins a preceding
``" "``, a space run before a non-space leaves its last character to the next piece, ...).

    python gen/make_bytelevel_tables.py [--out PATH] [--check]

``--check`` regenerates in memory and exits 1 if the committed tables differ. Takes about a minute.
Dev-only: needs ``tokenizers`` (the version pinned in the ``test`` extra). Run as a file; no relative imports.
"""

from __future__ import annotations

import argparse
import sys
import time
import unicodedata
from collections.abc import Callable, Iterable
from pathlib import Path

import tokenizers
from tokenizers.pre_tokenizers import ByteLevel

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "fastembed_static" / "_bytelevel_tables.py"
SCRIPT = "gen/make_bytelevel_tables.py"
PROVENANCE_PREFIXES = ("# Probed from ", "TOKENIZERS_VERSION: ")
Ranges = tuple[tuple[int, int], ...]


class ProbeError(AssertionError):
    """tokenizers did something the tables cannot express."""


def to_ranges(cps: Iterable[int]) -> Ranges:
    """Sorted, merged (start, end_inclusive) ranges; ranges never span the surrogates (a regex class cannot)."""
    ranges: list[tuple[int, int]] = []
    for cp in sorted(cps):
        if ranges and cp == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], cp)
        else:
            ranges.append((cp, cp))
    return tuple(ranges)


def probe() -> dict[str, Ranges]:
    pre = ByteLevel(add_prefix_space=False, use_regex=True)

    def count(text: str) -> int:
        return len(pre.pre_tokenize_str(text))

    classes: dict[str, list[int]] = {"LETTERS": [], "NUMBERS": [], "SPACES": [], "OTHERS": []}
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        if count(c) != 1:
            raise ProbeError(f"U+{cp:04X} alone is not one piece")
        if count("\t" + c + "\t") == 1:
            name = "SPACES"
        elif count("a" + c) == 1:
            name = "LETTERS"
        elif count("1" + c) == 1:
            name = "NUMBERS"
        elif count(c + "!") == 1:
            name = "OTHERS"
        else:
            raise ProbeError(f"U+{cp:04X} is in no class")
        classes[name].append(cp)
    return {name: to_ranges(cps) for name, cps in classes.items()}


def check(tables: dict[str, Ranges]) -> None:
    """Each class's defining behaviour, on every code point (the classes must be a partition)."""
    pre = ByteLevel(add_prefix_space=False, use_regex=True)
    expected: dict[str, Callable[[str], list[str]]] = {
        # " " joins a following letter / number / other run; a space run before a letter keeps its last space
        # for the letter (U+0020) or ends before it (any other space).
        "LETTERS": lambda c: [" " + c + "b"] if c != "b" else [" bb"],
        "NUMBERS": lambda c: [" " + c + "1"],
        "OTHERS": lambda c: [" " + c + "!"],
        "SPACES": lambda c: [" " + c + " "] if c != " " else ["   "],
    }
    suffix = {"LETTERS": "b", "NUMBERS": "1", "OTHERS": "!", "SPACES": " "}
    seen = 0
    for name, ranges in tables.items():
        for start, end in ranges:
            for cp in range(start, end + 1):
                c = chr(cp)
                got = [piece for piece, _ in pre.pre_tokenize_str(" " + c + suffix[name])]
                mapped = [_bytes_chars(p) for p in expected[name](c)]
                if got != mapped:
                    raise ProbeError(f"U+{cp:04X} ({name}): {got!r} != {mapped!r}")
                seen += 1
    if seen != 0x110000 - 0x800:
        raise ProbeError(f"the classes hold {seen} code points, not every non-surrogate one")


def _bytes_chars(text: str) -> str:
    """GPT-2's byte -> printable character mapping applied to ``text``'s UTF-8 bytes (what ByteLevel outputs)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    table = {b: b for b in printable}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = 256 + extra
            extra += 1
    return "".join(chr(table[b]) for b in text.encode("utf-8"))


def render(tables: dict[str, Ranges]) -> str:
    lines = [
        f"# GENERATED by {SCRIPT} from the installed HF tokenizers -- DO NOT EDIT.",
        f"# Probed from tokenizers=={tokenizers.__version__} on Python {sys.version.split()[0]}"
        f" (unicodedata {unicodedata.unidata_version}).",
        f"# Regenerate: python {SCRIPT}    Check: python {SCRIPT} --check",
        '"""Character classes of HF ``tokenizers``\' ``ByteLevel`` split regex, probed per code point.',
        "",
        "``ByteLevel`` splits with ``'s|'t|'re|'ve|'m|'ll|'d| ?\\\\p{L}+| ?\\\\p{N}+| ?[^\\\\s\\\\p{L}\\\\p{N}]+|\\\\s+(?!\\\\S)|"
        "\\\\s+``",
        "(Oniguruma). LETTERS is its ``\\\\p{L}``, NUMBERS its ``\\\\p{N}``, SPACES its ``\\\\s``, OTHERS everything else;",
        "together they cover every code point but the surrogates. Ranges are sorted ``(start, end_inclusive)``.",
        '"""',
        "",
        "from typing import Final",
        "",
        f"TOKENIZERS_VERSION: Final[str] = {tokenizers.__version__!r}",
    ]
    for name in ("LETTERS", "NUMBERS", "SPACES", "OTHERS"):
        lines.append(f"{name}: Final[tuple[tuple[int, int], ...]] = (")
        row: list[str] = []
        for start, end in tables[name]:
            row.append(f"(0x{start:X}, 0x{end:X}),")
            if len(" ".join(row)) > 100:
                lines.append("    " + " ".join(row[:-1]))
                row = row[-1:]
        if row:
            lines.append("    " + " ".join(row))
        lines.append(")")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    started = time.monotonic()
    tables = probe()
    check(tables)
    text = render(tables)
    if args.check:

        def body(s: str) -> list[str]:
            return [line for line in s.splitlines() if not line.startswith(PROVENANCE_PREFIXES)]

        if body(args.out.read_text(encoding="utf-8")) != body(text):
            print(f"{args.out} differs from what tokenizers=={tokenizers.__version__} gives", file=sys.stderr)
            return 1
        print(f"{args.out} matches ({time.monotonic() - started:.0f} s)")
        return 0
    args.out.write_text(text, encoding="utf-8")
    sizes = ", ".join(f"{name} {len(r)} ranges" for name, r in tables.items())
    print(f"wrote {args.out}: {sizes} ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
