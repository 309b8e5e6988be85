"""Peak memory and texts/s of ``fastembed-static embed`` on a big text file, against one in-memory ``encode``.

    python ci/big_file_bench.py [--rows 200000,1000000] [--long-every 10] [--repeats 1] [--runs encode,npy,parquet]
                                [--json FILE] [--probe ROWS]

For each N: a UTF-8 file of N lines in a temporary folder, real text: GooAQ queries (tests/data/gooaq-10k.txt),
and every ``--long-every``-th line a paragraph of a PEP or of Jane Austen (tests/data/peps.tar.xz, austen.tar.xz;
line breaks inside it turned into spaces), cycled, each line with a distinct suffix " #i". Then, each in a fresh
process, with the bundled default model (256 dims):

- encode: the lines read into a list, then one ``StaticModel.default().encode(texts)`` call, timed alone (the
  reading is not counted): the in-memory reference, and about the memory the command needed before it streamed;
- npy: ``fastembed-static embed --input FILE --output out.npy`` (wall clock of the whole command);
- parquet: the same to ``out.parquet`` (id + embedding).

Peak RSS is the process's ``ru_maxrss`` (resource.getrusage of the finished child). Texts/s of the command is N over
its wall clock, start-up (imports, model load ~0.3 s) included. The load average (1 min) before and after each
N is printed: the machine may be shared. ``--runs`` picks some of the three (the ratio needs ``encode``).

``--probe ROWS``: instead, one process runs ``encode_iter`` (batches of 32,768) over ROWS GooAQ queries with
distinct suffixes, generated on the fly, and prints its peak RSS every ~200k rows: where the tokenizer's chunk
cache (bounded) stops the growth.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
CLI = shutil.which("fastembed-static") or str(Path(sys.executable).with_name("fastembed-static"))

ENCODE = """
import sys, time
from fastembed_static import StaticModel
with open(sys.argv[1], encoding="utf-8") as f:
    texts = f.read().splitlines()
model = StaticModel.default()
model.encode(texts[:2000])  # warm: the first batch builds the chunk cache's structures
start = time.perf_counter()
vectors = model.encode(texts)
print(time.perf_counter() - start, vectors.shape[0])
"""


def paragraphs(archive: Path) -> list[str]:
    with tarfile.open(archive, "r:xz") as tar:
        members = sorted((m for m in tar.getmembers() if m.isfile()), key=lambda m: m.name)
        docs = [tar.extractfile(m).read().decode("utf-8") for m in members]  # type: ignore[union-attr]
    return [" ".join(p.split()) for doc in docs for p in re.split(r"\n\s*\n", doc) if len(p.split()) >= 20]


def write_corpus(path: Path, rows: int, long_every: int) -> tuple[int, int]:
    short = (DATA / "gooaq-10k.txt").read_text(encoding="utf-8").splitlines()
    long = paragraphs(DATA / "peps.tar.xz") + paragraphs(DATA / "austen.tar.xz")
    n_long = 0
    with open(path, "w", encoding="utf-8") as f:
        for i in range(rows):
            if long_every and i % long_every == long_every - 1:
                f.write(f"{long[n_long % len(long)]} #{i}\n")
                n_long += 1
            else:
                f.write(f"{short[i % len(short)]} #{i}\n")
    return n_long, path.stat().st_size


def measure(command: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MiB) and stdout of a command run as a child of a fresh wrapper process (so that
    RUSAGE_CHILDREN is this command's alone)."""
    wrapper = (
        "import resource, subprocess, sys, time, json; t = time.perf_counter();"
        " r = subprocess.run(sys.argv[1:], capture_output=True, text=True); t = time.perf_counter() - t;"
        " sys.stderr.write(r.stderr); assert r.returncode == 0, r.returncode;"
        " print(json.dumps([t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.stdout]))"
    )
    out = subprocess.run([sys.executable, "-c", wrapper, *command], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"failed: {' '.join(command)}\n{out.stderr}")
    seconds, kib, stdout = json.loads(out.stdout)
    return float(seconds), kib / 1024, str(stdout)


PROBE = """
import resource, sys
from fastembed_static import StaticModel
queries = open(sys.argv[1], encoding="utf-8").read().splitlines()
rows = int(sys.argv[2])
texts = (f"{queries[i % len(queries)]} #{i}" for i in range(rows))
done = 0
for batch in StaticModel.default().encode_iter(texts, batch_size=32768):
    done += len(batch)
    if done % (32768 * 6) < 32768 or done == rows:
        print(f"{done:>10,} rows: peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024:,} MiB", flush=True)
"""


def load() -> float:
    return os.getloadavg()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", default="200000,1000000", help="comma-separated line counts")
    parser.add_argument("--long-every", type=int, default=10, help="every K-th line a long paragraph (0: none)")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each; the fastest is reported")
    parser.add_argument("--runs", default="encode,npy,parquet", help="which of encode, npy, parquet to run")
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    parser.add_argument("--probe", type=int, help="only the encode_iter peak-RSS probe over this many rows")
    args = parser.parse_args()
    if args.probe:
        subprocess.run([sys.executable, "-c", PROBE, str(DATA / "gooaq-10k.txt"), str(args.probe)], check=True)
        return
    wanted = args.runs.split(",")
    results: list[dict[str, Any]] = []
    print(f"nproc {os.cpu_count()}, affinity {len(os.sched_getaffinity(0))}, {CLI}")
    print("| lines | MB | what | seconds | texts/s | vs encode | peak RSS MiB | load before/after |")
    print("| ---: | ---: | --- | ---: | ---: | ---: | ---: | --- |")
    for rows in (int(r) for r in args.rows.split(",")):
        with tempfile.TemporaryDirectory(prefix="big-file-bench-") as tmp:
            source = Path(tmp) / "in.txt"
            n_long, size = write_corpus(source, rows, args.long_every)
            runs: dict[str, list[tuple[float, float]]] = {"encode": [], "npy": [], "parquet": []}
            before = load()
            for _ in range(args.repeats):
                if "encode" in wanted:
                    seconds, rss, stdout = measure([sys.executable, "-c", ENCODE, str(source)])
                    encoded, count = stdout.split()
                    assert int(count) == rows
                    runs["encode"].append((float(encoded), rss))
                for kind in (k for k in ("npy", "parquet") if k in wanted):
                    out = Path(tmp) / f"out.{kind}"
                    seconds, rss, _ = measure([CLI, "embed", "--input", str(source), "--output", str(out), "--quiet"])
                    runs[kind].append((seconds, rss))
                    out.unlink()
            after = load()
            base = rows / min(s for s, _ in runs["encode"]) if runs["encode"] else float("nan")
            for what, label in (
                ("encode", "in-memory `encode` (the reference)"),
                ("npy", "CLI → .npy"),
                ("parquet", "CLI → .parquet"),
            ):
                if not runs[what]:
                    continue
                seconds = min(s for s, _ in runs[what])
                rss = max(r for _, r in runs[what])
                rate = rows / seconds
                results.append(
                    {"rows": rows, "long": n_long, "bytes": size, "what": what, "seconds": seconds, "texts_per_s": rate,
                     "ratio": rate / base, "peak_rss_mib": rss, "load": [before, after]}
                )  # fmt: skip
                print(
                    f"| {rows:,} | {size / 1e6:.0f} | {label} | {seconds:.1f} | {rate:,.0f} | {rate / base:.2f} |"
                    f" {rss:,.0f} | {before:.1f} / {after:.1f} |",
                    flush=True,
                )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
