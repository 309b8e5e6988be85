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
    # every float32 exactly: the printed decimals read back, cast to float32, give the same bits
    np.testing.assert_array_equal(np.array([line["embedding"] for line in lines], dtype=np.float32), expected)


def test_embed_input_file_to_npy(tmp_path: Path) -> None:
    texts = [f"line {i} of the input" for i in range(6000)] + ["", "last"]
    source = tmp_path / "in.txt"
    source.write_text("\n".join(texts) + "\n", encoding="utf-8")
    out = tmp_path / "out.npy"
    result = run("embed", "--input", str(source), "--output", str(out), "--dim", "64", "--no-normalize", "--progress")
    assert result.returncode == 0, result.stderr
    assert "Embedded 6,002 texts" in result.stderr, "--progress: a progress line even when stderr is not a terminal"
    quiet = run("embed", "--input", str(source), "--output", str(out), "--dim", "64", "--no-normalize")
    assert quiet.returncode == 0 and "Embedd" not in quiet.stderr, "no progress line when stderr is not a terminal"
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


def test_json_floats_are_shortest_and_exact() -> None:
    """Every finite float32 (subnormals, extremes, -0.0, powers of ten, random over all exponents) is written as
    the shortest decimal that reads back as exactly that float32, and as valid JSON."""
    from fastembed_static.cli import json_floats

    rng = np.random.default_rng(17)
    bits = rng.integers(0, 2**32, 200_000, dtype=np.uint64).astype(np.uint32).view(np.float32)
    special = np.array([0.0, -0.0, 1.0, 0.1, 1e-45, 1.17549435e-38, 3.4028235e38, -3.4028235e38, 1e20], np.float32)
    values = np.concatenate([special, bits[np.isfinite(bits)]])

    def no_constants(name: str) -> float:
        raise AssertionError(f"not JSON: {name}")

    parsed = json.loads(json_floats(values), parse_constant=no_constants)
    back = np.array(parsed, dtype=np.float64).astype(np.float32)
    np.testing.assert_array_equal(back.view(np.uint32), values.view(np.uint32))
    assert json_floats(np.array([0.1, 1.0, -0.0], np.float32)) == "[0.1, 1.0, -0.0]"


def test_version() -> None:
    from importlib.metadata import version

    result = run("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"fastembed-static {version('fastembed-static')}\n"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["embed", "--dim", "x", "hi"], "fastembed-static embed: error: argument --dim: invalid int value: 'x'"),
        (["embed", "--bogus", "hi"], "fastembed-static: error: unrecognized arguments: --bogus"),
        (["gen"], "fastembed-static gen: error: the following arguments are required: model"),
        ([], "fastembed-static: error: the following arguments are required: COMMAND"),
        (["embed", "hi", "--model", ""], "argument --model: empty: give a model folder"),
        (["gen", ""], "argument model: empty"),
        (["info", ""], "argument model: empty"),
    ],
)
def test_usage_errors_are_two_lines(tmp_path: Path, args: list[str], fragment: str) -> None:
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith("fastembed-static") and ": error: " in lines[0] and fragment in lines[0], result.stderr
    assert len(lines) == 2 and lines[1].startswith("Run 'fastembed-static") and lines[1].endswith("--help' for usage.")


