"""Side-by-side A/B for the engine speed work: fastembed-static (options) vs laghu + laghu-rs, one process,
interleaved repetitions, medians.

    python -P ci/speed_ab.py [--reps 5] [--only short,long] [--before DIR]

Same random 30522x1024 float32 table (tests' SEED) with the real static-retrieval-mrl-en-v1 tokenizer, written in
the sentence-transformers layout (generated for fastembed-static) and the model2vec layout (for laghu). Vectors are
checked equal first (laghu drops [UNK] like model2vec, so the check uses texts without [UNK]).

Workloads: short = the 10,000 GooAQ queries; paragraphs = PEP paragraphs (first 10,000); long = PEP documents cut
at line ends into ~400-token chunks (2,000); latency = one encode(text) per query (first 2,000 queries).
``--before DIR``: a copy of the package as it was, importable from DIR as ``fastembed_static_before`` (see --help).
Needs: pip install laghu==0.4.0 laghu-rs==0.2.0 nanotoken==0.1.0 (and safetensors).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
TESTS = REPO / "tests"
DATA = TESTS / "data"
WORK = Path(os.environ.get("SPEED_AB_WORK", "/tmp/speed-ab"))
SEED = 20261126


def _common() -> Any:
    """The asv suite's module for the bench data (asv_bench/benchmarks/common.py): one reader of tests/data and one
    chunker for the whole repository."""
    sys.path.insert(0, str(REPO / "asv_bench" / "benchmarks"))
    try:
        import common
    finally:
        sys.path.pop(0)
    return common


def load_texts() -> dict[str, list[str]]:
    import re

    common = _common()
    gooaq = (DATA / "gooaq-10k.txt").read_text(encoding="utf-8").splitlines()
    docs = common.pep_documents()
    paragraphs = [p for d in docs for p in re.split(r"\n\s*\n", d) if p.strip()]
    return {"short": gooaq, "paragraphs": paragraphs[:10000], "docs": docs}


def chunk(docs: list[str], count: Callable[[str], int], target: int = 400, limit: int = 2000) -> list[str]:
    chunks: list[str] = _common().chunk_documents(docs, count, target)
    step = max(1, len(chunks) // limit)
    return chunks[::step][:limit]


def build_models() -> dict[str, Path]:
    from safetensors.numpy import save_file

    from fastembed_static.gen import generate

    tokenizer = DATA / "static-retrieval-mrl-en-v1" / "tokenizer.json"
    root = WORK / "mrl-random"
    st, m2v = root / "st", root / "model2vec"
    out = {"st": st, "m2v": m2v}
    if not (m2v / "model.safetensors").is_file():
        table = np.random.default_rng(SEED).standard_normal((30522, 1024), dtype=np.float32)
        st.mkdir(parents=True, exist_ok=True)
        modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.StaticEmbedding"}]
        (st / "modules.json").write_text(json.dumps(modules), encoding="utf-8")
        (st / "tokenizer.json").write_bytes(tokenizer.read_bytes())
        save_file({"embedding.weight": table}, str(st / "model.safetensors"))
        m2v.mkdir(parents=True, exist_ok=True)
        (m2v / "config.json").write_text(json.dumps({"normalize": False, "hidden_dim": 1024}), encoding="utf-8")
        (m2v / "tokenizer.json").write_bytes(tokenizer.read_bytes())
        save_file({"embeddings": table}, str(m2v / "model.safetensors"))
    for name, kwargs in {
        "f32": {},
        "f16": {"dtype": "float16"},
        "i8": {"dtype": "int8"},
        "d256": {"dims": 256},
    }.items():
        target = root / f"gen-{name}"
        if not (target / "model.json").is_file():
            generate(st, target, **kwargs)
        out[name] = target
    return out


def timeit(fn: Callable[[list[str]], Any], batch: list[str]) -> float:
    t = time.perf_counter()
    fn(batch)
    return time.perf_counter() - t


def one_thread(model: Any, has_threads: bool) -> Callable[[list[str]], Any]:
    if has_threads:
        return lambda b: model.encode(b, threads=1)
    return lambda b: model.encode(b)


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def breakdown(fe: Any, workloads: dict[str, list[str]], reps: int) -> None:
    """Where the time goes, one thread: tokenize (ids as numpy arrays), pool (numpy), and the rest (Python glue:
    argument checks, unit splitting, output allocation), as medians of interleaved repetitions. For one text
    (``encode(str)``): the compiled tokenizer, ``mean_one``, and the rest."""
    from fastembed_static import _pooling
    from fastembed_static.model import _units

    table = fe._table
    print(f"load average before: {loadavg()}")
    print("| input | encode | tokenize | pool | rest (Python) |")
    print("|---|---:|---:|---:|---:|")
    for name in ("short", "long"):
        batch = workloads[name]
        fe.encode(batch, threads=1)
        units = _units(batch, 1024)  # the same units of work as encode
        pre = [fe._tokenize_batch(batch[a:b], a) for a, b in units]
        samples: dict[str, list[float]] = {"encode": [], "tokenize": [], "pool": []}
        for _ in range(reps):
            t = time.perf_counter()
            fe.encode(batch, threads=1)
            samples["encode"].append(time.perf_counter() - t)
            t = time.perf_counter()
            for a, b in units:
                fe._tokenize_batch(batch[a:b], a)
            samples["tokenize"].append(time.perf_counter() - t)
            t = time.perf_counter()
            for ids, lengths in pre:
                _pooling.mean_pool(table, ids, lengths)
            samples["pool"].append(time.perf_counter() - t)
        m = {k: statistics.median(v) / len(batch) * 1e6 for k, v in samples.items()}
        rest = m["encode"] - m["tokenize"] - m["pool"]
        print(
            f"| {name} batch ({len(batch)} texts), per text | {m['encode']:.2f} us | {m['tokenize']:.2f} us "
            f"| {m['pool']:.2f} us | {rest:.2f} us |"
        )
    for name, text in (("one short text", workloads["short"][0]), ("one long text", workloads["long"][0])):
        ids = fe._tokenizer.encode(text)
        single: dict[str, list[float]] = {"encode": [], "tokenize": [], "pool": []}
        calls: dict[str, Callable[[], Any]] = {
            "encode": lambda text=text: fe.encode(text),
            "tokenize": lambda text=text: fe._tokenizer.encode(text),
            "pool": lambda ids=ids: _pooling.mean_one(table, ids),
        }
        for _ in range(reps * 200):
            for key, call in calls.items():
                t = time.perf_counter()
                call()
                single[key].append(time.perf_counter() - t)
        m = {k: statistics.median(v) * 1e6 for k, v in single.items()}
        print(
            f"| {name} ({len(ids)} tokens), encode(str) | {m['encode']:.2f} us | {m['tokenize']:.2f} us "
            f"| {m['pool']:.2f} us | {m['encode'] - m['tokenize'] - m['pool']:.2f} us |"
        )
    print(f"load average after: {loadavg()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--only", default="short,paragraphs,long,latency,dtypes")
    parser.add_argument("--systems", default="", help="comma-separated subset of system names")
    parser.add_argument("--before", type=Path, default=None)
    parser.add_argument("--breakdown", action="store_true", help="only the tokenize / pool / overhead breakdown")
    args = parser.parse_args()
    only = set(args.only.split(","))

    import fastembed_static
    from fastembed_static import StaticModel

    print(f"fastembed_static from {fastembed_static.__file__}, COMPILED={fastembed_static.COMPILED}")
    paths = build_models()
    texts = load_texts()
    fe = StaticModel.from_pretrained(paths["f32"])
    workloads = {"short": texts["short"], "paragraphs": texts["paragraphs"]}
    workloads["long"] = chunk(texts["docs"], lambda s: len(fe.tokenize(s)))
    for name, w in workloads.items():
        tokens = sum(len(fe.tokenize(t)) for t in w)
        print(f"workload {name}: {len(w)} texts, {tokens / len(w):.1f} tokens/text")

    if args.breakdown:
        breakdown(fe, workloads, args.reps)
        return

    import laghu

    lg = laghu.load(str(paths["m2v"]), fallback=False)
    lg_threads_default = lg.tokenizer.threads

    def laghu_encode(threads: int) -> Callable[[list[str]], Any]:
        def run(batch: list[str]) -> Any:
            lg.tokenizer.threads = threads
            return lg.encode(batch, max_length=None, use_multiprocessing=False)

        return run

    # parity first: laghu drops [UNK] (model2vec), so compare on texts without it
    unk = int(fe.metadata["tokenizer"]["unk_id"])
    for name, w in workloads.items():
        sample = [t for t in w[:2000] if (ids := fe.tokenize(t)) and unk not in ids][:500]
        a = fe.encode(sample)
        b = np.asarray(laghu_encode(1)(sample), dtype=np.float32)
        print(
            f"parity {name}: max |fastembed-static - laghu| = {float(np.abs(a - b).max()):.2e} on {len(sample)} texts"
        )

    systems: dict[str, Callable[[list[str]], Any]] = {}
    fe_models = {"f32": fe}
    for key in ("f16", "i8", "d256"):
        fe_models[key] = StaticModel.from_pretrained(paths[key])
    extra = {}
    try:
        import inspect

        params = inspect.signature(StaticModel.encode).parameters
        extra = {k: k in params for k in ("threads", "workers")}
    except (TypeError, ValueError):
        pass
    has_threads = extra.get("threads", False)
    if has_threads:
        systems["fe 1 thread"] = lambda b: fe.encode(b, threads=1)
        systems["fe default"] = lambda b: fe.encode(b)
    else:
        systems["fe"] = lambda b: fe.encode(b)
    systems["laghu 1 thread"] = laghu_encode(1)
    systems[f"laghu default ({lg_threads_default} threads)"] = laghu_encode(lg_threads_default)
    if args.before is not None:
        sys.path.insert(0, str(args.before))
        import fastembed_static_before  # type: ignore[import-not-found]

        old = fastembed_static_before.StaticModel.from_pretrained(paths["f32"])
        systems["fe before"] = lambda b: old.encode(b)
    if args.systems:
        keep = set(args.systems.split(","))
        systems = {k: v for k, v in systems.items() if k in keep or k.split(" (")[0] in keep}
    dtype_systems: dict[str, Callable[[list[str]], Any]] = {}
    if "dtypes" in only:
        for key in ("f32", "f16", "i8", "d256"):
            dtype_systems[f"fe {key} 1 thread"] = one_thread(fe_models[key], has_threads)

    print(f"load average before: {loadavg()}  (cpu count {os.cpu_count()})")
    results: dict[tuple[str, str], list[float]] = {}
    for w in ("short", "paragraphs", "long"):
        if w not in only:
            continue
        batch = workloads[w]
        for fn in systems.values():
            fn(batch[:2000])  # warm caches and pages
        for _ in range(args.reps):
            for sname, fn in systems.items():
                results.setdefault((w, sname), []).append(len(batch) / timeit(fn, batch))
    if "dtypes" in only:
        batch = workloads["long"]
        for fn in dtype_systems.values():
            fn(batch[:500])
        for _ in range(args.reps):
            for sname, fn in dtype_systems.items():
                results.setdefault(("long", sname), []).append(len(batch) / timeit(fn, batch))
    lat: dict[str, float] = {}
    if "latency" in only:
        queries = workloads["short"][:2000]
        lat_systems = {"fe": lambda t: fe.encode(t), "laghu 1 thread": lambda t: laghu_encode(1)([t])}
        for fn in lat_systems.values():
            for q in queries[:200]:
                fn(q)
        samples: dict[str, list[float]] = {k: [] for k in lat_systems}
        for _ in range(max(1, args.reps // 2)):
            for name, fn in lat_systems.items():
                for q in queries:
                    t = time.perf_counter()
                    fn(q)
                    samples[name].append(time.perf_counter() - t)
        lat = {k: statistics.median(v) * 1e6 for k, v in samples.items()}
    print(f"load average after: {loadavg()}")
    print()
    print("| workload | system | texts/s (median) | runs |")
    print("|---|---|---:|---:|")
    for (w, s), v in results.items():
        print(f"| {w} | {s} | {statistics.median(v):,.0f} | {len(v)} |")
    for k, v in lat.items():
        print(f"| latency | {k} | {v:.1f} us p50 | |")
    med = {k: statistics.median(v) for k, v in results.items()}
    print()
    for w in ("short", "paragraphs", "long"):
        ref1 = med.get((w, "laghu 1 thread"))
        refd = med.get((w, f"laghu default ({lg_threads_default} threads)"))
        one = med.get((w, "fe 1 thread"), med.get((w, "fe")))
        dflt = med.get((w, "fe default"))
        line = f"{w}:"
        if one and ref1:
            line += f" fe 1 thread / laghu 1 thread = {one / ref1:.2f}x;"
        if dflt and refd:
            line += f" fe default / laghu default = {dflt / refd:.2f}x;"
        if dflt and one:
            line += f" fe default / fe 1 thread = {dflt / one:.2f}x;"
        if (w, "fe before") in med and one:
            line += f" fe 1 thread / fe before = {one / med[(w, 'fe before')]:.2f}x;"
        print(line)
    if "dtypes" in only and ("long", "fe f32 1 thread") in med:
        base = med[("long", "fe f32 1 thread")]
        print(
            "long, one thread, vs float32 1024: "
            + ", ".join(f"{k} {med[('long', f'fe {k} 1 thread')] / base:.2f}x" for k in ("f16", "i8", "d256"))
        )
    if lat:
        print(f"latency: fe {lat['fe']:.1f} us vs laghu {lat['laghu 1 thread']:.1f} us")


if __name__ == "__main__":
    main()
