"""``fastembed-static bench``: measures this package alone and prints a short table (no timing is asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from fastembed_static import cli


def _bench(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    code = "import sys; from fastembed_static.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, "bench", "--repeats", "1", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_bench_builtin_texts_imports_no_peer(tmp_path: Path) -> None:
    code = (
        "import sys; from fastembed_static.cli import main; main(['bench', '--repeats', '1']);"
        " heavy = {'torch', 'sentence_transformers', 'model2vec', 'tokenizers', 'laghu', 'nanotoken'} & set(sys.modules);"
        " print('heavy:', sorted(heavy))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1] == "heavy: []"
    rows = {line.split()[0]: line.split() for line in lines if line.startswith(("short", "long"))}
    assert set(rows) == {"short", "long"}
    assert int(rows["short"][1]) == 2048 and int(rows["long"][1]) == 128
    assert float(rows["long"][2]) > 10 * float(rows["short"][2])  # long texts are long
    assert any(line.startswith("1 text per call") for line in lines)


def test_bench_user_file(tmp_path: Path) -> None:
    texts = tmp_path / "texts.txt"
    texts.write_text("first line of text\n\nsecond line\n" * 40, encoding="utf-8")
    done = _bench("--input", str(texts), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    short = next(line.split() for line in done.stdout.splitlines() if line.startswith("short"))
    assert int(short[1]) == 80  # the non-empty lines
    assert f"texts: {texts}" in done.stdout


def test_bench_empty_file_is_a_clear_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    done = _bench("--input", str(empty), cwd=tmp_path)
    assert done.returncode == 2
    assert "no non-empty lines" in done.stderr


def test_bench_is_a_cli_command() -> None:
    assert "bench" in cli._parser().format_help()
