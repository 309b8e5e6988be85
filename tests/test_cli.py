"""The fastembed-static command, run as a user runs it (a subprocess of the installed entry point)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from fastembed_static import StaticModel

from .helpers import CLI, REPO


def run(*args: str, stdin: bytes | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        [CLI, *args], input=stdin.decode() if stdin else None, capture_output=True, text=True, env=env, cwd=cwd
    )


def test_embed_arguments_prints_json_lines() -> None:
    result = run("embed", "hello world", "naïve café")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["text"] for line in lines] == ["hello world", "naïve café"]
    expected = StaticModel.default().encode(["hello world", "naïve café"])
    np.testing.assert_allclose(np.array([line["embedding"] for line in lines]), expected, atol=1e-6)


def test_embed_input_file_to_npy(tmp_path: Path) -> None:
    texts = [f"line {i} of the input" for i in range(6000)] + ["", "last"]
    source = tmp_path / "in.txt"
    source.write_text("\n".join(texts) + "\n", encoding="utf-8")
    out = tmp_path / "out.npy"
    result = run("embed", "--input", str(source), "--output", str(out), "--dim", "64", "--no-normalize")
    assert result.returncode == 0, result.stderr
    assert "Encoding: 6002/6002" in result.stderr, "a progress bar on stderr for long inputs"
    vectors = np.load(out)
    assert vectors.shape == (6002, 64) and vectors.dtype == np.float32
    np.testing.assert_array_equal(vectors, StaticModel.default().encode(texts, dim=64, normalize=False))
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == [], "no temporary file is left"


def test_embed_stdin_and_crlf(tmp_path: Path) -> None:
    out = tmp_path / "o.npy"
    result = run("embed", "--input", "-", "--output", str(out), stdin=b"one\r\ntwo\r\n")
    assert result.returncode == 0, result.stderr
    np.testing.assert_array_equal(np.load(out), StaticModel.default().encode(["one", "two"]))


def test_failed_embed_leaves_existing_output_untouched(tmp_path: Path) -> None:
    out = tmp_path / "out.npy"
    np.save(out, np.arange(3))
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"fine\n\xff\xfe broken\n")
    result = run("embed", "--input", str(bad), "--output", str(out))
    assert result.returncode == 2
    assert "line 2 is not valid UTF-8" in result.stderr
    np.testing.assert_array_equal(np.load(out), np.arange(3))


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["embed"], "no texts to embed"),
        (["embed", "x", "--output", "out.txt"], "--output must end with .npy"),
        (["embed", "x", "--dim", "0"], "dim must be"),
        (["embed", "--input", "does-not-exist.txt"], "does-not-exist.txt"),
        (["embed", "x", "--model", "no/such/dir"], "no/such/dir"),
        (["gen", "no-such-model", "--out", "o"], "no-such-model: model directory does not exist"),
    ],
)
def test_errors_are_clear(tmp_path: Path, args: list[str], fragment: str) -> None:
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert fragment in result.stderr and "Traceback" not in result.stderr


def test_gen_and_info(tmp_path: Path) -> None:
    out = tmp_path / "generated"
    result = run("gen", str(REPO / "gen" / "default_model"), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "29525 tokens x 256 dims" in result.stdout
    info = run("info", str(out))
    assert info.returncode == 0, info.stderr
    assert "dims:        256" in info.stdout and "sha256" in info.stdout
    embedded = run("embed", "same", "--model", str(out))
    default = run("embed", "same")
    assert embedded.stdout == default.stdout
