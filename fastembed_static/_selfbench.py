"""``fastembed-static bench``: how fast this package embeds on this machine (a Raspberry Pi, a laptop, a server).

Measures only this package (no other library is imported): a warm model encoding short texts and long texts,
and one text per call, with the default model or ``--model``, on a small built-in text set or the lines of a
file. The side-by-side comparison with other libraries lives in the repository (``asv_bench/compare.py``).
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

# A small built-in text set: short questions, and long texts made of many of them (about 400 tokens each).
_SENTENCES = (
    "How long does it take to boil an egg?",
    "What is the capital of Australia?",
    "Why is the sky blue during the day and red at sunset?",
    "How many bones are in the human body?",
    "Can dogs eat grapes safely?",
    "What does a static embedding model do with the words of a sentence?",
    "Which planet has the most moons in our solar system?",
    "How do I reset a forgotten password on my router?",
    "What is the difference between weather and climate?",
    "When was the first printing press invented, and by whom?",
    "Is it better to rent or to buy a house in a city?",
    "How much water should an adult drink every day?",
    "What causes the seasons to change on Earth?",
    "Where do the longest rivers in Africa begin and end?",
    "Why do cats purr when they are content, and sometimes when they are not?",
    "How are vaccines tested before they are approved for use?",
)
SHORT_TEXTS = 2048
LONG_TEXTS = 128
LONG_SENTENCES = 32


def builtin_texts() -> tuple[list[str], list[str]]:
    """(short, long): the built-in questions repeated, and long texts of ``LONG_SENTENCES`` questions each."""
    n = len(_SENTENCES)
    short = [_SENTENCES[i % n] for i in range(SHORT_TEXTS)]
    long = [" ".join(_SENTENCES[(i + j) % n] for j in range(LONG_SENTENCES)) for i in range(LONG_TEXTS)]
    return short, long


def file_texts(path: str) -> tuple[list[str], list[str]]:
    """(short, long) from the non-empty lines of a UTF-8 file: the lines, and runs of 32 lines joined."""
    with open(path, encoding="utf-8") as f:
        lines = [line.rstrip("\n") for line in f if line.strip()]
    if not lines:
        raise ValueError(f"{path}: no non-empty lines to benchmark")
    long = [" ".join(lines[i : i + LONG_SENTENCES]) for i in range(0, len(lines), LONG_SENTENCES)]
    return lines, long


def _median_seconds(call: Callable[[], object], repeats: int) -> float:
    call()  # warm: tokenizer cache, table pages
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(model: Any, short: list[str], long: list[str], repeats: int) -> list[tuple[str, int, int, float]]:
    """(workload, texts, tokens, median seconds) for each workload."""
    rows = []
    for name, texts in (("short", short), ("long", long)):
        tokens = sum(len(model.tokenize(t)) for t in texts)
        rows.append((name, len(texts), tokens, _median_seconds(functools.partial(model.encode, texts), repeats)))
    one = short[: min(len(short), 200)]

    def each() -> None:
        for text in one:
            model.encode(text)

    tokens = sum(len(model.tokenize(t)) for t in one)
    rows.append(("1 text per call", len(one), tokens, _median_seconds(each, repeats)))
    return rows


def report(model: Any, rows: list[tuple[str, int, int, float]], source: str) -> str:
    from . import COMPILED

    try:
        import numpy

        numpy_version = numpy.__version__
    except ImportError:  # pragma: no cover - numpy is a dependency
        numpy_version = "?"
    lines = [
        f"fastembed-static on {platform.machine()} ({os.cpu_count()} cores), {platform.python_implementation()}"
        f" {platform.python_version()}, numpy {numpy_version}, tokenizer {'compiled' if COMPILED else 'pure Python'}",
        f"model: {model.path} ({model.vocab_size} x {model.dim}); texts: {source}; encode() with its defaults; medians of warm calls",
        "",
        f"{'workload':<16} {'texts':>6} {'tokens/text':>11} {'texts/s':>10} {'tokens/s':>11} {'µs/text':>9}",
    ]
    for name, texts, tokens, seconds in rows:
        lines.append(
            f"{name:<16} {texts:>6} {tokens / texts:>11.1f} {texts / seconds:>10,.0f} {tokens / seconds:>11,.0f}"
            f" {seconds / texts * 1e6:>9.1f}"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from .model import StaticModel

    model = StaticModel.default() if args.model is None else StaticModel.from_pretrained(args.model)
    short, long = builtin_texts() if args.input is None else file_texts(args.input)
    if args.repeats < 1:
        raise ValueError("--repeats must be at least 1")
    rows = measure(model, short, long, args.repeats)
    source = "built-in" if args.input is None else args.input
    print(report(model, rows, source))
    return 0


def add_parser(sub: Any) -> None:
    """The ``bench`` subcommand of the ``fastembed-static`` CLI."""
    bench = sub.add_parser("bench", help="measure this package's speed on this machine (no other library)")
    bench.add_argument("--model", help="model directory or hub id (default: the bundled model)")
    bench.add_argument("--input", help="UTF-8 file, one text per line (default: a small built-in set)")
    bench.add_argument("--repeats", type=int, default=5, help="timed calls per workload (default 5)")
    bench.set_defaults(run=run)
