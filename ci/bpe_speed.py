"""BPE speed, side by side on one thread: fastembed-static against HF ``tokenizers`` (what model2vec and
sentence-transformers run), model2vec's ``encode`` and laghu (which hands BPE models to ``tokenizers``).

    RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false python ci/bpe_speed.py [--rounds 5] [--texts N]
        [--model gpt2|openllama|openllama-metaspace|roberta] [--text mixed|multilingual]

Builds a model2vec-layout folder from a real tokenizer of tests/data with a random table of its shape (256 wide):
``gpt2`` the GPT-2 byte-level BPE (truncation dropped; 50,257 rows), ``openllama`` the OpenLLaMA SentencePiece-style
BPE as saved (legacy: Prepend + Replace normalizer, no pre-tokenizer; 32,001 rows), ``openllama-metaspace`` the same
in its Metaspace(prepend_scheme first) form, ``roberta`` RoBERTa's byte-level BPE (``<mask>`` with lstrip; truncation
dropped; 50,265 rows). Then times, per library, tokenizing and embedding the same texts
(``mixed``: GooAQ queries and the multilingual translations of tests/data interleaved; ``multilingual``: the
translations alone, in the file's order) with a warm cache: the median of ``--rounds`` rounds after one warm-up
round. Prints ``uptime`` before and after (the machine is shared: compare only numbers of one run). The libraries
missing from the venv are skipped with a note. Peers: static-embed-runner has no BPE (it refuses the model), so it
is not in the table.
"""

from __future__ import annotations

import argparse
import json
import lzma
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.append(str(REPO))  # for tests.helpers; fastembed_static comes from the installed package
os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("FASTEMBED_STATIC_THREADS", "1")


MODELS = {  # name: (tokenizer.json.xz under tests/data, table rows)
    "gpt2": ("gpt2/tokenizer.json.xz", 50257),
    "openllama": ("openllama/tokenizer.json.xz", 32001),
    "openllama-metaspace": ("openllama/tokenizer.json.xz", 32001),
    "roberta": ("roberta/tokenizer.json.xz", 50265),
}


def make_folder(root: Path, name: str = "gpt2") -> Path:
    from safetensors.numpy import save_file

    source, rows = MODELS[name]
    with lzma.open(REPO / "tests" / "data" / source, "rt", encoding="utf-8") as f:
        data = json.load(f)
    data["truncation"] = None
    if name == "openllama-metaspace":  # the form transformers' Llama converter writes with legacy=False
        data["normalizer"] = None
        data["pre_tokenizer"] = {
            "type": "Metaspace",
            "replacement": "\u2581",
            "prepend_scheme": "first",
            "split": False,
        }
    root.mkdir(parents=True, exist_ok=True)
    (root / "tokenizer.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    (root / "config.json").write_text(json.dumps({"model_type": "model2vec", "normalize": True}), encoding="utf-8")
    table = np.random.default_rng(22).standard_normal((rows, 256), dtype=np.float32)
    save_file({"embeddings": table}, str(root / "model.safetensors"))
    return root


def texts(limit: int, kind: str = "mixed") -> list[str]:
    from tests.helpers import gooaq_queries
    from tests.multilingual import multilingual_texts

    if kind == "multilingual":
        return multilingual_texts()[:limit]
    english, other = gooaq_queries(), multilingual_texts()
    mixed = [t for pair in zip(english, other[:: max(1, len(other) // len(english))]) for t in pair]
    return mixed[:limit]


def median_seconds(run: Callable[[], Any], rounds: int) -> float:
    run()
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--texts", type=int, default=20000)
    parser.add_argument("--peers-only", action="store_true", help="skip fastembed-static (a venv without BPE support)")
    parser.add_argument("--model", choices=sorted(MODELS), default="gpt2")
    parser.add_argument("--text", choices=["mixed", "multilingual"], default="mixed")
    args = parser.parse_args()
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    items = texts(args.texts, args.text)
    chars = sum(map(len, items))
    rows: list[tuple[str, str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = make_folder(Path(tmp) / f"{args.model}-static", args.model)
        from tokenizers import Tokenizer

        hf = Tokenizer.from_file(str(folder / "tokenizer.json"))
        if not args.peers_only:
            import fastembed_static

            model = fastembed_static.StaticModel.from_pretrained(folder, cache_dir=Path(tmp) / "cache")
            expected = [e.ids for e in hf.encode_batch(items, add_special_tokens=False)]
            assert expected == [model.tokenize(t) for t in items], "ids differ from tokenizers'"
            seconds = median_seconds(lambda: [model.tokenize(t) for t in items], args.rounds)
            rows.append(("fastembed-static", "tokenize", seconds))
        seconds = median_seconds(lambda: hf.encode_batch_fast(items, add_special_tokens=False), args.rounds)
        rows.append(("tokenizers encode_batch_fast", "tokenize", seconds))
        if not args.peers_only:
            rows.append(
                ("fastembed-static", "encode", median_seconds(lambda: model.encode(items, threads=1), args.rounds))
            )
        try:
            from model2vec import StaticModel as M2V

            m2v = M2V.from_pretrained(str(folder))
            rows.append(
                (
                    "model2vec",
                    "encode",
                    median_seconds(lambda: m2v.encode(items, use_multiprocessing=False), args.rounds),
                )
            )
        except ImportError:
            print("model2vec not installed: skipped")
        try:
            import laghu  # type: ignore[import-not-found]

            lean = laghu.load(str(folder))
            rows.append(
                (
                    f"laghu ({type(lean).__name__})",
                    "encode",
                    median_seconds(lambda: lean.encode(items, use_multiprocessing=False), args.rounds),
                )
            )
        except ImportError:
            print("laghu not installed: skipped")
    print(f"model {args.model}, text {args.text}: {len(items)} texts, {chars} characters, one thread,", end=" ")
    print(f"median of {args.rounds} rounds")
    print("| library | what | seconds | texts/s |")
    print("| --- | --- | ---: | ---: |")
    for name, what, seconds in rows:
        print(f"| {name} | {what} | {seconds:.3f} | {len(items) / seconds:,.0f} |")
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
