"""Measure the *installed* fastembed-static with asv and file the results under the commit it was built from.

    cd asv_bench && python record_installed.py [--commit REV] [asv run options, e.g. --bench Encode]

This is asv's ``existing`` environment (``asv run -E existing:PYTHON --set-commit-hash SHA``) with the check asv
does not make: every Python file of the installed package must be byte-identical to that commit's file (a stale
install or uncommitted edits would otherwise be recorded under the wrong commit). The results land in
``.asv/results/<machine>/`` with the machine and the Python version (X.Y) as parameters, as ``asv run`` over commits
records them (asv.conf.json has no matrix; asv itself would record the interpreter's path), so ``asv publish``
draws them on the same graphs as the commits asv built.

Run it with the Python that has the package installed (and asv: ``pip install asv==0.6.6``).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DIST = "fastembed-static"


def git(*args: str) -> bytes:
    return subprocess.run(["git", "-C", str(HERE), *args], check=True, capture_output=True).stdout


def committed_files(commit: str) -> set[str]:
    return set(git("ls-tree", "-r", "--full-tree", "--name-only", commit).decode().splitlines())


def repo_path(installed: str, tree: set[str]) -> str | None:
    """The file of the commit an installed ``fastembed_static/...`` file comes from (the generator may live in
    ``gen/`` and be installed as ``fastembed_static/gen``)."""
    if installed in tree:
        return installed
    prefix = "fastembed_static/gen/"
    if installed.startswith(prefix) and "gen/" + installed[len(prefix) :] in tree:
        return "gen/" + installed[len(prefix) :]
    return None


def mismatches(commit: str) -> tuple[int, list[str]]:
    """(files compared, the installed files that differ from ``commit`` or are not in it)."""
    try:
        files = importlib.metadata.files(DIST) or []
    except importlib.metadata.PackageNotFoundError:
        raise SystemExit(f"error: {DIST} is not installed in {sys.executable}") from None
    tree = committed_files(commit)
    compared, bad = 0, []
    for file in files:
        name = str(file)
        if (
            not name.startswith("fastembed_static/")
            or not name.endswith(".py")
            or name.startswith("fastembed_static/_models/")
        ):
            continue  # bundled models are generated at build time
        source = repo_path(name, tree)
        if source is None:
            bad.append(f"{name}: not in {commit[:12]}")
            continue
        compared += 1
        if Path(file.locate()).read_bytes() != git("show", f"{commit}:{source}"):
            bad.append(f"{name}: differs from {commit[:12]}:{source}")
    return compared, bad


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commit", default="HEAD", help="the commit the installed package was built from (HEAD)")
    args, asv_args = parser.parse_known_args()
    commit = git("rev-parse", "--verify", f"{args.commit}^{{commit}}").decode().strip()
    compared, bad = mismatches(commit)
    if bad or not compared:
        print(f"error: the installed {DIST} is not commit {commit[:12]}:", file=sys.stderr)
        for line in bad or ["no package files found"]:
            print(f"  {line}", file=sys.stderr)
        print("reinstall it from that commit (pip install .) or pass --commit", file=sys.stderr)
        return 1
    print(f"installed {DIST} == {commit[:12]} ({compared} files compared)", flush=True)
    asv = [sys.executable, "-m", "asv"]
    if not Path(os.path.expanduser("~/.asv-machine.json")).is_file():
        subprocess.run([*asv, "machine", "--yes"], cwd=HERE, check=True)
    command = [*asv, "run", "-E", f"existing:{sys.executable}", "--set-commit-hash", commit, *asv_args]
    print("+ " + " ".join(command), flush=True)
    status = subprocess.run(command, cwd=HERE).returncode
    line_up(commit)
    return status


def line_up(commit: str) -> None:
    """asv records an existing environment's ``python`` parameter as the interpreter's path, which puts its results
    on graphs of their own; record the version instead (X.Y, as for the environments asv builds), so that they join
    the commit history. The environment's name (``existing-...``) still says how they were measured."""
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    for path in (HERE / ".asv" / "results").glob(f"*/{commit[:8]}-existing-*.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("python") == version:
            continue
        data["python"] = version
        data.setdefault("params", {})["python"] = version
        path.write_text(json.dumps(data), encoding="utf-8")
        print(f"{path.relative_to(HERE)}: python parameter set to {version} (joins the commits' graphs)")


if __name__ == "__main__":
    sys.exit(main())
