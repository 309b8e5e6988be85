"""The asv suite tells the truth: every value reads lower-is-better, missing data fails instead of skipping,
import benchmarks need no data, the bench model follows the installed generator, and results are filed only under
the commit the installed package was built from. (asv itself runs the suite in ci/asv_smoke.sh.)"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[1]
SUITE = REPO / "asv_bench" / "benchmarks"
PREFIXES = ("time_", "timeraw_", "peakmem_", "mem_", "track_")


def _suite(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """asv_bench/benchmarks imported as the package ``benchmarks`` (as asv imports it), for this test only."""
    spec = importlib.util.spec_from_file_location(
        "benchmarks", SUITE / "__init__.py", submodule_search_locations=[str(SUITE)]
    )
    assert spec is not None and spec.loader is not None
    package = importlib.util.module_from_spec(spec)
    for name in [m for m in sys.modules if m == "benchmarks" or m.startswith("benchmarks.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "benchmarks", package)
    spec.loader.exec_module(package)
    return package


def _benchmarks() -> list[tuple[str, str, ast.FunctionDef, ast.ClassDef]]:
    found = []
    for path in sorted(SUITE.glob("bench_*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef) and item.name.startswith(PREFIXES):
                        found.append((path.name, item.name, item, node))
    return found


def test_every_value_is_lower_is_better() -> None:
    """asv reads every number as lower-is-better: no rates (``.../s``) may be tracked."""
    benchmarks = _benchmarks()
    assert len(benchmarks) >= 20
    for file, name, _function, cls in benchmarks:
        assert "per_second" not in name and "per_s" not in name.split("_")[-2:], (file, name)
        if name.startswith("track_"):
            units = [
                node.value.value
                for node in cls.body
                if isinstance(node, ast.Assign)
                and isinstance(node.targets[0], ast.Attribute)
                and node.targets[0].attr == "unit"
                and isinstance(node.targets[0].value, ast.Name)
                and node.targets[0].value.id == name
                and isinstance(node.value, ast.Constant)
            ]
            assert units, f"{file}: {cls.name}.{name} has no unit"
            assert "/s" not in units[0] and "per second" not in units[0], (name, units[0])


def test_missing_data_fails_instead_of_skipping(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    suite = _suite(monkeypatch)
    common = importlib.import_module("benchmarks.common")
    monkeypatch.setenv("FASTEMBED_STATIC_BENCH_DATA", str(tmp_path))
    monkeypatch.setenv("FASTEMBED_STATIC_BENCH_CACHE", str(tmp_path / "cache"))
    with pytest.raises(FileNotFoundError, match="benchmark data missing") as caught:
        common.texts("short", 10)
    assert not isinstance(caught.value, NotImplementedError)  # NotImplementedError is asv's "skipped"
    startup = importlib.import_module("benchmarks.bench_startup")
    with pytest.raises(FileNotFoundError):
        startup.Startup().setup()
    # The import benchmarks need no data: no setup, and their code runs in a fresh interpreter.
    imports = startup.Import()
    assert not hasattr(imports, "setup")
    for name in ("timeraw_import_numpy", "timeraw_import_fastembed_static", "timeraw_default_model_encode"):
        code = getattr(imports, name)()
        done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, (name, done.stderr[-2000:])
    assert suite.__name__ == "benchmarks"


def test_data_is_found_in_this_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    _suite(monkeypatch)
    common = importlib.import_module("benchmarks.common")
    monkeypatch.delenv("FASTEMBED_STATIC_BENCH_DATA", raising=False)
    assert common.data_dir() == REPO / "tests" / "data"
    queries = common.gooaq_queries()
    assert len(queries) == 10_000 and common.texts("short", 3) == queries[:3]
    assert len(common.pep_documents()) == 726


def test_bench_model_key_follows_the_installed_generator(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A commit that changes the generator gets a new generated model (the key is the installed package's files)."""
    import fastembed_static

    _suite(monkeypatch)
    common = importlib.import_module("benchmarks.common")
    installed = Path(fastembed_static.__file__).parent
    copy = tmp_path / "fastembed_static"
    shutil.copytree(installed, copy, ignore=shutil.ignore_patterns("_models", "__pycache__"))
    monkeypatch.setattr(fastembed_static, "__file__", str(copy / "__init__.py"))
    before = common.package_fingerprint()
    assert common.package_fingerprint() == before
    (copy / "_models").mkdir()
    (copy / "_models" / "bundled.json").write_text("{}")  # bundled models are not the generator
    assert common.package_fingerprint() == before
    generate = copy / "gen" / "generator.py"
    generate.write_text(generate.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    assert common.package_fingerprint() != before


def test_record_installed_refuses_another_commit() -> None:
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    root = subprocess.run(
        ["git", "-C", str(REPO), "rev-list", "--max-parents=0", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.split()[0]
    done = subprocess.run(
        [sys.executable, str(REPO / "asv_bench" / "record_installed.py"), "--commit", root],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"is not commit {root[:12]}" in done.stderr


def test_record_installed_files_results_on_the_commits_graphs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """asv records an existing environment's python as a path; the script records X.Y, as asv-built commits have."""
    import json

    spec = importlib.util.spec_from_file_location("record_installed", REPO / "asv_bench" / "record_installed.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "HERE", tmp_path)
    commit = "0123456789abcdef0123456789abcdef01234567"
    results = tmp_path / ".asv" / "results" / "machine"
    results.mkdir(parents=True)
    params = {"machine": "machine", "python": sys.executable}
    path = results / f"{commit[:8]}-existing-py_some_python.json"
    path.write_text(json.dumps({"params": params, "python": sys.executable, "env_name": "existing-py_some_python"}))
    module.line_up(commit)
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    data = json.loads(path.read_text())
    assert data["params"] == {"machine": "machine", "python": version} and data["python"] == version
    assert data["env_name"] == "existing-py_some_python"  # still says how it was measured
