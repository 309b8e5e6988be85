"""Ray Data on a real local cluster: read Parquet -> Embedder on an actor pool of 2 -> write Parquet.

Checked on 20,000 real texts (GooAQ queries and PEP paragraphs) plus null rows: every id comes out exactly once,
vectors are bit-identical to StaticModel.encode in this process, nulls give null vectors, each actor loads the model
once; then one actor process is killed (SIGKILL, by its pid) mid-job and the job still completes with the same
result. A column of the wrong type fails the job with the TypeError naming it.
"""

from __future__ import annotations

import faulthandler
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import ray

from fastembed_static import StaticModel
from fastembed_static.ray import Embedder

from .helpers import engine_corpus, write_corpus_parquet

ROWS = 20_000
NULL_ROWS = (3, 4_000, 19_999)  # extra rows with a null text, ids ROWS + k
TIMEOUT_S = 400  # the whole module; a hang fails the run (faulthandler exits) instead of blocking CI


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    faulthandler.dump_traceback_later(TIMEOUT_S, exit=True)
    # Ray starts its workers in the driver's working directory: not this source tree (it would shadow the installed
    # package). More logical CPUs than actors, or the read tasks never get a slot and the job hangs.
    cwd = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("ray-cwd"))
    try:
        ray.init(
            num_cpus=3,
            include_dashboard=False,
            object_store_memory=256 << 20,
            _node_ip_address="127.0.0.1",
            log_to_driver=False,
        )
    finally:
        os.chdir(cwd)
    ray.data.DataContext.get_current().enable_progress_bars = False
    try:
        yield
    finally:
        ray.shutdown()
        faulthandler.cancel_dump_traceback_later()


@pytest.fixture(scope="module")
def corpus() -> list[str]:
    return engine_corpus(ROWS)


