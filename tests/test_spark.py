"""Spark on a real local cluster (``local[2,4]``: 2 task slots, a failed task tried up to 4 times): read Parquet ->
embed_udf -> write Parquet.

Checked on 20,000 real texts (GooAQ queries and PEP paragraphs) plus null rows: every id comes out exactly once,
vectors are bit-identical to StaticModel.encode in this process, nulls give null arrays, and each Python worker loads
the model once, while one Python worker kills itself (SIGKILL) mid-job, so its task is retried. The pandas_udf
fallback gives the same vectors; a column of the wrong type fails the job with the TypeError naming its type.
"""

from __future__ import annotations

import faulthandler
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyspark.sql import SparkSession
from pyspark.sql.functions import arrow_udf, col

from fastembed_static import StaticModel
from fastembed_static.spark import embed_udf

from .helpers import engine_corpus, write_corpus_parquet

ROWS = 20_000
NULL_ROWS = (3, 4_000, 19_999)  # extra rows with a null text, ids ROWS + k
TIMEOUT_S = 500  # the whole module; a hang fails the run (faulthandler exits) instead of blocking CI


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    faulthandler.dump_traceback_later(TIMEOUT_S, exit=True)
    saved = {name: os.environ.get(name) for name in ("PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON")}
    # The Python workers run this interpreter (Spark's default is whatever `python3` is on PATH).
    os.environ["PYSPARK_PYTHON"] = os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    # The JVM, and so every Python worker, runs in the working directory it started in: not this source tree,
    # which would shadow the installed package on the workers' sys.path.
    cwd = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("spark-cwd"))
    try:
        session = (
            SparkSession.builder.master("local[2,4]")
            .appName("fastembed-static-test")
            .config("spark.ui.enabled", "false")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.sql.execution.arrow.maxRecordsPerBatch", "1000")
            .getOrCreate()
        )
    finally:
        os.chdir(cwd)
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        faulthandler.cancel_dump_traceback_later()


@pytest.fixture(scope="module")
def corpus() -> list[str]:
    return engine_corpus(ROWS)


@pytest.fixture(scope="module")
def source(corpus: list[str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_corpus_parquet(tmp_path_factory.mktemp("spark-src"), corpus, NULL_ROWS)


def probe_udf(marker: str, kill_at_batch: int):  # type: ignore[no-untyped-def]
    """A test UDF evaluated beside embed_udf in the same Python worker: for each row it reports the worker's pid and
    how many models fastembed_static.spark has loaded there. On its ``kill_at_batch``-th batch, the first worker to
    create ``marker`` kills itself (SIGKILL): that task fails and Spark retries it. Defined in a function so Spark
    pickles it by value (the workers cannot import this test module)."""
    import signal

    batches = [0]

    def probe(texts: pa.Array) -> pa.Array:
        import fastembed_static.spark as spark_module

        batches[0] += 1
        if batches[0] == kill_at_batch:
            try:
                fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                pass
            else:
                os.write(fd, str(os.getpid()).encode())
                os.close(fd)
                os.kill(os.getpid(), signal.SIGKILL)
        report = f"{os.getpid()}:{len(spark_module._LOADS)}"
        return pa.array([report] * len(texts))

    return arrow_udf(probe, "string")


def read_sorted(dest: Path) -> pa.Table:
    out = pq.read_table(dest)
    return out.take(pa.array(np.argsort(out.column("id").to_numpy())))


def check_vectors(out: pa.Table, corpus: list[str], rows: int) -> None:
    """ids 0..rows-1 then the null rows, each exactly once; bit-identical vectors; null text -> null array."""
    ids = out.column("id").to_numpy()
    expected_ids = np.concatenate([np.arange(rows), ROWS + np.arange(len(NULL_ROWS))])
    assert np.array_equal(ids, expected_ids)  # sorted, so: each id exactly once, none missing
    column = out.column("embedding").combine_chunks()
    model = StaticModel.default()
    assert column.type in (pa.list_(pa.float32()), pa.large_list(pa.float32()))
    assert column.is_valid().to_pylist() == [True] * rows + [False] * len(NULL_ROWS)
    vectors = np.asarray(column.flatten().to_numpy(zero_copy_only=False)).reshape(rows, model.dim)
    assert np.array_equal(vectors, model.encode(corpus[:rows]))


def test_killed_worker_task_is_retried_and_model_loaded_once_per_worker(
    spark: SparkSession, source: Path, corpus: list[str], tmp_path: Path
) -> None:
    marker = tmp_path / "killed-pid"
    df = spark.read.parquet(str(source)).repartition(8)
    embed = embed_udf(None)
    df = df.select("id", "text", embed("text").alias("embedding"), probe_udf(str(marker), 2)("text").alias("probe"))
    df.write.parquet(str(tmp_path / "out"))

    assert marker.is_file(), "no Python worker was killed"
    out = read_sorted(tmp_path / "out")
    check_vectors(out, corpus, ROWS)
    assert out.column("text").to_pylist()[:ROWS] == corpus
    loads: dict[int, int] = {}
    for report in out.column("probe").to_pylist():
        pid, count = map(int, report.split(":"))
        loads[pid] = max(loads.get(pid, 0), count)
    # every worker whose rows were written loaded the model exactly once, however many tasks and batches it ran
    assert loads and set(loads.values()) == {1}, loads


def test_pandas_udf_fallback(spark: SparkSession, source: Path, corpus: list[str], tmp_path: Path) -> None:
    rows = 3_000
    df = spark.read.parquet(str(source)).where((col("id") < rows) | (col("id") >= ROWS))
    df.withColumn("embedding", embed_udf(None, udf_type="pandas")("text")).write.parquet(str(tmp_path / "out"))
    check_vectors(read_sorted(tmp_path / "out"), corpus, rows)


def test_dim_and_normalize(spark: SparkSession, source: Path, corpus: list[str], tmp_path: Path) -> None:
    rows = 2_000
    df = spark.read.parquet(str(source)).where(col("id") < rows)
    df = df.withColumn("embedding", embed_udf(None, dim=64, normalize=False)("text"))
    out = df.orderBy("id").toArrow()
    vectors = np.asarray(out.column("embedding").combine_chunks().flatten().to_numpy(zero_copy_only=False))
    expected = StaticModel.default().encode(corpus[:rows], dim=64, normalize=False)
    assert np.array_equal(vectors.reshape(rows, 64), expected)


def test_wrong_column_type_fails_naming_it(spark: SparkSession) -> None:
    df = spark.range(5)
    with pytest.raises(Exception, match="the embedded column' must be of a string type, not int64"):
        df.select(embed_udf(None)("id")).collect()


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="dim must be a positive int"):
        embed_udf(None, dim=0)
    with pytest.raises(ValueError, match="udf_type must be"):
        embed_udf(None, udf_type="rows")  # type: ignore[arg-type]
