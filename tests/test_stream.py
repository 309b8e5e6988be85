"""Streaming: ``StaticModel.encode_iter`` and ``fastembed-static embed`` over big inputs in bounded memory, every
input and output format, bad input, and ``--resume`` after the command is killed (SIGKILL, Ctrl-C)."""

from __future__ import annotations

import csv
import io
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from fastembed_static import StaticModel

from .helpers import CLI, gooaq_queries, pep_paragraphs


@pytest.fixture(scope="module")
def model() -> StaticModel:
    return StaticModel.default()


def corpus(n: int) -> list[str]:
    """Real text, short and long: GooAQ queries and PEP paragraphs, interleaved, with a few awkward ones."""
    queries, paragraphs = gooaq_queries(), pep_paragraphs()
    texts = [paragraphs[i // 10] if i % 10 == 9 else queries[i] for i in range(n)]
    texts[3:6] = ["", 'naïve café, "quoted"', "two\nlines, in CSV and JSON"]
    return texts


def run(*args: str, stdin: bytes | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        [CLI, *args], input=stdin.decode() if stdin else None, capture_output=True, text=True, env=env, cwd=cwd
    )


# encode_iter


def test_encode_iter_is_encode_batch_by_batch(model: StaticModel) -> None:
    texts = corpus(3000)
    whole = model.encode(texts)
    for batch_size in (1, 7, 1000, 5000):
        batches = list(model.encode_iter(iter(texts), batch_size=batch_size))
        sizes = [len(b) for b in batches]
        assert sizes == [batch_size] * (len(texts) // batch_size) + (
            [len(texts) % batch_size] * bool(len(texts) % batch_size)
        )
        assert all(b.dtype == np.float32 and b.shape[1] == model.dim for b in batches)
        np.testing.assert_array_equal(np.concatenate(batches), whole)  # bit-identical
    for options in ({"dim": 64}, {"dim": 64, "normalize": True}, {"normalize": False}):
        streamed = np.concatenate(list(model.encode_iter(texts, batch_size=333, **options)))
        np.testing.assert_array_equal(streamed, model.encode(texts, **options))  # type: ignore[arg-type]
    assert list(model.encode_iter(iter([]))) == []


def test_encode_iter_reads_the_input_on_the_calling_thread_and_stays_ahead_by_one(model: StaticModel) -> None:
    """A database cursor (sqlite3) may only be used on its own thread; and the input is read at most about two
    batches ahead of what was yielded."""
    caller = threading.get_ident()
    read = [0]

    def texts() -> Iterator[str]:
        for text in corpus(2000):
            assert threading.get_ident() == caller
            read[0] += 1
            yield text

    yielded = 0
    for batch in model.encode_iter(texts(), batch_size=100):
        yielded += len(batch)
        assert read[0] <= yielded + 200
    assert yielded == read[0] == 2000

    import sqlite3

    db = sqlite3.connect(":memory:")
    db.execute("create table t (text)")
    db.executemany("insert into t values (?)", [(t,) for t in corpus(500)])
    rows = (text for (text,) in db.execute("select text from t order by rowid"))
    np.testing.assert_array_equal(
        np.concatenate(list(model.encode_iter(rows, batch_size=64))), model.encode(corpus(500))
    )


def test_encode_iter_names_a_bad_item_by_its_index_in_the_stream(model: StaticModel) -> None:
    texts: list[object] = list(corpus(3000))
    texts[2345] = b"bytes"
    with pytest.raises(TypeError, match=r"item at index 2345 must be str, not bytes"):
        for _ in model.encode_iter(iter(texts), batch_size=1000):
            pass
    texts[2345] = "a lone surrogate \ud800"
    with pytest.raises(ValueError, match=r"text at index 2345 cannot be tokenized"):
        for _ in model.encode_iter(texts, batch_size=1000):  # type: ignore[arg-type]
            pass
    for bad in ("one string", b"bytes"):
        with pytest.raises(TypeError, match="iterable of str"):
            model.encode_iter(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="dim must be"):
        model.encode_iter(["x"], dim=10_000)
    stream = model.encode_iter(iter(corpus(5000)), batch_size=100)
    next(stream)
    stream.close()  # stopping early does not hang


# every input and output format


def write_input(folder: Path, fmt: str, texts: list[str], ids: list[str]) -> Path:
    if fmt == "text":
        path = folder / "in.txt"
        path.write_text("".join(t.replace("\n", " ") + "\n" for t in texts), encoding="utf-8")
    elif fmt == "jsonl":
        path = folder / "in.jsonl"
        path.write_text("".join(json.dumps({"key": i, "body": t}) + "\n" for t, i in zip(texts, ids)), encoding="utf-8")
    elif fmt == "csv":
        path = folder / "in.csv"
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["key", "body"])
        writer.writerows(zip(ids, texts))
        path.write_text(buffer.getvalue(), encoding="utf-8")
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = folder / "in.parquet"
        pq.write_table(
            pa.table({"key": pa.array(ids, pa.string()), "body": pa.array(texts, pa.string())}), path, row_group_size=97
        )
    return path


def column_args(fmt: str) -> list[str]:
    return {"text": [], "jsonl": ["--field", "body"], "csv": ["--column", "body"], "parquet": ["--column", "body"]}[fmt]


@pytest.mark.parametrize("fmt", ["text", "jsonl", "csv", "parquet"])
def test_every_input_format_to_every_output(tmp_path: Path, fmt: str, model: StaticModel) -> None:
    import pyarrow.parquet as pq

    texts = corpus(700)
    ids = [f"doc-{i}" for i in range(len(texts))]
    source = write_input(tmp_path, fmt, texts, ids)
    expected_texts = [t.replace("\n", " ") for t in texts] if fmt == "text" else texts
    expected = model.encode(expected_texts, dim=128)
    common = ["embed", "--input", str(source), *column_args(fmt), "--dim", "128", "--batch-size", "64"]

    npy = run(*common, "--output", str(tmp_path / "out.npy"))
    assert npy.returncode == 0, npy.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), expected)

    id_args = [] if fmt == "text" else ["--id-column", "key"]
    table_run = run(*common, "--output", str(tmp_path / "out.parquet"), "--keep-text", *id_args)
    assert table_run.returncode == 0, table_run.stderr
    table = pq.read_table(tmp_path / "out.parquet")
    assert table.column_names == ["id", "text", "embedding"]
    assert str(table.schema.field("embedding").type) == "fixed_size_list<element: float>[128]"
    assert table.column("id").to_pylist() == (list(range(700)) if fmt == "text" else ids)
    assert table.column("text").to_pylist() == expected_texts
    np.testing.assert_array_equal(np.array(table.column("embedding").to_pylist(), dtype=np.float32), expected)
    assert pq.ParquetFile(tmp_path / "out.parquet").metadata.num_row_groups == 11, "a row group per part"

    lines_run = run(*common, "--output", str(tmp_path / "out.jsonl"))
    assert lines_run.returncode == 0, lines_run.stderr
    lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [line["text"] for line in lines] == expected_texts
    np.testing.assert_array_equal(np.array([line["embedding"] for line in lines], dtype=np.float32), expected)
    stdout = run(*common)
    assert stdout.returncode == 0 and stdout.stdout == (tmp_path / "out.jsonl").read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([source.name, "out.npy", "out.parquet", "out.jsonl"])


