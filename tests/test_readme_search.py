"""The README's "Search" example runs as printed: its code block, executed by the installed Python in a temporary
folder holding PEPs as docs/*.txt."""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np

from .helpers import PEPS, REPO


def _search_example() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Search\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert blocks, "the Search section has a python example"
    return str(blocks[0])


def test_readme_search_example_runs(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    with tarfile.open(PEPS, "r:xz") as archive:
        for member in archive.getmembers():
            if member.isfile() and member.name.endswith(".rst"):
                data = archive.extractfile(member).read()  # type: ignore[union-attr]
                (docs / Path(member.name).with_suffix(".txt").name).write_bytes(data)
    assert len(list(docs.glob("*.txt"))) > 700
    result = subprocess.run(
        [sys.executable, "-c", _search_example()], cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3, result.stdout
    scores = []
    for line in lines:
        match = re.fullmatch(r"(0\.\d{3})  (pep-\d{4}\.txt): '.*'", line)
        assert match, line
        scores.append(float(match.group(1)))
    assert scores == sorted(scores, reverse=True)
    saved = np.load(tmp_path / "corpus.npy", mmap_mode="r")
    assert saved.dtype == np.float32 and saved.shape[1] == 256 and saved.shape[0] > 10000
