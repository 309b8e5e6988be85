"""Options and the run: ``python asv_bench/compare.py --compare [...]`` (see ``sidebyside/__init__.py``)."""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from . import report as reporting
from . import systems as sysmod
from . import timing
from .workloads import FULL, QUICK, asv_model, make_workloads, model_from_dir


def run(args: argparse.Namespace) -> dict[str, Any]:
    from benchmarks import common

    from fastembed_static import StaticModel

    started = time.time()
    sizes = QUICK if args.quick else FULL
    if args.texts is not None:
        n = args.texts
        sizes = dataclasses.replace(
            sizes,
            short=n,
            paragraphs=n,
            long=max(1, n // 5),
            broad=max(1, n // 5),
            latency=min(sizes.latency, n),
            small=min(sizes.small, n),
        )
    repeats = args.repeats if args.repeats is not None else (3 if args.quick else 7)
    if args.model:
        bench = model_from_dir(args.model, Path(common.cache_dir()) / "models")
    else:
        timing.log(f"the bench model (built once into {common.cache_dir()})")
        bench = asv_model()
    fe = StaticModel.from_pretrained(bench.generated)
    dims = args.dims or [fe.dim]
    for d in dims:
        if not 0 < d <= fe.dim:
            raise SystemExit(f"error: --dims {d} is outside 1..{fe.dim}")
    if args.dtypes is not None:
        dtypes = args.dtypes
    else:  # every storage the generator offers, in a full run
        dtypes = ["float16", "int8"] if not args.quick and common.generator_accepts("dtype") else []
    load_before = os.getloadavg()
    timing.log("tokenizing the workloads")
    workloads = make_workloads(fe, sizes)
    skipped: list[str] = list(bench.notes)
    notes_once: set[str] = set()
    report: dict[str, Any] = {
        "command": " ".join(["python", *getattr(sys, "orig_argv", ["", "asv_bench/compare.py", *sys.argv[1:]])[1:]]),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "model": {"description": bench.description, "generated": str(bench.generated), "dim": fe.dim},
        "batch_size": args.batch_size,
        "budget_s": args.budget,
        "dtypes": dtypes,
        "repeats": repeats,
        "quick": args.quick,
        "modes": args.modes,
        "workloads": [
            {"name": w.name, "texts": len(w.texts), "tokens": w.tokens, "description": w.description} for w in workloads
        ],
        "sections": {},
    }
    ok = True
    by_name = {w.name: w for w in workloads}
    monitor = timing.LoadMonitor()
    with monitor:
        for mode_name in args.modes:
            mode = sysmod.MODES[mode_name]
            for dim in dims:
                where = f"dim={dim}, {mode.label}"
                timing.log(f"{where}: setting up the systems")
                systems = sysmod.make_systems(bench, fe, dim, dtypes, args.batch_size, mode, skipped, notes_once)
                n_short, n_para, n_long, n_broad = sizes.agreement
                sample = (
                    by_name["short"].texts[:n_short]
                    + common.spread(by_name["paragraphs"].texts, n_para)
                    + common.spread(by_name["long"].texts, n_long)
                    + common.spread(by_name["broad"].texts, n_broad)
                    + ["", "[MASK] and [CLS]", "naïve café — 東京"]
                )
                timing.log(f"{where}: agreement check on {len(sample)} texts")
                check = timing.agreement(systems[1:], systems[0], sample, fe)
                ok = ok and all(row["ok"] for row in check)
                # Every object so far (torch, the peers' modules) out of the collector's sight: the gc.collect()
                # before each timed call then costs microseconds instead of scanning millions of objects.
                gc.collect()
                gc.freeze()
                throughput: dict[str, dict[str, list[float]]] = {}
                for workload in workloads:
                    timing.log(
                        f"{where}: {workload.name}: {len(workload.texts)} texts x {len(systems)} systems x {repeats}"
                    )
                    calls = [s.batch(workload.texts) for s in systems]
                    times = timing.interleaved(calls, repeats, args.budget)
                    throughput[workload.name] = {s.name: t for s, t in zip(systems, times)}
                timing.log(f"{where}: 1-text latency over {sizes.latency} queries, 32-text calls over {sizes.small}")
                latency = timing.latencies(systems, by_name["short"].texts[: sizes.latency])
                small = timing.small_batches(systems, common.texts("short", sizes.small))
                report["sections"][reporting.section_key(dim, mode.name)] = {
                    "dim": dim,
                    "mode": mode.name,
                    "mode_label": mode.label,
                    "systems": [{"name": s.name, "role": s.role, "note": s.note} for s in systems],
                    "agreement": check,
                    "throughput": throughput,
                    "latency": latency,
                    "small": small,
                }
                gc.unfreeze()
                del systems
                gc.collect()
        sysmod.apply_threading(sysmod.MODES["1"] if "1" in args.modes else sysmod.MODES["default"])

        timing.log("first pass with an empty tokenizer cache vs warm")
        report["first_pass"] = timing.first_pass(bench.generated, workloads[:2], sizes.first_rounds, args.batch_size)
        with tempfile.TemporaryDirectory(prefix="fastembed-static-compare-") as tmp:
            _subprocess_measurements(report, bench, by_name["short"].texts, Path(tmp), args, sizes)

    report["load"] = monitor.summary()
    report["skipped"] = skipped
    report["agreement_ok"] = ok
    report["threads"] = reporting.thread_info()
    report["versions"] = reporting.versions()
    report["machine"] = reporting.machine_info()
    report["loadavg"] = {"start": list(load_before), "end": list(os.getloadavg())}
    report["peak_rss_this_process_mib"] = timing.peak_rss_kib() / 1024
    report["seconds"] = time.time() - started
    return report


def _subprocess_measurements(
    report: dict[str, Any], bench: Any, short: list[str], cwd: Path, args: argparse.Namespace, sizes: Any
) -> None:
    """Cold start and peak memory, each in fresh processes (run from ``cwd``, not a source tree: ``python -c``
    puts the current directory first on sys.path)."""
    short_file = cwd / "short.json"
    short_file.write_text(json.dumps(short), encoding="utf-8")
    gen = str(bench.generated)
    full = not args.quick
    st = full and bench.st_dir and sysmod.installed("sentence-transformers")
    m2v = full and bench.m2v_dir and sysmod.installed("model2vec")
    laghu = full and bench.m2v_dir and sysmod.installed("laghu")
    commands = [
        ("python -c pass", "pass"),
        ("import numpy", "import numpy"),
        (
            "fastembed-static default model: import, load, encode('x')",
            "import fastembed_static; m = fastembed_static.StaticModel.default(); m.encode('x')",
        ),
        (
            "fastembed-static bench model: import, load, encode('x')",
            f"from fastembed_static import StaticModel; StaticModel.from_pretrained({gen!r}).encode('x')",
        ),
    ]
    if st:
        commands.append(
            (
                "sentence-transformers bench model: import, load, encode('x')",
                "from sentence_transformers import SentenceTransformer;"
                f" SentenceTransformer({str(bench.st_dir)!r}, device='cpu').encode('x')",
            )
        )
    if m2v:
        commands.append(
            (
                "model2vec bench model: import, load, encode('x')",
                f"from model2vec import StaticModel; StaticModel.from_pretrained({str(bench.m2v_dir)!r}).encode('x')",
            )
        )
    if laghu:
        commands.append(
            (
                "laghu+laghu-rs bench model: import, load, encode('x')",
                f"import laghu; laghu.load({str(bench.m2v_dir)!r}, fallback=False).encode('x')",
            )
        )
    timing.log(f"cold start: {len(commands)} commands x {sizes.cold_runs} runs")
    report["cold_start"] = timing.cold_starts(commands, sizes.cold_runs, cwd)

    rss = f"print({timing.PEAK_RSS_KIB_CODE})"
    texts = f"import json; t = json.load(open({str(short_file)!r}))"
    bs = args.batch_size
    rss_commands = [
        ("import numpy only", f"import numpy; {rss}"),
        (
            "fastembed-static",
            f"{texts}; from fastembed_static import StaticModel;"
            f" StaticModel.from_pretrained({gen!r}).encode(t, batch_size={bs}); {rss}",
        ),
    ]
    if st:
        rss_commands.append(
            (
                "sentence-transformers",
                f"{texts}; from sentence_transformers import SentenceTransformer;"
                f" SentenceTransformer({str(bench.st_dir)!r}, device='cpu').encode(t, batch_size={bs}); {rss}",
            )
        )
    if m2v:
        rss_commands.append(
            (
                "model2vec",
                f"{texts}; from model2vec import StaticModel; StaticModel.from_pretrained({str(bench.m2v_dir)!r})"
                f".encode(t, max_length=None, use_multiprocessing=False, batch_size={bs}); {rss}",
            )
        )
    if laghu:
        rss_commands.append(
            (
                "laghu+laghu-rs",
                f"{texts}; import laghu; laghu.load({str(bench.m2v_dir)!r}, fallback=False)"
                f".encode(t, max_length=None, batch_size={bs}); {rss}",
            )
        )
    timing.log("peak RSS, one system per process")
    report["peak_rss_per_system_mib"] = timing.peak_rss_subprocesses(rss_commands, cwd)


def _ints(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def _modes(text: str) -> list[str]:
    modes = [x.strip() for x in text.split(",") if x.strip()]
    bad = [m for m in modes if m not in sysmod.MODES]
    if bad or not modes:
        raise argparse.ArgumentTypeError(f"threading modes are 1 and default, got {text!r}")
    return modes


def main(argv: list[str] | None = None) -> int:
    from . import __doc__ as doc

    parser = argparse.ArgumentParser(
        prog="python asv_bench/compare.py", description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--compare", action="store_true", help="run the side-by-side comparison (required)")
    parser.add_argument("--model", type=Path, help="a model directory (default: the asv suite's bench model)")
    parser.add_argument(
        "--workdir",
        type=Path,
        help="where the bench model and texts are cached (default: $FASTEMBED_STATIC_BENCH_CACHE, else"
        " ~/.cache/fastembed-static/asv, shared with the asv suite)",
    )
    parser.add_argument("--repeats", type=int, help="timed repeats per workload (default 7, --quick 3)")
    parser.add_argument("--quick", action="store_true", help="few texts and repeats: a smoke run (for tests)")
    parser.add_argument("--dims", type=_ints, help="comma-separated dims to compare (default: the model's)")
    parser.add_argument(
        "--modes",
        type=_modes,
        default=["1", "default"],
        help="threading sections, comma-separated: 1 (every system on one thread) and/or default (every system at"
        " its own default); default: 1,default",
    )
    parser.add_argument(
        "--dtypes",
        type=lambda text: [x.strip() for x in text.split(",") if x.strip()],
        help="also time fastembed-static with the table stored as these dtypes, e.g. float16,int8 (default: all"
        " the generator offers; none with --quick)",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=60.0,
        help="seconds per system and workload: a system whose one call takes longer than budget/repeats is timed"
        " fewer times, at least once (default 60)",
    )
    parser.add_argument(
        "--texts", type=int, help="texts per workload (the long and broad ones get a fifth); default 10000, --quick 300"
    )
    parser.add_argument("--batch-size", type=int, default=1024, help="batch_size for every system (default 1024)")
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--markdown", action="store_const", const="markdown", dest="format", help="markdown (default)")
    fmt.add_argument("--json", action="store_const", const="json", dest="format", help="JSON with every timing")
    parser.add_argument("--output", type=Path, help="also write the output to this file")
    args = parser.parse_args(argv)
    if not args.compare:
        parser.error("nothing to do: pass --compare")
    if args.repeats is not None and args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if args.workdir:
        os.environ["FASTEMBED_STATIC_BENCH_CACHE"] = str(args.workdir.resolve())
    result = run(args)
    if args.format == "json":
        result["summary"] = reporting.summary(result)
        result["goals"] = reporting.goals(result)
        text = json.dumps(result, indent=1, default=str) + "\n"
    else:
        text = reporting.markdown(result)
    sys.stdout.write(text)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    return 0 if result["agreement_ok"] else 1