def test_input_format_option_and_stdin(tmp_path: Path, model: StaticModel) -> None:
    texts = corpus(50)[6:]
    data = "".join(json.dumps({"text": t}) + "\n" for t in texts).encode()
    (tmp_path / "records.log").write_bytes(data)
    by_option = run(
        "embed",
        "--input",
        str(tmp_path / "records.log"),
        "--input-format",
        "jsonl",
        "--output",
        str(tmp_path / "a.npy"),
    )
    assert by_option.returncode == 0, by_option.stderr
    from_stdin = run(
        "embed", "--input", "-", "--input-format", "jsonl", "--output", str(tmp_path / "b.npy"), stdin=data
    )
    assert from_stdin.returncode == 0, from_stdin.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), model.encode(texts))
    assert (tmp_path / "a.npy").read_bytes() == (tmp_path / "b.npy").read_bytes()


@pytest.mark.parametrize("fmt", ["text", "jsonl", "csv", "parquet"])
def test_empty_inputs(tmp_path: Path, fmt: str) -> None:
    import pyarrow.parquet as pq

    source = write_input(tmp_path, fmt, [], [])
    assert run("embed", "--input", str(source), *column_args(fmt), "--output", str(tmp_path / "o.npy")).returncode == 0
    assert np.load(tmp_path / "o.npy").shape == (0, 256)
    result = run("embed", "--input", str(source), *column_args(fmt), "--output", str(tmp_path / "o.parquet"))
    assert result.returncode == 0, result.stderr
    table = pq.read_table(tmp_path / "o.parquet")
    assert table.num_rows == 0 and table.column_names == ["id", "embedding"]
    assert (
        run("embed", "--input", str(source), *column_args(fmt), "--output", str(tmp_path / "o.jsonl")).returncode == 0
    )
    assert (tmp_path / "o.jsonl").read_bytes() == b""


# bad input: a clear error naming the line or row, status 2, nothing left that looks complete