def test_a_local_folder_shaped_like_a_hub_id_gives_clean_lines(tmp_path: Path) -> None:
    """``owner/name`` is a hub id even if such a folder exists here: a one-line warning, then a one-line error,
    no Python warning machinery (file name, line number, source line)."""
    (tmp_path / "owner" / "name").mkdir(parents=True)
    result = run("embed", "hi", "--model", "owner/name", "--offline", "--cache-dir", str(tmp_path / "c"), cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.stderr
    assert lines[0].startswith("fastembed-static: warning: 'owner/name' is read as a Hugging Face hub id")
    assert lines[1].startswith("fastembed-static: error: ") and "./owner/name" in lines[1]
    assert "UserWarning" not in result.stderr and "cli.py" not in result.stderr


def test_closed_stdout_is_a_quiet_sigpipe_exit() -> None:
    """``embed ... | head -1``: no "Broken pipe" message, exit status 141 as a POSIX tool killed by SIGPIPE."""
    texts = [f"text number {i}" for i in range(300)]  # ~1 MB of JSON: far more than a pipe buffer
    proc = subprocess.Popen([CLI, "embed", *texts], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()
    stderr = proc.stderr.read()
    assert proc.wait(timeout=60) == 141
    assert json.loads(first)["text"] == "text number 0"
    assert stderr == b""


def test_shell_pipe_into_head() -> None:
    shell = subprocess.run(
        ["bash", "-c", f'set -o pipefail; "{CLI}" embed a b c d | head -1 >/dev/null; echo "status $?"'],
        capture_output=True,
        text=True,
    )
    assert shell.stdout == "status 141\n" or shell.stdout == "status 0\n", shell
    assert shell.stderr == ""


def test_write_errors_name_the_users_file(tmp_path: Path) -> None:
    """Not the temporary file (``.out.npy.XXXX.tmp``) or the lock file the command made for itself."""
    missing = run("embed", "x", "--output", "no-such-folder/out.npy", cwd=tmp_path)
    assert missing.returncode == 2
    assert (
        missing.stderr == "fastembed-static: error: no-such-folder/out.npy: cannot write: its folder does not exist\n"
    )
    (tmp_path / "taken.npy").mkdir()
    taken = run("embed", "x", "--output", "taken.npy", cwd=tmp_path)
    assert taken.returncode == 2
    assert taken.stderr == "fastembed-static: error: taken.npy: cannot write: Is a directory\n"
    assert [p.name for p in tmp_path.iterdir()] == ["taken.npy"], "no temporary file is left"
    (tmp_path / ".model.lock").mkdir()  # something in the way of the generation lock
    locked = run("gen", str(REPO / "gen" / "default_model"), "--out", "model", cwd=tmp_path)
    assert locked.returncode == 2
    assert locked.stderr.startswith("fastembed-static: error: model: cannot write: Is a directory"), locked.stderr
    missing_input = run("embed", "--input", "nothing.txt", cwd=tmp_path)
    assert missing_input.stderr == "fastembed-static: error: nothing.txt: No such file or directory\n"


def test_empty_input_gives_empty_output(tmp_path: Path) -> None:
    """An empty file is zero texts: no JSON lines, or a (0, dim) .npy (a file holding only a BOM is empty too)."""
    for content in (b"", b"\xef\xbb\xbf"):
        empty = tmp_path / "empty.txt"
        empty.write_bytes(content)
        lines = run("embed", "--input", str(empty))
        assert lines.returncode == 0 and lines.stdout == "" and lines.stderr == ""
        out = tmp_path / "empty.npy"
        saved = run("embed", "--input", str(empty), "--output", str(out), "--dim", "64")
        assert saved.returncode == 0, saved.stderr
        vectors = np.load(out)
        assert vectors.shape == (0, 64) and vectors.dtype == np.float32
    stdin = run("embed", "--input", "-")
    assert stdin.returncode == 0 and stdin.stdout == ""
    assert run("embed").returncode == 2, "no arguments and no --input is still an error"


def test_byte_order_mark_is_not_part_of_the_first_text(tmp_path: Path) -> None:
    source = tmp_path / "bom.txt"
    source.write_bytes("\ufeffhello world\r\nsecond\r\n".encode())
    result = run("embed", "--input", str(source))
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["text"] for line in lines] == ["hello world", "second"]
    np.testing.assert_array_equal(
        np.array([line["embedding"] for line in lines], dtype=np.float32),
        StaticModel.default().encode(["hello world", "second"]),
    )
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xef\xbb\xbfok\nfine\n\xff\n")
    failed = run("embed", "--input", str(bad))
    assert "line 3 is not valid UTF-8 (invalid start byte at byte 11)" in failed.stderr


@pytest.mark.parametrize(
    ("options", "reference"),
    [
        ([], {}),  # the model's Normalize on the full vector, then truncation: not unit length
        (["--normalize"], {"normalize_embeddings": True}),
        (["--no-normalize"], {"without_normalize": True}),
    ],
)
def test_dim_and_normalize_options_match_sentence_transformers(options: list[str], reference: dict[str, bool]) -> None:
    """The CLI follows encode's rules, checked against sentence-transformers with truncate_dim on the bundled model."""
    # the lowest-numpy and ARM checks run this file without the reference libraries (README: what they exclude)
    SentenceTransformer = pytest.importorskip("sentence_transformers").SentenceTransformer

    from .helpers import gooaq_queries

    texts = gooaq_queries()[:200]
    result = run("embed", *texts, "--dim", "48", *options)
    assert result.returncode == 0, result.stderr
    got = np.array([json.loads(line)["embedding"] for line in result.stdout.splitlines()], dtype=np.float32)
    st = SentenceTransformer(str(REPO / "gen" / "default_model"), device="cpu")
    if reference.pop("without_normalize", False):
        st = SentenceTransformer(modules=[st[0]], device="cpu")
    expected = st.encode(texts, truncate_dim=48, convert_to_numpy=True, **reference)
    assert got.shape == expected.shape == (200, 48)
    assert np.abs(got - expected).max() <= 1e-6


def test_readme_cli_section_names_every_option() -> None:
    """The README's CLI synopsis keeps up with ``--help``: every option of every command is named there."""
    import re

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## CLI", 1)[1].split("\n## ", 1)[0]
    for command in ("embed", "gen", "info", "bench"):
        help_text = run(command, "--help").stdout
        options = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", help_text)) - {"--help"}
        assert options, command
        missing = sorted(o for o in options if not re.search(re.escape(o) + r"(?![\w-])", section))
        assert not missing, f"README's CLI section does not name {command} {missing}"
    assert "--version" in section
