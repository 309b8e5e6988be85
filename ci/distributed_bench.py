"""Rows/s and peak memory per worker for embedding a Parquet corpus: one process, Ray Data, Spark.

    python ci/distributed_bench.py [--rows 1000000] [--workers 2] [--engines single,ray,spark] [--json FILE]

The corpus: the 10,000 GooAQ queries of tests/data, cycled with an index suffix (" #i") so every text differs,
written as 8 Parquet files (columns id, text). Each engine reads them, embeds with the bundled default model and
writes Parquet; the time is wall clock from the first read to the last file written (engine start-up excluded).
Peak memory is each worker process's VmHWM (peak resident set, from /proc), polled while the job runs:

- single: this recipe in one process (pyarrow.dataset batches -> Embedder -> ParquetWriter), and, for reference,
  StaticModel.encode alone on the same texts already in memory;
- ray: ``ray.init(num_cpus=workers + 1)``, read_parquet -> repartition -> map_batches(Embedder, ActorPoolStrategy(
  size=workers), batch_size=4096) -> write_parquet; peak of the actor processes;
- spark: ``local[workers]``, read.parquet -> withColumn(embed_udf(None)) -> write.parquet; peak of the Python
  workers (the JVM's is reported apart).

Needs ``pip install '.[ray,spark]'`` and Java. Run it from anywhere but the repository root (workers would import
the source tree instead of the installed package): the script changes to a temporary directory itself.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
GOOAQ = REPO / "tests" / "data" / "gooaq-10k.txt"
FILES = 8


def corpus(rows: int) -> list[str]:
    queries = GOOAQ.read_text(encoding="utf-8").splitlines()
    return [f"{queries[i % len(queries)]} #{i}" for i in range(rows)]


def write_source(texts: list[str], folder: Path) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True)
    per_file = -(-len(texts) // FILES)
    for k in range(FILES):
        first, last = k * per_file, min(len(texts), (k + 1) * per_file)
        table = pa.table({"id": np.arange(first, last, dtype=np.int64), "text": texts[first:last]})
        pq.write_table(table, folder / f"part-{k}.parquet")


def hwm_kib(pid: int) -> int | None:
    """Peak resident set (VmHWM) of a process, KiB; None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


class PeakWatcher:
    """Polls the VmHWM of every process whose command line matches, until stopped."""

    def __init__(self, match: Callable[[str], bool]) -> None:
        self.match = match
        self.peaks: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for entry in os.listdir("/proc"):
                if entry.isdigit() and self.match(cmdline(int(entry))):
                    peak = hwm_kib(int(entry))
                    if peak is not None:
                        self.peaks[int(entry)] = max(peak, self.peaks.get(int(entry), 0))
            self._stop.wait(0.2)

    def __enter__(self) -> PeakWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def check_output(dest: Path, rows: int) -> None:
    import pyarrow.dataset as ds

    table = ds.dataset(str(dest), format="parquet").to_table(columns=["id"])
    ids = table.column("id").to_numpy()
    assert len(ids) == rows and len(set(ids.tolist())) == rows, "rows lost or duplicated"


def run_single(src: Path, dest: Path, texts: list[str]) -> dict[str, Any]:
    import resource

    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    from fastembed_static import StaticModel
    from fastembed_static.arrow import Embedder

    start = time.perf_counter()
    embed = Embedder(None)
    dest.mkdir()
    writer = None
    for batch in ds.dataset(str(src), format="parquet").to_batches(batch_size=4096):
        out = embed(batch)
        if writer is None:
            writer = pq.ParquetWriter(dest / "part-0.parquet", out.schema)
        writer.write_batch(out)
    assert writer is not None
    writer.close()
    pipeline_s = time.perf_counter() - start
    pipeline_peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # before encode-only's 1 GB output
    check_output(dest, len(texts))
    model = StaticModel.default()
    start = time.perf_counter()
    model.encode(texts)
    encode_s = time.perf_counter() - start
    return {
        "engine": "single process",
        "rows_per_s": len(texts) / pipeline_s,
        "seconds": pipeline_s,
        "encode_only_rows_per_s": len(texts) / encode_s,
        "peak_rss_mib_per_worker": [round(pipeline_peak_kib / 1024)],
        "note": "peak of the read-embed-write pipeline; this process also holds the corpus as a list (generated here)",
    }