def bad_parquet(folder: Path, kind: str) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = folder / "bad.parquet"
    if kind == "null":
        pq.write_table(pa.table({"text": ["a", "b", None, "d"]}), path)
    elif kind == "int":
        pq.write_table(pa.table({"text": [1, 2]}), path)
    else:
        pq.write_table(pa.table({"body": ["a"]}), path)
    return path


BAD_INPUTS = [
    ("in.txt", b"fine\n" * 300 + b"\xff\xfe broken\n", [], "in.txt: line 301 is not valid UTF-8"),
    (
        "in.jsonl",
        b'{"text": "a"}\n{"text": "b"}\n\n{"text": 12}\n',
        [],
        "in.jsonl: line 4: field 'text' is a number, not a string",
    ),
    ("in.jsonl", b'{"text": "a"}\n{"body": "b"}\n', [], "in.jsonl: line 2 has no field 'text'"),
    ("in.jsonl", b'{"text": "a"}\n{"text": "b"\n', [], "in.jsonl: line 2 is not valid JSON"),
    ("in.jsonl", b'{"text": "a"}\n["text"]\n', [], "in.jsonl: line 2 is an array, not a JSON object"),
    ("in.jsonl", b'{"text": "a"}\n{"text": "\\ud800"}\n', [], "in.jsonl: text in row 1 cannot be tokenized"),
    ("in.jsonl", b'{"text": "a"}\n{"text": "\xff"}\n', [], "in.jsonl: line 2 is not valid UTF-8"),
    ("in.csv", b"id,body\n1,a\n", [], "in.csv: no column 'text' (columns: 'id', 'body')"),
    ("in.csv", b"text,id\na,1\nb\n", [], "in.csv: line 3: 1 fields where the header has 2"),
    ("parquet:null", b"", [], "bad.parquet: row 2: column 'text' is null"),
    ("parquet:int", b"", [], "bad.parquet: column 'text' holds int64, not strings"),
    ("parquet:missing", b"", [], "bad.parquet: no column 'text' (columns: 'body')"),
]


@pytest.mark.parametrize(("name", "content", "extra", "message"), BAD_INPUTS)
@pytest.mark.parametrize("output", ["out.npy", "out.parquet"])
def test_bad_input_is_a_clear_error_and_leaves_nothing(
    tmp_path: Path, name: str, content: bytes, extra: list[str], message: str, output: str
) -> None:
    source = bad_parquet(tmp_path, name.split(":")[1]) if name.startswith("parquet:") else tmp_path / name
    if not name.startswith("parquet:"):
        source.write_bytes(content)
    result = run("embed", "--input", source.name, "--output", output, "--batch-size", "100", *extra, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"fastembed-static: error: {message}"), result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [source.name], "no output, no parts, no temporary file"


