"""How things are timed: interleaved repeats, single-text and small-batch latency, the agreement check, cold start
in fresh processes, peak memory, and the machine's load while all that runs."""

from __future__ import annotations

import gc
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .systems import System, Timed

TOLERANCE = 1e-5
LATENCY_BLOCK = 50  # calls one system makes in a row before the next system's turn

_T0 = time.perf_counter()


def log(message: str) -> None:
    print(f"[compare {time.perf_counter() - _T0:6.1f}s] {message}", file=sys.stderr, flush=True)


def interleaved(calls: Sequence[Timed], repeats: int, budget: float) -> list[list[float]]:
    """Seconds per call of each of ``calls``, round-robin after one untimed warm-up each. Round ``r`` starts at call
    ``r mod n`` (A B C, B C A, C A B, ...), so no system always runs right after the same other one. A call whose
    warm-up took longer than ``budget / repeats`` seconds is timed fewer times (at least once)."""
    wanted: list[int] = []
    for call in calls:
        start = time.perf_counter()
        call()
        warmup = time.perf_counter() - start
        wanted.append(max(1, min(repeats, int(budget / max(warmup, 1e-9)))))
    times: list[list[float]] = [[] for _ in calls]
    n = len(calls)
    for r in range(repeats):
        for k in range(n):
            i = (r + k) % n
            if len(times[i]) >= wanted[i]:
                continue
            gc.collect()
            start = time.perf_counter()
            calls[i]()
            times[i].append(time.perf_counter() - start)
    return times


def blocks(
    names: Sequence[str], calls: Sequence[Sequence[Timed]], block: int = LATENCY_BLOCK
) -> dict[str, list[float]]:
    """Seconds per call. Systems take turns in blocks of ``block`` consecutive calls (in rotating order), as a
    service answering one request after another would run: each system in its own steady state, not with its caches
    evicted by another library between every two calls, while a noisy machine still slows every system alike."""
    for per_system in calls:
        for call in per_system[: min(20, len(per_system))]:
            call()
    times: list[list[float]] = [[] for _ in calls]
    gc.collect()
    longest = max((len(c) for c in calls), default=0)
    for round_, first in enumerate(range(0, longest, block)):
        for k in range(len(calls)):
            i = (round_ + k) % len(calls)
            for call in calls[i][first : first + block]:
                start = time.perf_counter_ns()
                call()
                times[i].append((time.perf_counter_ns() - start) * 1e-9)
    return dict(zip(names, times))


def latencies(systems: Sequence[System], texts: Sequence[str]) -> dict[str, list[float]]:
    """One ``encode(text)`` call per text."""
    active = [s for s in systems if s.one is not None]
    return blocks([s.name for s in active], [[s.one(t) for t in texts] for s in active if s.one is not None])


def small_batches(systems: Sequence[System], texts: Sequence[str], size: int = 32) -> dict[str, list[float]]:
    """One call per ``size`` consecutive texts (the small calls a default must not make slower)."""
    chunks = [list(texts[i : i + size]) for i in range(0, len(texts) - size + 1, size)]
    return blocks([s.name for s in systems], [[s.batch(c) for c in chunks] for s in systems], block=10)


def agreement(systems: Sequence[System], reference: System, sample: list[str], fe: Any) -> list[dict[str, Any]]:
    """Max abs difference of each system's vectors from fastembed-static's (or: token ids identical)."""
    rows: list[dict[str, Any]] = []
    assert reference.embed is not None
    for system in systems:
        texts = [t for t in sample if system.keep is None or system.keep(t)]
        row: dict[str, Any] = {"system": system.name, "texts": len(texts)}
        try:
            if system.embed is not None:
                expected = reference.embed(texts)
                got = system.embed(texts)
                if got.shape != expected.shape:
                    row.update(ok=False, detail=f"shape {got.shape} != {expected.shape}")
                else:
                    diff = float(np.abs(got.astype(np.float64) - expected).max()) if len(texts) else 0.0
                    row.update(max_abs_diff=diff, ok=system.lossy or diff <= TOLERANCE, lossy=system.lossy)
            elif system.ids is not None:
                got_ids = system.ids(texts)
                differ = sum(1 for t, i in zip(texts, got_ids) if list(i) != fe.tokenize(t))
                row.update(ids_differ=differ, ok=differ == 0)
        except Exception as e:
            row.update(ok=False, detail=f"{type(e).__name__}: {e}")
        rows.append(row)
    return rows


