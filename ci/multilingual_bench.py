"""Side by side on the multilingual text: fastembed-static vs laghu + laghu-rs, one process, interleaved rounds,
medians (issue 22).

    python -P ci/multilingual_bench.py [--tokenizer mbert-cased|mbert-uncased|PATH] [--dim 256] [--rounds 7]

The texts: every text of ``tests/data/multilingual.jsonl.xz`` (48,662 real translations in 34 languages), shuffled
with a fixed seed so that no language runs alone. The model: ``--tokenizer`` (default: the real
bert-base-multilingual-cased tokenizer of tests/data; ``mbert-uncased``: the same vocabulary with the uncased
normalizer, lowercase and strip_accents null; or the path of any ``tokenizer.json``) with a random float32 table of
its vocabulary's rows x ``--dim`` (fixed seed), written in the sentence-transformers layout (generated for
fastembed-static) and the model2vec layout (for laghu). Vectors are checked first (laghu drops [UNK] as model2vec
does, so the check uses texts without [UNK]). Systems: fastembed-static with one thread and with its default
threads; laghu (laghu-rs tokenizer) with one thread and with its default. ``uptime`` is printed before and after:
on a shared machine compare the ratios of one run, not absolute numbers.

Needs: pip install laghu==0.4.0 laghu-rs==0.2.0 (and safetensors).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
WORK = Path(os.environ.get("MULTILINGUAL_BENCH_WORK", "/tmp/multilingual-bench"))
SEED = 22


def tokenizer_file(name: str) -> Path:
    """The tokenizer.json to benchmark: a path, or one of the tests' real files (unpacked into WORK)."""
    if name not in ("mbert-cased", "mbert-uncased"):
        return Path(name)
    sys.path.insert(0, str(REPO))
    try:
        from tests.helpers import mbert_cased_tokenizer
    finally:
        sys.path.pop(0)
    options: dict[str, object] = {"lowercase": True, "strip_accents": None} if name == "mbert-uncased" else {}
    return mbert_cased_tokenizer(WORK / name / "tokenizer", truncation=False, **options)


def build_models(tokenizer: Path, dim: int) -> tuple[Path, Path]:
    """The sentence-transformers and model2vec layouts of one random table behind ``tokenizer``."""
    from safetensors.numpy import save_file

    raw = tokenizer.read_bytes()
    rows = len(json.loads(raw)["model"]["vocab"])
    root = WORK / f"{hashlib.sha256(raw).hexdigest()[:16]}-{rows}x{dim}"  # one folder per tokenizer.json and shape
    st, m2v = root / "st", root / "model2vec"
    if not (m2v / "model.safetensors").is_file():
        table = np.random.default_rng(SEED).standard_normal((rows, dim), dtype=np.float32)
        for folder in (st, m2v):
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "tokenizer.json").write_bytes(raw)
        modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.StaticEmbedding"}]
        (st / "modules.json").write_text(json.dumps(modules), encoding="utf-8")
        save_file({"embedding.weight": table}, str(st / "model.safetensors"))
        (m2v / "config.json").write_text(json.dumps({"normalize": False, "hidden_dim": dim}), encoding="utf-8")
        save_file({"embeddings": table}, str(m2v / "model.safetensors"))
    return st, m2v


def texts() -> list[str]:
    sys.path.insert(0, str(REPO))
    try:
        from tests.multilingual import multilingual_texts
    finally:
        sys.path.pop(0)
    all_texts = multilingual_texts()
    random.Random(SEED).shuffle(all_texts)
    return all_texts


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokenizer", default="mbert-cased")
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    import laghu  # type: ignore[import-untyped]

    import fastembed_static
    from fastembed_static import StaticModel

    print(f"fastembed_static {fastembed_static.__file__}, COMPILED={fastembed_static.COMPILED}; laghu {laghu.__file__}")
    st, m2v = build_models(tokenizer_file(args.tokenizer), args.dim)
    batch = texts()
    fe = StaticModel.from_pretrained(st, cache_dir=WORK / "cache")
    lg = laghu.load(str(m2v), fallback=False)
    lg_default = lg.tokenizer.threads
    tokens = sum(len(fe.tokenize(t)) for t in batch)
    print(
        f"{args.tokenizer}: {len(batch):,} texts, {tokens / len(batch):.1f} tokens/text, table {fe.vocab_size}x{fe.dim}"
    )

    def laghu_encode(threads: int) -> Callable[[list[str]], Any]:
        def run(texts: list[str]) -> Any:
            lg.tokenizer.threads = threads
            return lg.encode(texts, max_length=None, use_multiprocessing=False)

        return run

    unk = int(fe.metadata["tokenizer"]["unk_id"])
    sample = [t for t in batch[:5000] if (ids := fe.tokenize(t)) and unk not in ids]
    diff = float(np.abs(fe.encode(sample) - np.asarray(laghu_encode(1)(sample), dtype=np.float32)).max())
    print(f"parity: max |fastembed-static - laghu| = {diff:.2e} on {len(sample)} texts without [UNK]")

    systems: dict[str, Callable[[list[str]], Any]] = {
        "fastembed-static, 1 thread": lambda b: fe.encode(b, threads=1),
        "fastembed-static, default threads": lambda b: fe.encode(b),
        "laghu+laghu-rs, 1 thread": laghu_encode(1),
        f"laghu+laghu-rs, default ({lg_default} threads)": laghu_encode(lg_default),
    }
    for fn in systems.values():
        fn(batch)  # warm: caches, pages of the table
    print(f"uptime before: {uptime()}")
    results: dict[str, list[float]] = {name: [] for name in systems}
    for _ in range(args.rounds):
        for name, fn in systems.items():
            start = time.perf_counter()
            fn(batch)
            results[name].append(len(batch) / (time.perf_counter() - start))
    print(f"uptime after:  {uptime()}")
    print()
    print(f"| system ({args.tokenizer}, {len(batch):,} multilingual texts) | texts/s (median of {args.rounds}) |")
    print("| --- | ---: |")
    med = {name: statistics.median(v) for name, v in results.items()}
    for name, value in med.items():
        print(f"| {name} | {value:,.0f} |")
    one = med["fastembed-static, 1 thread"] / med["laghu+laghu-rs, 1 thread"]
    print(f"\none thread: fastembed-static / laghu+laghu-rs = {one:.2f}x")


if __name__ == "__main__":
    main()