def run_ray(src: Path, dest: Path, rows: int, workers: int) -> dict[str, Any]:
    import ray

    from fastembed_static.ray import Embedder

    ray.init(
        num_cpus=workers + 1,
        include_dashboard=False,
        object_store_memory=1 << 30,
        _node_ip_address="127.0.0.1",
        log_to_driver=False,
    )
    ray.data.DataContext.get_current().enable_progress_bars = False
    actors = dest.with_name(dest.name + "-actors")
    actors.mkdir()
    try:
        with PeakWatcher(lambda c: c.startswith("ray::")) as watcher:
            start = time.perf_counter()
            data = ray.data.read_parquet(str(src)).repartition(target_num_rows_per_block=50_000)
            data = data.map_batches(
                pid_logging(Embedder),
                fn_constructor_kwargs={"model": None, "text_column": "text", "pid_dir": str(actors)},
                batch_format="pyarrow",
                batch_size=4096,
                compute=ray.data.ActorPoolStrategy(size=workers),
            )
            data.write_parquet(str(dest))
            seconds = time.perf_counter() - start
    finally:
        ray.shutdown()
    check_output(dest, rows)
    return {
        "engine": f"Ray Data, {workers} actors",
        "rows_per_s": rows / seconds,
        "seconds": seconds,
        "peak_rss_mib_per_worker": sorted(round(watcher.peaks[int(p.name)] / 1024) for p in actors.iterdir()),
    }


def pid_logging(base: type[Any]) -> type[Any]:
    """``base`` that records its process id in ``pid_dir`` when made (so the actors' processes can be told from
    Ray's other workers); defined in a function so that Ray pickles it by value."""

    class PidLogging(base):  # type: ignore[misc,valid-type]
        def __init__(self, *, pid_dir: str, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            Path(pid_dir, str(os.getpid())).touch()

    return PidLogging


def run_spark(src: Path, dest: Path, rows: int, workers: int) -> dict[str, Any]:
    os.environ["PYSPARK_PYTHON"] = os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession

    from fastembed_static.spark import embed_udf

    spark = (
        SparkSession.builder.master(f"local[{workers}]")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    try:
        jvm_pid = None
        with PeakWatcher(lambda c: "pyspark.daemon" in c or "org.apache.spark" in c) as watcher:
            start = time.perf_counter()
            spark.read.parquet(str(src)).withColumn("embedding", embed_udf(None)("text")).write.parquet(str(dest))
            seconds = time.perf_counter() - start
        jvm = [pid for pid in watcher.peaks if "org.apache.spark" in cmdline(pid)]
        jvm_pid = jvm[0] if jvm else None
    finally:
        spark.stop()
    check_output(dest, rows)
    python = {pid: v for pid, v in watcher.peaks.items() if pid != jvm_pid}
    return {
        "engine": f"Spark local[{workers}], arrow_udf",
        "rows_per_s": rows / seconds,
        "seconds": seconds,
        # the pyspark daemon forks the workers: each fork's own peak (the daemon itself is the smallest entry)
        "peak_rss_mib_per_worker": sorted(round(v / 1024) for v in python.values()),
        "jvm_peak_rss_mib": round(watcher.peaks[jvm_pid] / 1024) if jvm_pid else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--engines", default="single,ray,spark")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()

    if args.json is not None:
        args.json = args.json.resolve()
    work = Path(tempfile.mkdtemp(prefix="fastembed-dist-bench-"))
    os.chdir(work)  # never the repository root: workers would import the source tree
    try:
        texts = corpus(args.rows)
        write_source(texts, work / "src")
        results = []
        for engine in args.engines.split(","):
            dest = work / f"out-{engine}"
            if engine == "single":
                result = run_single(work / "src", dest, texts)
            elif engine == "ray":
                result = run_ray(work / "src", dest, args.rows, args.workers)
            elif engine == "spark":
                result = run_spark(work / "src", dest, args.rows, args.workers)
            else:
                raise SystemExit(f"unknown engine {engine!r}")
            results.append(result)
            print(json.dumps(result), flush=True)
        print(f"\n{args.rows:,} rows, bundled default model, {os.cpu_count()} CPUs")
        print("| engine | rows/s | s | peak RSS per worker, MiB |")
        print("|---|---:|---:|---|")
        for r in results:
            peaks = ", ".join(str(p) for p in r["peak_rss_mib_per_worker"])
            print(f"| {r['engine']} | {r['rows_per_s']:,.0f} | {r['seconds']:.1f} | {peaks} |")
        single = next((r for r in results if r["engine"] == "single process"), None)
        if single:
            print(f"(single process, StaticModel.encode alone: {single['encode_only_rows_per_s']:,.0f} rows/s)")
        if args.json:
            args.json.write_text(json.dumps(results, indent=2) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
