"""Spearman correlation of a model's cosine similarities with the STS-Benchmark dev gold scores.

python ci/stsb.py [--model PATH] [--dim K] [--data tests/data/stsb-dev.jsonl]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from fastembed_static import StaticModel

DEFAULT_DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "stsb-dev.jsonl"


def ranks(values: np.ndarray) -> np.ndarray:
    """Ranks with ties given their average rank (as scipy.stats.rankdata)."""
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    result = np.empty(len(values), dtype=np.float64)
    start = 0
    while start < len(values):
        end = start
        while end + 1 < len(values) and sorted_values[end + 1] == sorted_values[start]:
            end += 1
        result[order[start : end + 1]] = (start + end) / 2 + 1
        start = end + 1
    return result


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(ranks(a), ranks(b))[0, 1])


def stsb_spearman(model: StaticModel, data: Path = DEFAULT_DATA, dim: int | None = None) -> float:
    rows = [json.loads(line) for line in data.read_text(encoding="utf-8").splitlines() if line.strip()]
    left = model.encode([r["sentence1"] for r in rows], normalize=True, dim=dim)
    right = model.encode([r["sentence2"] for r in rows], normalize=True, dim=dim)
    cosine = np.einsum("ij,ij->i", left, right)
    return spearman(cosine, np.array([r["score"] for r in rows], dtype=np.float64))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="generated model or model directory (default: the bundled model)")
    parser.add_argument("--dim", type=int)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    model = StaticModel.default() if args.model is None else StaticModel.from_pretrained(args.model)
    print(
        f"STS-B dev Spearman: {stsb_spearman(model, args.data, args.dim):.4f} ({model.path}, dim={args.dim or model.dim})"
    )


if __name__ == "__main__":
    main()
