"""The framework adapters are optional: ``import fastembed_static`` imports no framework, and importing an adapter
without its framework raises an ImportError naming the pip extra (checked in fresh interpreters with the framework
made unimportable, so this runs whether or not the frameworks are installed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ADAPTERS = [  # (adapter module, the framework's top-level package, the pip extra)
    ("langchain", "langchain_core", "langchain"),
    ("llama_index", "llama_index", "llama-index"),
    ("chroma", "chromadb", "chroma"),
    ("haystack", "haystack", "haystack"),
]


def _python(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    # cwd: not this source tree, so the installed package is imported
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)


def test_the_package_imports_no_framework(tmp_path: Path) -> None:
    frameworks = [package for _, package, _ in ADAPTERS]
    run = _python(f"import sys, fastembed_static; print([m for m in {frameworks!r} if m in sys.modules])", tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


@pytest.mark.parametrize(("adapter", "package", "extra"), ADAPTERS)
def test_adapter_without_its_framework_names_the_extra(adapter: str, package: str, extra: str, tmp_path: Path) -> None:
    code = (
        f"import sys; sys.modules[{package!r}] = None\n"
        "try:\n"
        f"    import fastembed_static.{adapter}\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    run = _python(code, tmp_path)
    assert run.returncode == 0, run.stderr
    assert f"pip install 'fastembed-static[{extra}]'" in run.stdout
    assert f"pip install '.[{extra}]'" in run.stdout
    assert f"fastembed_static.{adapter} needs" in run.stdout
