"""Generation at install time: FASTEMBED_STATIC_BUNDLE makes `pip` build a wheel that carries the model; and
FASTEMBED_STATIC_MYPYC=0 builds the pure-Python fallback (its tokenizer is tested in test_tokenizer_parity)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np

from .helpers import MRL_DIR, REPO, make_st_model


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
