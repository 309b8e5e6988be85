"""``python asv_bench/compare.py --compare --quick``: it runs, shows every installed peer in both threading
sections, checks agreement before timing, judges every goal and states the machine load.

No timing is asserted: the machine is shared and noisy; the numbers are for people to read.
"""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
COMPARE = REPO / "asv_bench" / "compare.py"


def _installed(dist: str) -> bool:
    try:
        importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def _encode_accepts(name: str) -> bool:
    import inspect

    from fastembed_static import StaticModel

    return name in inspect.signature(StaticModel.encode).parameters


def expected_rows(one_thread: bool) -> list[str]:
    rows = ["fastembed-static", "fastembed-static (tokenize only)", "fastembed-static (pooling only)"]
    if _installed("sentence-transformers"):
        rows.append("sentence-transformers")
    if _installed("model2vec"):
        rows.append("model2vec")
    if _installed("laghu") and _installed("laghu-rs"):
        rows.append("laghu+laghu-rs")
    if _installed("nanotoken"):
        rows.append("nanotoken (tokenize only)")
    if _installed("tokenizers"):
        rows += ["tokenizers+numpy", "HF tokenizers (tokenize only)"]
    if _installed("torch"):
        rows.append("torch EmbeddingBag (pooling only)")
    if one_thread and _encode_accepts("workers"):
        rows += ["fastembed-static workers=1", "fastembed-static workers=2"]
        if _encode_accepts("threads"):
            rows.append("fastembed-static threads=2")
    return rows


def tables(markdown: str, first_header: str) -> list[dict[str, list[str]]]:
    """Every markdown table whose header starts with ``first_header``: its rows by first cell."""
    lines = markdown.splitlines()
    found = []
    for start, line in enumerate(lines):
        if not line.startswith(f"| {first_header}"):
            continue
        rows: dict[str, list[str]] = {}
        for row in lines[start + 2 :]:
            if not row.startswith("|"):
                break
            cells = [c.strip() for c in row.strip("|").split("|")]
            rows[cells[0]] = cells[1:]
        found.append(rows)
    return found


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    workdir = tmp_path_factory.mktemp("compare-work")
    return subprocess.run(
        [sys.executable, str(COMPARE), "--compare", "--quick", "--workdir", str(workdir)],
        cwd=workdir,  # not the source tree: the installed package is measured
        capture_output=True,
        text=True,
        timeout=900,  # a hang guard, not a speed assertion
    )


def test_compare_quick_runs_and_agrees(quick_run: subprocess.CompletedProcess[str]) -> None:
    assert quick_run.returncode == 0, quick_run.stderr[-3000:]
    out = quick_run.stdout
    assert "Agreement check: PASSED" in out
    assert "FAIL" not in out


def test_both_threading_sections_have_every_installed_peer(quick_run: subprocess.CompletedProcess[str]) -> None:
    out = quick_run.stdout
    assert "## dim=1024, one thread" in out and "## dim=1024, each system at its default threading" in out
    speed = tables(out, "system | short texts/s")
    agree = tables(out, "system | texts compared")
    assert len(speed) == len(agree) == 2
    for section, one_thread in ((0, True), (1, False)):
        for name in expected_rows(one_thread):
            assert name in speed[section], f"{name} missing from speed table {section}:\n{out}"
            cells = speed[section][name]
            assert cells[0] not in ("", "–") and cells[1] not in ("", "–"), f"{name} has no throughput: {cells}"
            assert cells[-3].endswith("×"), f"{name} has no ratio: {cells}"
            if name != "fastembed-static":
                assert agree[section][name][-1] == "ok", f"{name} agreement: {agree[section].get(name)}"
        assert speed[section]["fastembed-static"][-5:] == ["1.00×"] * 5


def test_reports_threads_load_and_sections(quick_run: subprocess.CompletedProcess[str]) -> None:
    out = quick_run.stdout
    for section in ("## First pass", "## Cold start", "## Memory", "## Goals", "## Threads, load, versions"):
        assert section in out
    assert "Machine load during the run" in out and "1-minute load average" in out
    assert "laghu-rs threads=1" in out or not _installed("laghu-rs")


def test_goals_section_judges_every_goal(quick_run: subprocess.CompletedProcess[str]) -> None:
    (goals,) = tables(quick_run.stdout, "goal | target")
    assert any(name.startswith("1 thread, 1-text latency: vs laghu+laghu-rs") for name in goals)
    assert any(name.startswith("defaults (") for name in goals)
    assert any(name.startswith("cold start") for name in goals)
    for name, (_target, _measured, verdict) in goals.items():
        assert verdict == "met" or verdict.startswith("missed by") or verdict == "not measured", (name, verdict)
    if _installed("laghu-rs"):
        assert goals["1 thread, long: vs laghu+laghu-rs"][2] != "not measured"


def test_compare_refuses_no_action() -> None:
    done = subprocess.run([sys.executable, str(COMPARE)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "pass --compare" in done.stderr
