"""What the run found: medians and ratios per section, the speed goals judged, the markdown report."""

from __future__ import annotations

import os
import platform
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .systems import LAGHU, installed, module
from .timing import TOLERANCE

ME = "fastembed-static"


def median(xs: Sequence[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def _rate(x: float) -> str:
    if x != x:
        return "–"
    if x >= 1e6:
        return f"{x / 1e6:.2f}M"
    if x >= 1e4:
        return f"{x / 1e3:.0f}k"
    return f"{x:,.0f}"


def _us(seconds: float) -> str:
    if seconds != seconds:
        return "–"
    us = seconds * 1e6
    return f"{us:.0f}" if us >= 100 else f"{us:.1f}"


def _ratio(x: float) -> str:
    return "–" if x != x else f"{x:.2f}×"


def summary(report: dict[str, Any]) -> dict[str, dict[str, dict[str, float]]]:
    """Medians, rates and ratios per section and system (what the tables show). ``*_ratio``: how many times faster
    fastembed-static is than the system (in the same section)."""
    tokens = {w["name"]: (w["texts"], w["tokens"]) for w in report["workloads"]}
    out: dict[str, dict[str, dict[str, float]]] = {}
    for key, data in report["sections"].items():
        rows: dict[str, dict[str, float]] = {}
        for system in data["systems"]:
            name = system["name"]
            row: dict[str, float] = {}
            for workload, per_system in data["throughput"].items():
                m = median(per_system.get(name, []))
                texts, toks = tokens[workload]
                row[f"{workload}_texts_per_s"] = texts / m
                row[f"{workload}_tokens_per_s"] = toks / m
                row[f"{workload}_median_s"] = m
            lat = data["latency"].get(name)
            row["latency_p50_s"] = median(lat) if lat else float("nan")
            row["latency_p99_s"] = float(np.percentile(lat, 99)) if lat else float("nan")
            small = data.get("small", {}).get(name)
            row["small_p50_s"] = median(small) if small else float("nan")
            rows[name] = row
        ref = rows[ME]
        for row in rows.values():
            for workload in data["throughput"]:
                row[f"{workload}_ratio"] = ref[f"{workload}_texts_per_s"] / row[f"{workload}_texts_per_s"]
            row["latency_ratio"] = row["latency_p50_s"] / ref["latency_p50_s"]
            row["small_ratio"] = row["small_p50_s"] / ref["small_p50_s"]
        out[key] = rows
    return out


# The goals of issue 9 ("Speed II"), and the cold start goal of the first speed issue.
GOAL_VS_LAGHU_ONE = 1.0  # one thread: fastembed-static / laghu+laghu-rs, every workload and 1-text latency
GOAL_VS_ST_ONE = 5.0  # one thread throughput vs sentence-transformers
GOAL_VS_M2V_ONE = 4.0  # one thread throughput vs model2vec
GOAL_LATENCY_VS_ST = 30.0
GOAL_VS_LAGHU_DEFAULT = 1.2  # each at its default on all cores
GOAL_SCALING = {"short": 1.4, "paragraphs": 1.7, "long": 1.7}  # default (all cores) / one thread
GOAL_SMALL_CALLS = 1.0  # the default must not make one text or 32 texts slower than one thread
GOAL_DTYPE = 1.5  # int8 and float16 / float32 throughput on long texts at 1024 dims
GOAL_DIMS_256 = 3.0  # a table generated with dims=256 / the 1024-dim table on long texts
GOAL_COLD_START_MS = 25.0


def _verdict(measured: float, target: float, higher_is_better: bool = True) -> str:
    if measured != measured:  # NaN: not measured
        return "not measured"
    met = measured >= target if higher_is_better else measured <= target
    return "met" if met else f"missed by {abs(target - measured) / target:.0%}"


def section_key(dim: int | str, mode: str) -> str:
    return f"dim={dim}, threads={mode}"


def goals(report: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """Each speed goal: (goal, target, measured, verdict); "not measured" when its systems or sections did not run."""
    stats = summary(report)
    full = str(report["model"]["dim"])
    one = stats.get(section_key(full, "1"), {})
    default = stats.get(section_key(full, "default"), {})
    workloads = [w["name"] for w in report["workloads"]]
    nan = float("nan")
    out: list[tuple[str, str, str, str]] = []

    def add(goal: str, target: float, got: float, unit: str = "x", higher: bool = True) -> None:
        shown = "–" if got != got else (f"{got:.2f}{unit}" if unit == "x" else f"{got:.0f}{unit}")
        out.append((goal, f"{'>=' if higher else '<='} {target:g}{unit}", shown, _verdict(got, target, higher)))

    def ratio(rows: dict[str, dict[str, float]], system: str, field: str) -> float:
        return rows[system][field] if system in rows and ME in rows else nan

    # 1. one thread
    for w in workloads:
        add(f"1 thread, {w}: vs {LAGHU}", GOAL_VS_LAGHU_ONE, ratio(one, LAGHU, f"{w}_ratio"))
    add(f"1 thread, 1-text latency: vs {LAGHU}", GOAL_VS_LAGHU_ONE, ratio(one, LAGHU, "latency_ratio"))
    for w in workloads:
        add(
            f"1 thread, {w}: vs sentence-transformers",
            GOAL_VS_ST_ONE,
            ratio(one, "sentence-transformers", f"{w}_ratio"),
        )
    for w in workloads:
        add(f"1 thread, {w}: vs model2vec", GOAL_VS_M2V_ONE, ratio(one, "model2vec", f"{w}_ratio"))
    add(
        "1 thread, 1-text latency: vs sentence-transformers",
        GOAL_LATENCY_VS_ST,
        ratio(one, "sentence-transformers", "latency_ratio"),
    )
    # 2. each at its default, all cores
    cores = report["machine"]["usable_cores"]
    for w in workloads:
        add(
            f"defaults ({cores} cores), {w}: vs {LAGHU} at its default",
            GOAL_VS_LAGHU_DEFAULT,
            ratio(default, LAGHU, f"{w}_ratio"),
        )
    for w in workloads:
        got = default[ME][f"{w}_texts_per_s"] / one[ME][f"{w}_texts_per_s"] if ME in one and ME in default else nan
        add(f"fastembed-static default / 1 thread, {w}", GOAL_SCALING.get(w, 1.7), got)
    for field, label in (("latency_p50_s", "1 text"), ("small_p50_s", "32 texts")):
        got = one[ME][field] / default[ME][field] if ME in one and ME in default else nan
        add(f"fastembed-static default / 1 thread, {label} (not slower)", GOAL_SMALL_CALLS, got)
    # 3. storage and width (one thread, long texts)
    for dtype in ("int8", "float16"):
        name = f"{ME} {dtype}"
        got = one[name]["long_texts_per_s"] / one[ME]["long_texts_per_s"] if name in one and ME in one else nan
        add(f"1 thread, long: {dtype} / float32 table ({full} dims)", GOAL_DTYPE, got)
    narrow = stats.get(section_key(256, "1"), {})
    name = f"{ME}, generated dims=256"
    got = narrow[name]["long_texts_per_s"] / one[ME]["long_texts_per_s"] if name in narrow and ME in one else nan
    add(f"1 thread, long: table generated with dims=256 / {full} dims (needs --dims {full},256)", GOAL_DIMS_256, got)
    # cold start
    cold = report.get("cold_start", {}).get("times", {})
    label = next((k for k in cold if k.startswith("fastembed-static default model")), None)
    got = nan
    if label and cold.get("import numpy") and cold.get(label):
        got = (median(cold[label]) - median(cold["import numpy"])) * 1e3
    add("cold start: import + default model + first vector, beyond import numpy", GOAL_COLD_START_MS, got, " ms", False)
    return out


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], text: Sequence[int] = (0,)) -> list[str]:
    """A markdown table; the ``text`` columns align left, the others (numbers) right."""
    rule = "|" + "|".join("---" if i in text else "---:" for i in range(len(header))) + "|"
    return ["| " + " | ".join(header) + " |", rule] + ["| " + " | ".join(r) + " |" for r in rows]


def _load_line(report: dict[str, Any]) -> str:
    load = report["load"]
    parts = []
    if "loadavg_1min" in load:
        la = load["loadavg_1min"]
        parts.append(
            f"1-minute load average {la['median']:.2f} median ({la['min']:.2f}–{la['max']:.2f}) on"
            f" {load['cores']} cores"
        )
    if "machine_busy" in load:
        parts.append(
            f"all cores {load['machine_busy']:.0%} busy: this benchmark {load['this_process_busy']:.0%}, other"
            f" processes {load['others_busy']:.0%}"
        )
    else:
        parts.append(f"this benchmark kept {load['this_process_busy']:.0%} of all cores busy")
    return f"Machine load during the run ({load['seconds']:.0f} s, sampled every second): " + "; ".join(parts) + "."


def markdown(report: dict[str, Any]) -> str:
    stats = summary(report)
    m = report["machine"]
    lines = [
        "# fastembed-static vs peers",
        "",
        f"`{report['command']}` — {report['date']}, {report['seconds']:.0f} s",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable), {m['python']}, {m['platform']}.",
        _load_line(report),
        f"Model: {report['model']['description']}.",
        f"batch_size={report['batch_size']} for every system; {report['repeats']} timed calls per system and workload"
        " (fewer where marked: a call slower than the time budget), interleaved round-robin in one process (A B C,"
        " B C A, C A B, ...) after one untimed warm-up call each; figures are medians. Normalization off everywhere.",
        "",
        "Workloads:",
        "",
    ]
    lines += _table(
        ["workload", "texts", "tokens", "tokens/text", "source"],
        [
            [
                w["name"],
                f"{w['texts']:,}",
                f"{w['tokens']:,}",
                f"{w['tokens'] / max(w['texts'], 1):.1f}",
                w["description"],
            ]
            for w in report["workloads"]
        ]
        + [
            [
                "1 text",
                "",
                "",
                "",
                "the first GooAQ queries, one `encode(text)` call each; systems take turns in blocks of 50",
            ],
            [
                "32 texts",
                "",
                "",
                "",
                "consecutive GooAQ queries, one call per 32; systems take turns in blocks of 10 calls",
            ],
        ],
        text=(0, 4),
    )
    names = [w["name"] for w in report["workloads"]]
    for key, data in report["sections"].items():
        verdict = "PASSED" if all(r["ok"] for r in data["agreement"]) else "FAILED"
        lines += [
            "",
            f"## dim={data['dim']}, {data['mode_label']}",
            "",
            f"Agreement check (before timing, vs fastembed-static, tolerance {TOLERANCE:g}): **{verdict}**",
            "",
        ]
        agree_rows = []
        for row in data["agreement"]:
            if "max_abs_diff" in row:
                value = f"max abs diff {row['max_abs_diff']:.2e}"
                if row.get("lossy"):
                    value += " (lossy storage: reported, not checked)"
            elif "ids_differ" in row:
                value = f"token ids differ on {row['ids_differ']} texts"
            else:
                value = row.get("detail", "")
            agree_rows.append([row["system"], str(row["texts"]), value, "ok" if row["ok"] else "**FAIL**"])
        lines += _table(["system", "texts compared", "result", ""], agree_rows, text=(0, 2, 3))
        lines += [
            "",
            f"Speed (dim={data['dim']}, {data['mode_label']}; ×: how many times faster fastembed-static is; <1 means slower):",
            "",
        ]
        header = ["system"]
        for w in names:
            header += [f"{w} texts/s", f"{w} tok/s"]
        header += ["1-text p50 µs", "1-text p99 µs", "32-text p50 µs"]
        header += [f"× {w}" for w in names] + ["× 1-text p50", "× 32-text p50"]
        rows = []
        for system in data["systems"]:
            s = stats[key][system["name"]]
            row = [system["name"]]
            for w in names:
                runs = len(data["throughput"][w].get(system["name"], []))
                mark = "" if runs >= report["repeats"] else f" ({runs} run{'s' if runs > 1 else ''})"
                row += [_rate(s[f"{w}_texts_per_s"]) + mark, _rate(s[f"{w}_tokens_per_s"])]
            row += [_us(s["latency_p50_s"]), _us(s["latency_p99_s"]), _us(s["small_p50_s"])]
            row += [_ratio(s[f"{w}_ratio"]) for w in names] + [_ratio(s["latency_ratio"]), _ratio(s["small_ratio"])]
            rows.append(row)
        lines += _table(header, rows)
        lines += [""] + [f"- {s['name']}: {s['note']}" for s in data["systems"] if s["note"]]
        lines.append(
            "- the (tokenize only) and (pooling only) rows are floors, not alternatives: half of the work each, over"
            " the same texts (pooling over ids computed beforehand, untimed)"
        )
    fp = report["first_pass"]
    lines += ["", "## First pass (fresh model: empty tokenizer cache) vs warm", ""]
    lines += _table(
        ["workload", "load ms", "first encode ms", "warm encode ms", "first / warm"],
        [
            [
                name,
                f"{median(v['load']) * 1e3:.1f}",
                f"{median(v['first']) * 1e3:.1f}",
                f"{median(v['warm']) * 1e3:.1f}",
                f"{median(v['first']) / median(v['warm']):.2f}",
            ]
            for name, v in fp.items()
        ],
    )
    cold = report["cold_start"]
    base = median(cold["times"].get("import numpy", []))
    runs = len(next(iter(cold["times"].values()), []))
    lines += ["", f"## Cold start (`python -c CODE` in a fresh process, median of {runs} interleaved runs)", ""]
    cold_rows = []
    for label, code in cold["code"].items():
        if label in cold["errors"]:
            cold_rows.append([label, "failed: " + cold["errors"][label], "", f"`{code}`"])
            continue
        t = median(cold["times"][label])
        cold_rows.append([label, f"{t * 1e3:.0f}", f"{(t - base) * 1e3:+.0f}", f"`{code}`"])
    lines += _table(["command", "ms", "vs import numpy, ms", "code"], cold_rows, text=(0, 3))
    lines += [
        "",
        "## Goals",
        "",
        "Ratios from the tables above (×: fastembed-static's speed over the other's; the 1-thread goals from the"
        " one-thread section, the defaults goals from the default section, both at the model's full width).",
        "",
    ]
    lines += _table(["goal", "target", "measured", "verdict"], [list(g) for g in goals(report)], text=(0, 3))
    lines += ["", "## Memory", ""]
    mem_rows = [
        [label, f"{v:.0f}" if isinstance(v, float) else str(v)]
        for label, v in report["peak_rss_per_system_mib"].items()
    ]
    mem_rows.append(
        ["this benchmark process (every system loaded, all workloads)", f"{report['peak_rss_this_process_mib']:.0f}"]
    )
    lines += _table(["process encoding the short workload", "peak RSS MiB"], mem_rows)
    t = report["threads"]
    lines += ["", "## Threads, load, versions", ""]
    lines.append(
        "- one-thread sections: TOKENIZERS_PARALLELISM=false (HF tokenizers, sentence-transformers, model2vec),"
        " torch.set_num_threads(1), laghu-rs threads=1, nanotoken parallel=False, model2vec use_multiprocessing=False,"
        " static-embed-runner's BLAS matmul pinned to 1 thread (threadpoolctl, around its calls),"
        " fastembed-static threads=1 where encode() has that argument; default sections: every library as it runs"
        f" out of the box (torch.get_num_threads() {t['torch_default_threads']})"
    )
    if isinstance(t["threadpools"], list):
        pools = ", ".join(f"{p['internal_api']} ({p['user_api']}) {p['num_threads']} threads" for p in t["threadpools"])
        lines.append(f"- threadpoolctl: {pools or 'no thread pools loaded'}")
    else:
        lines.append(f"- numpy/BLAS threads: {t['threadpools']}")
    env = {k: v for k, v in t["env"].items() if v is not None}
    lines.append(
        "- environment at start: " + (", ".join(f"{k}={v}" for k, v in env.items()) or "no thread variables set")
    )
    la = report["loadavg"]
    lines.append(
        f"- load average (1, 5, 15 min) at start {tuple(round(x, 2) for x in la['start'])}, at end {tuple(round(x, 2) for x in la['end'])}"
    )
    lines.append("- versions: " + ", ".join(f"{k} {v or 'not installed'}" for k, v in report["versions"].items()))
    if report["skipped"]:
        lines += ["", "## Skipped", ""] + [f"- {s}" for s in report["skipped"]]
    lines += ["", f"Agreement check: {'PASSED' if report['agreement_ok'] else 'FAILED'}"]
    return "\n".join(lines) + "\n"


