"""README's "Smaller tables" table: each storage type of the bundled default model's source, generated here, on the
10,000 GooAQ queries (one thread, interleaved repeats, median) and STS-B dev.

python -P ci/storage_table.py [--reps 7] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from fastembed_static import StaticModel
from fastembed_static.gen import generate

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from stsb import stsb_spearman  # noqa: E402

SOURCE = HERE.parent / "gen" / "default_model"
QUERIES = HERE.parent / "tests" / "data" / "gooaq-10k.txt"
DTYPES = ("float32", "float16", "int8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    texts = [t for t in QUERIES.read_text(encoding="utf-8").splitlines() if t.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        models = {d: StaticModel.from_pretrained(generate(SOURCE, Path(tmp) / d, dtype=d)) for d in DTYPES}
        vectors = {d: m.encode(texts, normalize=True, threads=args.threads) for d, m in models.items()}
        times: dict[str, list[float]] = {d: [] for d in DTYPES}
        for _ in range(args.reps):  # interleaved: the machine's load hits every storage type alike
            for d, m in models.items():
                start = time.perf_counter()
                m.encode(texts, threads=args.threads)
                times[d].append(time.perf_counter() - start)
        print(f"{len(texts):,} GooAQ queries, threads={args.threads}, median of {args.reps} interleaved repeats\n")
        print("| storage | table size | texts/s | vs float32 | cosine to float32 (median / min) | STS-B dev Spearman |")
        print("| --- | --- | --- | --- | --- | --- |")
        base = statistics.median(times["float32"])
        for d, m in models.items():
            size = sum(f.stat().st_size for f in m.path.glob("*.bin"))
            cosine = np.einsum("ij,ij->i", vectors[d], vectors["float32"])
            median = statistics.median(times[d])
            print(
                f"| {d} | {size / 1e6:.1f} MB | {len(texts) / median:,.0f} | {base / median:.2f}x "
                f"| {np.median(cosine):.6f} / {cosine.min():.6f} | {stsb_spearman(m):.4f} |"
            )


if __name__ == "__main__":
    main()
