"""The Unicode normalizers of ``fastembed_static/_unicode_forms.py`` against the installed HF ``tokenizers`` on any
Python (its ``unicodedata`` may be older or newer than the one the tables were probed against): every named step on
every code point alone and in runs of 16, on texts built for canonical reordering and composition, on the
multilingual test text and on random mark-dense strings. Needs only ``tokenizers`` (no numpy, no build): the three
modules are loaded from this source tree into a throwaway package.

    python ci/unicode_forms_check.py        # e.g. with a Python 3.10 / 3.12 / 3.13 venv holding tokenizers==0.23.3

Prints one line per step and text set and exits 1 if any text differs.
"""

from __future__ import annotations

import json
import lzma
import random
import shutil
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODULES = ("_char_tables.py", "_normalization_tables.py", "_unicode_forms.py")


def main() -> int:
    from tokenizers import __version__, normalizers

    with tempfile.TemporaryDirectory() as tmp:
        package = Path(tmp) / "fastembed_static"
        package.mkdir()
        (package / "__init__.py").write_text("", encoding="utf-8")
        for name in MODULES:
            shutil.copy(REPO / "fastembed_static" / name, package / name)
        sys.path.insert(0, tmp)
        from fastembed_static import _unicode_forms as forms

        print(f"Python {sys.version.split()[0]}, unicodedata {unicodedata.unidata_version}, tokenizers {__version__}")
        start = time.perf_counter()
        newer = {form: len(forms._newer_code_points(form)) for form in forms.FORMS}
        print(f"code points newer than the tables' Unicode: {newer} ({time.perf_counter() - start:.2f} s)")
        chars = [chr(cp) for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF]
        marks: dict[int, str] = {}
        for c in chars:
            if unicodedata.combining(c):
                marks.setdefault(unicodedata.combining(c), c)
        reorder: list[str] = []
        for c in chars:
            decomposition = unicodedata.decomposition(c)
            if unicodedata.combining(c) or decomposition:
                for mark in marks.values():
                    reorder += ["a" + c + mark, "e" + mark + c, c + mark + "\u0301"]
            if decomposition and not decomposition.startswith("<"):
                parts = "".join(chr(int(h, 16)) for h in decomposition.split())
                reorder += [parts, parts[0] + "\u0316" + parts[1:], parts + "\u0301"]
        with lzma.open(REPO / "tests" / "data" / "multilingual.jsonl.xz", "rt", encoding="utf-8") as f:
            multilingual = [json.loads(line)["text"] for line in f]
        rng = random.Random(1)
        pool = [c for c in chars if unicodedata.combining(c) or unicodedata.decomposition(c)][::2] + list("ae가가")
        sets = {
            "alone": chars,
            "runs of 16": ["".join(chars[i : i + 16]) for i in range(0, len(chars), 16)],
            "reordering and composition": reorder,
            "multilingual": multilingual,
            "random": ["".join(rng.choices(pool, k=rng.randint(1, 12))) for _ in range(50000)],
        }
        failed = 0
        for name in forms.NAMED_STEPS:
            hf = getattr(normalizers, name)().normalize_str
            mine = forms.named_step(name)
            for label, texts in sets.items():
                wrong = [t for t in texts if mine(t) != hf(t)]
                failed += len(wrong)
                first = f", first {ascii(wrong[0][:20])}" if wrong else ""
                print(f"{name:12} {label:27} {len(texts):>8} texts, {len(wrong)} differ{first}")
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