@pytest.fixture(scope="module")
def source(corpus: list[str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One Parquet file (one block, as Ray reads it: the job must repartition to use both actors)."""
    return write_corpus_parquet(tmp_path_factory.mktemp("ray-src"), corpus, NULL_ROWS)


def counting_embedder() -> type[Embedder]:
    """An Embedder that logs each model load and each batch to files (pid in the name); defined in a function so
    Ray pickles it by value (the workers cannot import this test module)."""

    class CountingEmbedder(Embedder):
        def __init__(self, *, log_dir: str, delay: float, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.log_dir = log_dir
            self.delay = delay
            Path(log_dir, f"load-{os.getpid()}-{time.time_ns()}").touch()

        def __call__(self, batch: Any) -> Any:
            out = super().__call__(batch)
            time.sleep(self.delay)  # keeps the job running long enough to kill an actor in the middle of it
            Path(self.log_dir, f"batch-{os.getpid()}-{time.time_ns()}").touch()
            return out

    return CountingEmbedder


def pids(log_dir: Path, kind: str) -> list[int]:
    return [int(p.name.split("-")[1]) for p in log_dir.glob(f"{kind}-*")]


def run_job(source: Path, dest: Path, log_dir: Path, delay: float, on_progress: Any = None) -> None:
    """The README recipe, with the counting embedder; ``on_progress(batches_done)`` is polled while it runs."""
    log_dir.mkdir()
    ds = ray.data.read_parquet(str(source)).repartition(target_num_rows_per_block=1_000)
    ds = ds.map_batches(
        counting_embedder(),
        fn_constructor_kwargs={"model": None, "text_column": "text", "log_dir": str(log_dir), "delay": delay},
        batch_format="pyarrow",
        batch_size=500,
        compute=ray.data.ActorPoolStrategy(size=2),
    )
    errors: list[BaseException] = []

    def write() -> None:
        try:
            ds.write_parquet(str(dest))
        except BaseException as e:  # reported by the test thread
            errors.append(e)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    deadline = time.monotonic() + 240
    while thread.is_alive() and time.monotonic() < deadline:
        if on_progress is not None:
            on_progress(len(list(log_dir.glob("batch-*"))))
        time.sleep(0.02)
    thread.join(timeout=1)
    assert not thread.is_alive(), "the Ray job did not finish in 240 s"
    if errors:
        raise errors[0]


def check_output(dest: Path, corpus: list[str]) -> pa.Table:
    """Every id exactly once; vectors bit-identical to StaticModel.encode in this process; null text -> null."""
    out = pq.read_table(dest)
    ids = out.column("id").to_numpy()
    assert len(ids) == ROWS + len(NULL_ROWS)
    assert np.array_equal(np.sort(ids), np.arange(len(ids)))
    out = out.take(pa.array(np.argsort(ids)))
    column = out.column("embedding").combine_chunks()
    model = StaticModel.default()
    assert column.type == pa.list_(pa.float32(), model.dim)
    assert out.column("text").to_pylist()[:ROWS] == corpus
    assert column.null_count == len(NULL_ROWS) and column.is_valid().to_pylist()[ROWS:] == [False] * len(NULL_ROWS)
    vectors = np.asarray(column.values.to_numpy(zero_copy_only=False)).reshape(len(column), model.dim)
    assert np.array_equal(vectors[:ROWS], model.encode(corpus))
    return out


def test_two_actors_model_loaded_once_each(cluster: None, source: Path, corpus: list[str], tmp_path: Path) -> None:
    log_dir = tmp_path / "log"
    run_job(source, tmp_path / "out", log_dir, delay=0.02)
    check_output(tmp_path / "out", corpus)
    loads = pids(log_dir, "load")
    assert len(loads) == 2 and len(set(loads)) == 2  # one load per actor, two actors
    worked = set(pids(log_dir, "batch"))
    assert worked == set(loads)  # both actors embedded batches (the single Parquet block was repartitioned)
    assert len(pids(log_dir, "batch")) >= (ROWS + len(NULL_ROWS)) // 500  # batches of at most 500 rows


def test_killed_actor_is_restarted_and_nothing_is_lost(
    cluster: None, source: Path, corpus: list[str], tmp_path: Path
) -> None:
    log_dir = tmp_path / "log"
    killed: list[tuple[int, int]] = []

    def kill_one(done: int) -> None:
        if not killed and done >= 6:
            victim = sorted(pids(log_dir, "batch"))[0]  # an actor that is working
            os.kill(victim, signal.SIGKILL)
            killed.append((victim, done))

    run_job(source, tmp_path / "out", log_dir, delay=0.1, on_progress=kill_one)
    assert killed, "the job ended before an actor could be killed"
    victim, done_before = killed[0]
    assert done_before < (ROWS + len(NULL_ROWS)) // 500  # killed mid-job
    check_output(tmp_path / "out", corpus)
    loads = pids(log_dir, "load")
    assert victim in loads
    assert len(loads) == len(set(loads)) == 3  # the two actors, and the one that replaced the killed one


def test_wrong_column_type_fails_the_job_naming_it(cluster: None, tmp_path: Path) -> None:
    ds = ray.data.from_arrow(pa.table({"id": [1, 2, 3], "text": [10, 20, 30]}))
    ds = ds.map_batches(
        Embedder,
        fn_constructor_kwargs={"model": None, "text_column": "text"},
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=1),
    )
    with pytest.raises(Exception, match="column 'text' must be of a string type, not int64"):
        ds.write_parquet(str(tmp_path / "out"))


def test_hub_id_is_downloaded_once_per_node(cluster: None, corpus: list[str], tmp_path: Path) -> None:
    """Two actors on one node given a hub id: the weights are downloaded once (from a fake hub on 127.0.0.1) and
    generated once, the cache lock making an actor that asks meanwhile wait for the other's result. The endpoint and cache reach the workers through runtime_env (the
    driver's environment variables do not)."""
    import json

    from .helpers import MRL_TOKENIZER, random_table, write_safetensors
    from .hub_server import FakeHub

    write_safetensors(tmp_path / "model.safetensors", {"embedding.weight": random_table(30522, 32)})
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.StaticEmbedding"}]
    files = {
        "modules.json": json.dumps(modules).encode(),
        "tokenizer.json": MRL_TOKENIZER.read_bytes(),
        "model.safetensors": (tmp_path / "model.safetensors").read_bytes(),
    }
    hub = FakeHub({"acme/mrl-32": {"main": files}}).start()
    try:
        hub.add_fault("slow", "/lfs/", times=None, delay=0.03)  # ~2 s for the weights: the actors start meanwhile
        cache = tmp_path / "node-cache"
        env = {"HF_ENDPOINT": hub.endpoint, "FASTEMBED_STATIC_CACHE": str(cache), "NO_PROXY": "127.0.0.1,localhost"}
        texts = corpus[:4_000]
        ds = ray.data.from_arrow(pa.table({"id": np.arange(len(texts)), "text": texts}))
        ds = ds.repartition(target_num_rows_per_block=500).map_batches(
            Embedder,
            fn_constructor_kwargs={"model": "acme/mrl-32", "text_column": "text"},
            batch_format="pyarrow",
            batch_size=500,
            compute=ray.data.ActorPoolStrategy(size=2),
            runtime_env={"env_vars": env},
        )
        out = ds.to_arrow_refs()
        table = pa.concat_tables(ray.get(out))
        assert hub.count("GET", "/lfs/") == 1  # the weights were downloaded once for the two actors
    finally:
        hub.stop()
    generated = sorted(p.parent for p in cache.rglob("model.json"))
    assert len(generated) == 1  # and generated once
    model = StaticModel.from_pretrained(generated[0])
    table = table.take(pa.array(np.argsort(table.column("id").to_numpy())))
    vectors = np.asarray(table.column("embedding").combine_chunks().values.to_numpy(zero_copy_only=False))
    assert np.array_equal(vectors.reshape(len(texts), 32), model.encode(texts))