def cold_starts(commands: Sequence[tuple[str, str]], runs: int, cwd: Path) -> dict[str, Any]:
    """Wall time of ``python -c CODE`` for each command, interleaved over ``runs`` rounds."""
    times: dict[str, list[float]] = {label: [] for label, _ in commands}
    errors: dict[str, str] = {}
    for _ in range(runs):
        for label, code in commands:
            if label in errors:
                continue
            start = time.perf_counter()
            done = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True)
            elapsed = time.perf_counter() - start
            if done.returncode:
                errors[label] = (done.stderr.strip().splitlines() or ["failed"])[-1]
            else:
                times[label].append(elapsed)
    return {"times": times, "errors": errors, "code": dict(commands)}


# VmHWM, not ru_maxrss: a child's ru_maxrss starts at its parent's RSS at fork (and survives exec) on Linux.
PEAK_RSS_KIB_CODE = (
    "next((int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM:')), None)"
    " or __import__('resource').getrusage(__import__('resource').RUSAGE_SELF).ru_maxrss"
)


def peak_rss_kib() -> int:
    """Peak resident set size of this process, KiB (what ``PEAK_RSS_KIB_CODE`` prints in a child)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def peak_rss_subprocesses(commands: Sequence[tuple[str, str]], cwd: Path) -> dict[str, Any]:
    """Peak RSS (MiB) of a process that runs only ``code`` (which prints its own peak RSS in KiB)."""
    result: dict[str, Any] = {}
    for label, code in commands:
        done = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True)
        lines = done.stdout.strip().splitlines()
        if done.returncode or not lines:
            result[label] = f"failed: {(done.stderr.strip().splitlines() or ['?'])[-1]}"
        else:
            result[label] = int(lines[-1]) / 1024
    return result


def first_pass(generated: Path, workloads: Sequence[Any], rounds: int, batch_size: int) -> dict[str, Any]:
    """A fresh model (empty tokenizer cache, new mapping of the weights) encoding a workload, then again warm."""
    from fastembed_static import StaticModel

    out: dict[str, Any] = {}
    for workload in workloads:
        load, first, warm = [], [], []
        for _ in range(rounds):
            gc.collect()
            start = time.perf_counter()
            model = StaticModel.from_pretrained(generated)
            loaded = time.perf_counter()
            model.encode(workload.texts, batch_size=batch_size, normalize=False)
            encoded = time.perf_counter()
            model.encode(workload.texts, batch_size=batch_size, normalize=False)
            warm.append(time.perf_counter() - encoded)
            load.append(loaded - start)
            first.append(encoded - loaded)
            del model
        out[workload.name] = {"load": load, "first": first, "warm": warm}
    return out


def _cpu_jiffies() -> tuple[int, int] | None:
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


class LoadMonitor:
    """Samples the machine's load while the comparison runs (a thread that wakes once a second): the 1-minute load
    average, and the share of all cores busy, split into this process (and its children) and everything else."""

    def __init__(self, interval: float = 1.0) -> None:
        self.interval = interval
        self.loadavg: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="load-monitor", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.loadavg.append(os.getloadavg()[0])
            except OSError:
                pass

    @staticmethod
    def _own_cpu() -> float:
        me, children = os.times()[:2], os.times()[2:4]
        return sum(me) + sum(children)

    def __enter__(self) -> LoadMonitor:
        self._start = (time.perf_counter(), _cpu_jiffies(), self._own_cpu())
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._end = (time.perf_counter(), _cpu_jiffies(), self._own_cpu())

    def summary(self) -> dict[str, Any]:
        wall = self._end[0] - self._start[0]
        cores = os.cpu_count() or 1
        out: dict[str, Any] = {"cores": cores, "seconds": wall, "samples": len(self.loadavg)}
        if self.loadavg:
            out["loadavg_1min"] = {
                "min": min(self.loadavg),
                "median": statistics.median(self.loadavg),
                "max": max(self.loadavg),
            }
        own = (self._end[2] - self._start[2]) / max(wall, 1e-9) / cores
        out["this_process_busy"] = own
        if self._start[1] and self._end[1]:
            busy = self._end[1][0] - self._start[1][0]
            total = self._end[1][1] - self._start[1][1]
            machine = busy / total if total else float("nan")
            out["machine_busy"] = machine
            out["others_busy"] = max(0.0, machine - own)
        return out