def thread_info() -> dict[str, Any]:
    info: dict[str, Any] = {}
    if "torch" in sys.modules:
        from .systems import _TORCH_DEFAULT_THREADS

        info["torch_default_threads"] = (
            _TORCH_DEFAULT_THREADS[0] if _TORCH_DEFAULT_THREADS else sys.modules["torch"].get_num_threads()
        )
    else:
        info["torch_default_threads"] = "torch not imported" if installed("torch") else "torch not installed"
    try:
        info["threadpools"] = [
            {k: p.get(k) for k in ("user_api", "internal_api", "num_threads", "version", "filepath")}
            for p in module("threadpoolctl").threadpool_info()
        ]
    except ImportError:
        info["threadpools"] = "unknown (threadpoolctl not installed)"
    info["env"] = {
        k: os.environ.get(k)
        for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "RAYON_NUM_THREADS")
    }
    return info


def machine_info() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable: int | str = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or "unknown"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
    }


def versions() -> dict[str, str | None]:
    from fastembed_static import COMPILED

    dists = (
        "fastembed-static",
        "numpy",
        "torch",
        "sentence-transformers",
        "model2vec",
        "laghu",
        "laghu-rs",
        "nanotoken",
        "static-embed-runner",
        "tokenizers",
        "threadpoolctl",
    )
    out: dict[str, str | None] = {d: installed(d) for d in dists}
    out["fastembed-static tokenizer"] = "mypyc-compiled" if COMPILED else "pure Python"
    return out
