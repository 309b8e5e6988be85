"""``python -m fastembed_static.bench --compare --quick``: it runs, shows every installed peer, and they agree.

No timing is asserted: the machine is shared and noisy; the numbers are for people to read.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fastembed_static import bench

from .helpers import SHARED


def _installed(dist: str) -> bool:
    try:
        importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def expected_rows() -> list[str]:
    rows = ["fastembed-static", "fastembed-static (tokenize only)", "fastembed-static (pooling only)"]
    if _installed("sentence-transformers"):
        rows.append("sentence-transformers")
    if _installed("model2vec"):
        rows.append("model2vec")
    if _installed("tokenizers"):
        rows += ["tokenizers+numpy", "HF tokenizers (tokenize only)"]
    if _installed("torch"):
        rows.append("torch EmbeddingBag (pooling only)")
    if bench.encode_accepts("workers"):
        rows += ["fastembed-static workers=1", "fastembed-static workers=2"]
    return rows


def table_rows(markdown: str, first_header: str) -> dict[str, list[str]]:
    """The rows of the first markdown table whose header starts with ``first_header``, by first cell."""
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header}"))
    rows: dict[str, list[str]] = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = cells[1:]
    return rows


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    workdir = tmp_path_factory.mktemp("bench-work")
    env = dict(os.environ, FASTEMBED_STATIC_SHARED=str(SHARED))
    return subprocess.run(
        [sys.executable, "-m", "fastembed_static.bench", "--compare", "--quick", "--workdir", str(workdir)],
        cwd=workdir,  # not the source tree: run the installed package
        env=env,
        capture_output=True,
        text=True,
        timeout=600,  # a hang guard, not a speed assertion
    )


def test_compare_quick_runs_and_agrees(quick_run: subprocess.CompletedProcess[str]) -> None:
    assert quick_run.returncode == 0, quick_run.stderr[-3000:]
    out = quick_run.stdout
    assert "Agreement check: PASSED" in out
    assert "FAIL" not in out


def test_table_has_every_installed_peer(quick_run: subprocess.CompletedProcess[str]) -> None:
    out = quick_run.stdout
    speed = table_rows(out, "system | short texts/s")
    agree = table_rows(out, "system | texts compared")
    for name in expected_rows():
        assert name in speed, f"{name} missing from the speed table:\n{out}"
        cells = speed[name]
        assert cells[0] not in ("", "–") and cells[1] not in ("", "–"), f"{name} has no throughput: {cells}"
        assert cells[-2].endswith("×"), f"{name} has no ratio: {cells}"
        if name != "fastembed-static":
            assert name in agree and agree[name][-1] == "ok", f"{name} agreement: {agree.get(name)}"
    assert speed["fastembed-static"][-4:] == ["1.00×"] * 4
    for section in ("## First pass", "## Cold start", "## Memory", "## Threads, versions"):
        assert section in out
    assert "torch.get_num_threads()" in out and "Machine: " in out


def test_safetensors_writer_round_trips(tmp_path: Path) -> None:
    table = np.arange(12, dtype=np.float32).reshape(3, 4)
    path = tmp_path / "t.safetensors"
    bench.write_safetensors(path, "embeddings", table)
    header_len = int.from_bytes(path.read_bytes()[:8], "little")
    header = json.loads(path.read_bytes()[8 : 8 + header_len])
    assert header["embeddings"] == {"dtype": "F32", "shape": [3, 4], "data_offsets": [0, 48]}
    if _installed("safetensors"):
        from safetensors.numpy import load_file

        np.testing.assert_array_equal(load_file(str(path))["embeddings"], table)


def test_chunks_and_spread() -> None:
    docs = ["a b\nc d e\nf\n", "g"]
    chunks = bench.chunk_documents(docs, lambda line: len(line.split()), 3)
    assert chunks == ["a b\nc d e", "f", "g"]
    assert bench.spread(list("abcdefghij"), 3) == ["a", "d", "g"]
    assert bench.spread(["x"], 5) == ["x"]


def test_goals_section_judges_every_goal(quick_run: subprocess.CompletedProcess[str]) -> None:
    goals = table_rows(quick_run.stdout, "goal | target")
    assert any(name.startswith("1-text latency vs") for name in goals)
    assert any(name.startswith("cold start") for name in goals)
    for name, (_target, _measured, verdict) in goals.items():
        assert verdict == "met" or verdict.startswith("missed by") or verdict == "not measured", (name, verdict)
