"""A Python started in the root of a clone imports the source tree, not the installed package (the current
directory comes first on sys.path; Ray and Spark workers start in the driver's). An unbuilt clone says so, and
what to do; a clone built in place (``pip install -e .``) has its default model generated in the tree and works."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import fastembed_static

from .helpers import source_copy

INSTALLED = Path(fastembed_static.__file__).resolve().parent  # what the tests import: the installed package
PROBE = """
import warnings
warnings.simplefilter("always")
import fastembed_static
print("imported", fastembed_static.__file__, fastembed_static.COMPILED)
model = fastembed_static.StaticModel.default()
print("default", model.path, model.metadata["weights"]["sha256"])
"""


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the repository's source tree, as a fresh clone has it (no generated model, nothing compiled)."""
    return source_copy(tmp_path_factory.mktemp("clone"))


def probe(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", PROBE], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_an_unbuilt_clone_says_what_is_happening(clone: Path) -> None:
    assert not (clone / "fastembed_static" / "_models").exists()
    result = probe(clone)
    assert result.returncode == 1
    assert f"imported {clone / 'fastembed_static' / '__init__.py'} False" in result.stdout
    explanation = (
        f"fastembed_static was imported from the source checkout {clone} (its bundled default model is not "
        f"generated and its tokenizer is not compiled). It hides the installed package in {INSTALLED}: Python "
        "(and every Ray or Spark worker) puts the current directory first on sys.path. Run from another directory, "
        "or build the checkout in place: `pip install -e .`"
    )
    assert f"UserWarning: {explanation}" in result.stderr  # at import
    assert f"ModelFileError: {clone / 'fastembed_static' / '_models' / 'default'}: {explanation}" in result.stderr
    # From anywhere else, the installed package is imported, without a warning.
    elsewhere = probe(clone.parent)
    assert elsewhere.returncode == 0, elsewhere.stderr
    assert f"imported {INSTALLED / '__init__.py'}" in elsewhere.stdout and "Warning" not in elsewhere.stderr


def test_an_editable_install_generates_the_default_model_in_the_tree(tmp_path: Path) -> None:
    """What ``pip install -e .`` runs (the PEP 660 build_editable hook; pip would then install the wheel, replacing
    the package the tests use, so the test stops at the wheel). Pure Python here, as the CI builds are compiled."""
    clone = source_copy(tmp_path / "clone")
    wheels = tmp_path / "wheels"
    env = {**os.environ, "FASTEMBED_STATIC_MYPYC": "0"}
    build = "import sys\nfrom setuptools import build_meta\nprint(build_meta.build_editable(sys.argv[1]))\n"
    result = subprocess.run(
        [sys.executable, "-c", build, str(wheels)], cwd=clone, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (wheel,) = wheels.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "fastembed_static-0.1.0.dist-info/licenses/LICENSE" in names
    assert not [n for n in names if n.startswith("fastembed_static/")], "an editable wheel points at the tree"
    models = clone / "fastembed_static" / "_models"
    assert sorted(p.name for p in models.iterdir()) == ["default"], "the model, and no lock file"
    built = probe(clone)
    assert built.returncode == 0, built.stderr
    assert "Warning" not in built.stderr
    assert f"imported {clone / 'fastembed_static' / '__init__.py'} False" in built.stdout
    installed = json.loads((INSTALLED / "_models" / "default" / "model.json").read_text(encoding="utf-8"))
    assert f"default {models / 'default'} {installed['weights']['sha256']}" in built.stdout, "the same default model"
