"""The build needs neither numpy nor a working mypyc: the generator copies float32 tables as bytes, and
``FASTEMBED_STATIC_MYPYC=auto`` falls back to the pure-Python tokenizer on any mypyc failure."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from fastembed_static.gen import GenerationError, generate
from fastembed_static.gen.safetensors_reader import read_f32_matrix_bytes, read_float_matrix, read_header

from .helpers import MRL_TOKENIZER, make_st_model, random_table, source_copy, write_safetensors

ROWS = 30522
GEN_DIR = Path(generate.__code__.co_filename).parent  # the installed generator package


def special_values_table(dim: int) -> np.ndarray:
    """Random rows plus the float32 values a byte copy could get wrong: -0.0, subnormals, the extremes."""
    table = random_table(ROWS, dim)
    table[0, :6] = [-0.0, 1e-45, -1e-45, np.finfo(np.float32).max, np.finfo(np.float32).min, np.float32(1.17e-38)]
    return table


@pytest.mark.parametrize("dims", [None, 64, 17, 1])
def test_float32_bytes_equal_the_numpy_reader(tmp_path: Path, dims: int | None) -> None:
    model = make_st_model(tmp_path / "m", MRL_TOKENIZER, special_values_table(64))
    path = model / "model.safetensors"
    info = read_header(path)["embedding.weight"]
    expected = np.ascontiguousarray(read_float_matrix(path, info)[:, :dims]).astype("<f4").tobytes()
    assert read_f32_matrix_bytes(path, info, dims) == expected


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("dims", [None, 3])
def test_float32_bytes_refuse_non_finite_values_even_outside_the_kept_dims(
    tmp_path: Path, bad: float, dims: int | None
) -> None:
    table = random_table(ROWS, 8)
    table[ROWS - 1, 7] = bad
    model = make_st_model(tmp_path / "m", MRL_TOKENIZER, table)
    with pytest.raises(GenerationError, match="holds NaN or infinite values"):
        generate(model, tmp_path / "out", dims=dims)
    assert not (tmp_path / "out").exists()


def test_generator_runs_without_numpy_and_writes_the_same_model(tmp_path: Path) -> None:
    """What the package build does (setup.py's ``_source_package``): generate with numpy not importable, from the
    source tree's ``fastembed_static`` without running its ``__init__``; the result equals the normal generation
    byte for byte, and its table is the source table."""
    table = special_values_table(48)
    model = make_st_model(tmp_path / "m", MRL_TOKENIZER, table, normalize=True)
    script = (
        "import sys, types\n"
        "sys.modules['numpy'] = None  # importing numpy now raises ImportError\n"
        "package = types.ModuleType('fastembed_static')\n"
        f"package.__path__ = [{str(GEN_DIR.parent)!r}]\n"
        "sys.modules['fastembed_static'] = package\n"
        "from fastembed_static.gen import generate\n"
        f"generate({str(model)!r}, {str(tmp_path / 'no-numpy')!r}, dims=40)\n"
        "assert not any(m == 'numpy' or m.startswith('numpy.') for m, v in sys.modules.items() if v is not None)\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)
    generate(model, tmp_path / "normal", dims=40)
    for name in ("model.json", "vocab.py", "weights.f32.bin"):
        assert (tmp_path / "no-numpy" / name).read_bytes() == (tmp_path / "normal" / name).read_bytes(), name
    assert (tmp_path / "normal" / "weights.f32.bin").read_bytes() == np.ascontiguousarray(table[:, :40]).tobytes()
    assert json.loads((tmp_path / "normal" / "model.json").read_text(encoding="utf-8"))["normalize"] is True


def test_tables_that_need_conversion_still_go_through_numpy(tmp_path: Path) -> None:
    """float16 sources and model2vec's mapping/weights take the numpy path; the stored rows are what they say."""
    root = tmp_path / "m2v"
    root.mkdir()
    (root / "config.json").write_text(json.dumps({"normalize": False}), encoding="utf-8")
    (root / "tokenizer.json").write_bytes(MRL_TOKENIZER.read_bytes())
    small = random_table(100, 16).astype(np.float16)
    mapping = np.random.default_rng(1).integers(0, 100, ROWS).astype(np.int64)
    weights = np.random.default_rng(2).random(ROWS).astype(np.float32)
    write_safetensors(root / "model.safetensors", {"embeddings": small, "mapping": mapping, "weights": weights})
    out = generate(root, tmp_path / "out")
    stored = np.fromfile(out / "weights.f32.bin", dtype="<f4").reshape(ROWS, 16)
    assert np.array_equal(stored, small.astype(np.float32)[mapping] * weights[:, None])


def _build_wheel(src: Path, out: Path, mode: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FASTEMBED_STATIC_MYPYC": mode, "PIP_NO_INDEX": "1"}
    command = [sys.executable, "-m", "pip", "wheel", "-v", "--no-build-isolation", "--no-deps", "-w", str(out), "."]
    return subprocess.run(command, cwd=src, env=env, capture_output=True, text=True)


@pytest.fixture(scope="module")
def broken_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the source tree whose compiled module has a type error, so that mypyc stops (SystemExit)."""
    src = source_copy(tmp_path_factory.mktemp("broken"))
    with (src / "fastembed_static" / "_tokenizer.py").open("a", encoding="utf-8") as f:
        f.write('\nBROKEN_FOR_THE_TEST: int = "not an int"\n')
    return src


def test_auto_falls_back_to_pure_python_when_mypyc_fails(broken_source: Path, tmp_path: Path) -> None:
    result = _build_wheel(broken_source, tmp_path / "wheels", "auto")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    output = result.stdout + result.stderr
    assert "mypyc unavailable or failed (exit status 1); building the pure-Python tokenizer" in output
    (wheel,) = (tmp_path / "wheels").glob("*.whl")
    assert wheel.name.endswith("-py3-none-any.whl"), wheel.name
    names = zipfile.ZipFile(wheel).namelist()
    assert "fastembed_static/_tokenizer.py" in names
    assert not [n for n in names if n.endswith((".so", ".pyd"))]
    assert "fastembed_static/_models/default/weights.f32.bin" in names


def test_required_compilation_fails_the_build_when_mypyc_fails(broken_source: Path, tmp_path: Path) -> None:
    result = _build_wheel(broken_source, tmp_path / "wheels", "1")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert 'Incompatible types in assignment (expression has type "str", variable has type "int")' in output
    assert not list((tmp_path / "wheels").glob("*.whl"))
