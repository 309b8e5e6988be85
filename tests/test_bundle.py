"""Generation at install time: FASTEMBED_STATIC_BUNDLE makes `pip` build a wheel that carries the model; and
FASTEMBED_STATIC_MYPYC=0 builds the pure-Python fallback (its tokenizer is tested in test_tokenizer_parity)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np

from .helpers import MRL_DIR, REPO, make_st_model, source_copy


def test_wheel_bundles_a_local_model(tmp_path: Path) -> None:
    source = make_st_model(tmp_path / "tiny-mrl", MRL_DIR / "tokenizer.json", np.ones((30522, 4), np.float32))
    env = {**os.environ, "FASTEMBED_STATIC_BUNDLE": str(source), "FASTEMBED_STATIC_MYPYC": "0"}
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), str(REPO)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (wheel,) = (tmp_path / "dist").glob("fastembed_static-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        meta = json.loads(archive.read("fastembed_static/_models/tiny-mrl/model.json"))
    assert (meta["vocab_size"], meta["dim"]) == (30522, 4)
    assert "fastembed_static/_models/tiny-mrl/weights.f32.bin" in names
    assert "fastembed_static/_models/default/model.json" in names, "the default model is still bundled beside it"
    assert "fastembed_static/_tokenizer.py" in names
    assert not [n for n in names if n.endswith((".so", ".pyd"))], "FASTEMBED_STATIC_MYPYC=0 builds pure Python"
    # The wheel holds the runtime only: no benchmark harness, no build-time script, no model source.
    package = {n for n in names if n.startswith("fastembed_static/")}
    assert not [n for n in package if "bench" in n.rsplit("/", 1)[-1] and not n.endswith("_selfbench.py")]
    assert not [n for n in package if n.rsplit("/", 1)[-1].startswith("make_")]
    assert not [n for n in names if n.endswith(".safetensors") or "default_model" in n]
    assert not [n for n in names if n.startswith(("gen/", "tests/", "asv_bench/", "ci/"))]
    # Nothing but the models under _models: no lock file of the generator (an empty .default.lock once shipped).
    assert not [n for n in names if n.endswith(".lock")], [n for n in names if n.endswith(".lock")]
    # The license text, declared in the metadata.
    with zipfile.ZipFile(wheel) as archive:
        license_text = archive.read("fastembed_static-0.1.0.dist-info/licenses/LICENSE").decode()
        metadata = archive.read("fastembed_static-0.1.0.dist-info/METADATA").decode()
    assert "Apache License" in license_text and "Version 2.0, January 2004" in license_text
    assert "License-Expression: Apache-2.0" in metadata and "License-File: LICENSE" in metadata

    # The bundled model is found by the name given at bundling (the folder's name), through from_pretrained and
    # the CLI's --model, from the unpacked wheel (pure Python: importable as it is).
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    run_env = {**os.environ, "PYTHONPATH": str(site), "FASTEMBED_STATIC_CACHE": str(tmp_path / "cache")}
    elsewhere = tmp_path / "elsewhere"  # no folder called tiny-mrl here: a local folder of that name would win
    elsewhere.mkdir()
    script = (
        "import sys\n"
        "from fastembed_static import StaticModel\n"
        "from fastembed_static.cli import main\n"
        "model = StaticModel.from_pretrained('tiny-mrl')\n"
        "print(model.path, model.dim, model.encode('hello world')[:2].tolist())\n"
        "sys.exit(main(['embed', '--model', 'tiny-mrl', 'hello world']))\n"
    )
    found = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=run_env, cwd=elsewhere, check=False
    )
    assert found.returncode == 0, found.stderr
    path, dim, first = found.stdout.splitlines()[0].split(" ", 2)
    assert Path(path) == site / "fastembed_static" / "_models" / "tiny-mrl" and dim == "4"
    assert first == "[1.0, 1.0]"  # a table of ones: every mean is 1
    assert json.loads(found.stdout.splitlines()[1])["embedding"] == [1.0, 1.0, 1.0, 1.0]
    assert not (tmp_path / "cache").exists(), "nothing was generated: the bundled model was used"


def test_sdist_carries_the_license_and_what_the_build_needs(tmp_path: Path) -> None:
    """The sdist (built from a copy of the source tree) holds LICENSE, declared in its metadata, and the default
    model's source that setup.py generates from; and no generated model or lock file."""
    src = source_copy(tmp_path)
    build = "import sys\nfrom setuptools import build_meta\nprint(build_meta.build_sdist(sys.argv[1]))\n"
    result = subprocess.run(
        [sys.executable, "-c", build, str(tmp_path / "dist")], cwd=src, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (sdist,) = (tmp_path / "dist").glob("fastembed_static-0.1.0.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {n.split("/", 1)[1] for n in archive.getnames() if "/" in n}
        pkg_info = archive.extractfile("fastembed_static-0.1.0/PKG-INFO").read().decode()  # type: ignore[union-attr]
    assert {"LICENSE", "setup.py", "gen/default_model/model.safetensors", "fastembed_static/gen/recut.py"} <= names
    assert "License-Expression: Apache-2.0" in pkg_info and "License-File: LICENSE" in pkg_info
    assert not [n for n in names if "_models" in n or n.endswith(".lock")]