def test_option_errors(tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text("a\n", encoding="utf-8")
    cases = [
        (["--output", "o.npy", "--keep-text"], "--keep-text is for a .parquet output"),
        (["--output", "o.parquet", "--id-column", "id"], "--id-column needs JSON Lines, CSV or Parquet input"),
        (["--output", "o.npy", "--id-column", "id"], "--id-column is for a .parquet output"),
        (["--resume"], "--resume needs --output FILE"),
        (["--output", "o.csv"], "--output must end with .npy, .parquet, .jsonl, got o.csv"),
        (["--output", "o.npy", "--batch-size", "0"], "--batch-size must be at least 1"),
    ]
    for args, message in cases:
        result = run("embed", "--input", "in.txt", *args, cwd=tmp_path)
        assert result.returncode == 2 and message in result.stderr, (args, result.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt"]


# bounded memory


def peak_rss_mib(*args: str) -> float:
    """Peak RSS of the command (its own process, measured by a wrapper that does nothing else)."""
    code = "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); assert r.returncode == 0; print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
    return int(out.stdout) / 1024


def test_memory_does_not_grow_with_the_input(tmp_path: Path) -> None:
    """200,000 lines (200 MB of vectors held in memory before streaming) take about the RSS of 20,000."""
    queries = gooaq_queries()
    for n in (20_000, 200_000):
        with open(tmp_path / f"{n}.txt", "w", encoding="utf-8") as f:
            for i in range(n):
                f.write(f"{queries[i % len(queries)]} #{i % 5000}\n")
    small, big = (
        peak_rss_mib(
            CLI,
            "embed",
            "--input",
            str(tmp_path / f"{n}.txt"),
            "--output",
            str(tmp_path / f"{n}.npy"),
            "--batch-size",
            "4096",
        )
        for n in (20_000, 200_000)
    )
    assert np.load(tmp_path / "200000.npy", mmap_mode="r").shape == (200_000, 256)
    assert big - small < 40, f"peak RSS {small:.0f} MiB for 20k lines, {big:.0f} MiB for 200k"


# --resume after SIGKILL and Ctrl-C


def resume_corpus(folder: Path) -> Path:
    queries = gooaq_queries()
    path = folder / "in.txt"
    path.write_text("".join(f"{queries[i % len(queries)]} #{i}\n" for i in range(30_000)), encoding="utf-8")
    return path


def parts_recorded(folder: Path) -> int:
    try:
        return len(json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["parts"])
    except (OSError, ValueError):
        return 0


@pytest.mark.parametrize(("output", "seed"), [("out.npy", 1), ("out.npy", 2), ("out.npy", 3), ("out.parquet", 4)])
def test_sigkill_then_resume_gives_the_same_file(tmp_path: Path, output: str, seed: int) -> None:
    source = resume_corpus(tmp_path)
    args = ["embed", "--input", str(source), "--batch-size", "1000", "--dim", "64"]
    reference = tmp_path / f"reference{Path(output).suffix}"
    assert run(*args, "--output", str(reference)).returncode == 0
    out = tmp_path / output
    folder = tmp_path / f"{output}.parts"
    rng = random.Random(seed)
    kills = 0
    for attempt in range(4):  # three kills at random points, then a run to the end
        command = [CLI, *args, "--output", str(out)] + (["--resume"] if attempt else [])
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if attempt < 3:
            target = parts_recorded(folder) + rng.randint(1, 6)  # a random point: after some more parts, then a bit
            deadline = time.monotonic() + 60
            while proc.poll() is None and parts_recorded(folder) < target and time.monotonic() < deadline:
                time.sleep(0.002)
            time.sleep(rng.uniform(0, 0.05))
            if proc.poll() is None:
                proc.kill()  # SIGKILL: no cleanup at all
                kills += 1
        _, stderr = proc.communicate(timeout=120)
        if proc.returncode == 0:
            break
        assert proc.returncode == -signal.SIGKILL, stderr
        assert not out.exists() or not folder.exists() or out.read_bytes() == reference.read_bytes(), (
            "a killed run leaves no incomplete output"
        )
    else:
        pytest.fail("did not finish")
    assert kills >= 2, "the test killed the command at least twice"
    assert out.read_bytes() == reference.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["in.txt", reference.name, output])


def test_ctrl_c_keeps_the_parts_and_resume_refuses_what_changed(tmp_path: Path) -> None:
    source = resume_corpus(tmp_path)
    args = ["embed", "--input", str(source), "--batch-size", "500", "--output", str(tmp_path / "out.npy")]
    proc = subprocess.Popen([CLI, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    folder = tmp_path / "out.npy.parts"
    while parts_recorded(folder) < 3 and proc.poll() is None:
        time.sleep(0.002)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert b"kept in" in stderr and b"--resume" in stderr, stderr
    assert not (tmp_path / "out.npy").exists() and folder.is_dir()

    again = run(*args)
    assert again.returncode == 2 and "holds the parts of an interrupted run: rerun with --resume" in again.stderr
    other = run(*args, "--resume", "--dim", "32")
    assert other.returncode == 2 and "different arguments (dim)" in other.stderr, other.stderr
    stat = source.stat()
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    changed = run(*args, "--resume")
    assert changed.returncode == 2 and "the input changed" in changed.stderr, changed.stderr
    assert folder.is_dir(), "a refused resume keeps the parts"
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    resumed = run(*args, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    texts = source.read_text(encoding="utf-8").splitlines()
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), StaticModel.default().encode(texts))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt", "out.npy"]


def test_progress_line_and_stdin_cannot_resume(tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("".join(t.replace("\n", " ") + "\n" for t in corpus(3000)[6:]), encoding="utf-8")
    shown = run(
        "embed", "--input", str(source), "--output", str(tmp_path / "o.npy"), "--batch-size", "100", "--progress"
    )
    assert shown.returncode == 0, shown.stderr
    assert "Embedding: 1,000 texts, " in shown.stderr and "/s, " in shown.stderr and "%, ETA 0:00:" in shown.stderr
    assert "Embedded 2,994 texts in " in shown.stderr
    (tmp_path / "o.npy.parts").mkdir()  # as a SIGKILLed run from stdin leaves it
    (tmp_path / "o.npy.parts" / "manifest.json").write_text(
        json.dumps({"version": 1, "arguments": {}, "input": None, "parts": []}), encoding="utf-8"
    )
    refused = run("embed", "--input", "-", "--output", str(tmp_path / "o.npy"), "--resume", stdin=b"a\n")
    assert refused.returncode == 2 and "cannot resume: the input is not a file" in refused.stderr, refused.stderr
