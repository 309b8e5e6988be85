"""Issue 18: the process engine (``encode(workers=N)``, and the default for big calls on Linux).

Vectors equal the single-thread path bit for bit for every way a model is loaded; small calls never start the
pool; a worker SIGKILLed mid-call makes the call retry on a fresh pool (or raise WorkerDied the second time);
neither a stopped pool nor a SIGKILLed or Ctrl-C'ed parent leaves a process or a memory file behind. Every
parent that could hang runs as a subprocess under a timeout, so a hang fails the test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from fastembed_static import StaticModel, _engine
from fastembed_static.gen import generate

from .helpers import MRL_TOKENIZER, gooaq_queries, make_st_model, pep_paragraphs, random_table
from .stress_texts import all_stress_sets

pytestmark = pytest.mark.skipif(not _engine.processes_available(), reason="the process engine needs Linux memfd")
TIMEOUT = 60


def corpus() -> list[str]:
    """~400k characters of GooAQ queries, PEP paragraphs and every stress set (non-ASCII, empty and odd texts)."""
    stress = [t for texts in all_stress_sets().values() for t in texts[:40] if isinstance(t, str)]
    texts = gooaq_queries()[:4000] + pep_paragraphs()[:1000] + stress
    assert sum(map(len, texts)) >= _engine.PROCESS_MIN_CHARS
    return texts


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real static-retrieval-mrl-en-v1 tokenizer, a small random table and a Normalize module."""
    return make_st_model(
        tmp_path_factory.mktemp("pe-src"), MRL_TOKENIZER, random_table(30522, 48, seed=18), normalize=True
    )


@pytest.fixture(scope="module")
def models(source: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, StaticModel]:
    root = tmp_path_factory.mktemp("pe-gen")
    cache = tmp_path_factory.mktemp("pe-cache")
    return {
        "generated float32": StaticModel.from_pretrained(generate(source, root / "f32")),
        "int8": StaticModel.from_pretrained(generate(source, root / "i8", dtype="int8")),
        "float16": StaticModel.from_pretrained(generate(source, root / "f16", dtype="float16")),
        "source layout via the cache, dims=24": StaticModel.from_pretrained(source, dims=24, cache_dir=cache),
        "memory=copy": StaticModel.from_pretrained(generate(source, root / "copy"), memory="copy"),
        "bundled default": StaticModel.default(),
    }


OPTIONS = [{}, {"dim": 16}, {"dim": 16, "normalize": True}]  # the model's own Normalize; before and after cutting


def test_vectors_identical_to_one_thread_for_every_load_mode(models: dict[str, StaticModel]) -> None:
    texts = corpus()
    for name, model in models.items():
        for options in OPTIONS:
            expected = model.encode(texts, threads=1, **options)  # type: ignore[arg-type]
            for workers in (2, 3) if name == "generated float32" else (2,):
                _engine.last_stats = None
                got = model.encode(texts, workers=workers, **options)  # type: ignore[arg-type]
                assert _engine.last_stats is not None and _engine.last_stats.workers == workers, name
                assert got.dtype == np.float32 and got.flags.c_contiguous
                assert np.array_equal(got, expected), f"{name} {options} workers={workers}"
    _engine.shutdown()


def test_one_worker_pool_and_default_engine_identical(models: dict[str, StaticModel]) -> None:
    model = models["generated float32"]
    texts = corpus()
    expected = model.encode(texts, threads=1)
    units = _engine.units_of(texts, 1024)
    one = _engine.run_processes(model, texts, units, 1, model.dim, None, False, model.normalize_default, None)
    assert one is not None and np.array_equal(one, expected)
    _engine.last_stats = None
    assert np.array_equal(model.encode(texts), expected)  # the default engine for a big call
    assert (_engine.last_stats is not None) == (_engine.PROCESS_DEFAULT and _engine.cpus() > 1)
    _engine.shutdown()


def test_small_calls_do_not_start_the_pool(models: dict[str, StaticModel]) -> None:
    _engine.shutdown()
    model = models["generated float32"]
    queries = gooaq_queries()
    small = queries[: _engine.PROCESS_MIN_CHARS // 80]
    assert sum(map(len, small)) < _engine.PROCESS_MIN_CHARS
    for texts in (queries[0], queries[:1], queries[:32], small):
        for kwargs in ({}, {"workers": 2}):
            model.encode(texts, **kwargs)  # type: ignore[arg-type]
    assert _engine._pools == {} and _engine.live_worker_pids() == []
    model.encode(queries, threads=2)  # threads= asks for threads: no processes either
    assert _engine._pools == {}


def test_bad_text_reported_with_its_index_before_any_work_is_sent(models: dict[str, StaticModel]) -> None:
    _engine.shutdown()
    texts = corpus()
    texts[5000] = "a lone \ud800 surrogate"
    with pytest.raises(ValueError, match="text at index 5000 cannot be tokenized: lone surrogate"):
        models["generated float32"].encode(texts, workers=2)
    assert _engine._pools == {}
    with pytest.raises(TypeError, match="item at index 7"):
        models["generated float32"].encode([*texts[:7], b"bytes", *texts[8:]], workers=2)  # type: ignore[list-item]
    for bad in (0, -1, True, 1.5):
        with pytest.raises(ValueError, match="workers must be"):
            models["generated float32"].encode(texts, workers=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not both"):
        models["generated float32"].encode(texts, workers=2, threads=2)


PARENT = """
import os, sys, time, numpy as np
from fastembed_static import StaticModel, _engine
sys.path.insert(0, {tests!r})
from helpers import gooaq_queries, pep_paragraphs
model = StaticModel.from_pretrained({model!r})
texts = gooaq_queries() + pep_paragraphs()[:1500]
mode = sys.argv[1]
if mode == "kill":
    expected = model.encode(texts, threads=1)
    try:
        got = model.encode(texts, workers=2)
    except _engine.WorkerDied as e:
        print("died:", e, flush=True)
    else:
        print("equal" if np.array_equal(got, expected) else "DIFFERENT", flush=True)
        del got  # its memory file is mapped until then (no descriptor is kept open)
    os.environ.pop(_engine.KILL_HOOK, None)
    print("again", np.array_equal(model.encode(texts, workers=2), expected), flush=True)
    import gc; gc.collect()
    pids = _engine.live_worker_pids()
    _engine.shutdown()
    print("left", [p for p in pids if os.path.exists(f"/proc/{{p}}")], flush=True)
    links = []
    for f in os.listdir("/proc/self/fd"):
        try:
            links.append(os.readlink(f"/proc/self/fd/{{f}}"))
        except OSError:
            pass
    print("memfds", [link for link in links if "fastembed" in link], flush=True)
    maps = open("/proc/self/maps").read()
    print("mapped", maps.count("fastembed-static-"), flush=True)
else:
    model.encode(texts, workers=2)
    print("pids", *_engine.live_worker_pids(), flush=True)
    try:
        while True:
            model.encode(texts * 3, workers=2)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
"""


def parent_script(tmp_path: Path, model: StaticModel) -> Path:
    script = tmp_path / "parent.py"
    script.write_text(PARENT.format(tests=str(Path(__file__).parent), model=str(model.path)), encoding="utf-8")
    return script


def run_parent(script: Path, mode: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, str(script), mode],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={**os.environ, **env},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_a_worker_killed_mid_call_is_retried_once(models: dict[str, StaticModel], tmp_path: Path) -> None:
    script = parent_script(tmp_path, models["generated float32"])
    out = run_parent(script, "kill", {_engine.KILL_HOOK: f"5:{tmp_path / 'died-once'}"})
    assert (tmp_path / "died-once").exists()  # the worker of unit 5 did kill itself
    assert (
        "equal\n" in out
        and "again True\n" in out
        and "left []\n" in out
        and "memfds []\n" in out
        and "mapped 0\n" in out
    ), out


def test_a_worker_killed_twice_raises_worker_died(models: dict[str, StaticModel], tmp_path: Path) -> None:
    script = parent_script(tmp_path, models["generated float32"])
    out = run_parent(script, "kill", {_engine.KILL_HOOK: "5"})
    assert "died: a worker process died while encoding, 2 times in this call" in out, out
    assert "again True\n" in out and "left []\n" in out and "memfds []\n" in out and "mapped 0\n" in out, out


def children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                found.append(int(entry))
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def wait_gone(pids: list[int], seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.1)
    return [p for p in pids if alive(p)]


def start_parent(script: Path) -> tuple[subprocess.Popen[str], list[int]]:
    parent = subprocess.Popen([sys.executable, str(script), "loop"], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    line = parent.stdout.readline()  # the pool is running
    assert line.startswith("pids "), line
    workers = [int(p) for p in line.split()[1:]]
    assert len(workers) == 2 and all(alive(p) for p in workers)
    return parent, workers + children_of(parent.pid)  # the workers and the forkserver


def test_workers_exit_when_the_parent_is_sigkilled(models: dict[str, StaticModel], tmp_path: Path) -> None:
    parent, processes = start_parent(parent_script(tmp_path, models["generated float32"]))
    try:
        time.sleep(0.5)  # mid-call
        parent.kill()
        parent.wait(TIMEOUT)
        assert wait_gone(processes, 5) == [], "worker processes outlived their SIGKILLed parent"
    finally:
        if parent.poll() is None:
            parent.kill()


def test_ctrl_c_interrupts_the_call_and_leaves_nothing(models: dict[str, StaticModel], tmp_path: Path) -> None:
    parent, processes = start_parent(parent_script(tmp_path, models["generated float32"]))
    try:
        time.sleep(0.5)
        parent.send_signal(signal.SIGINT)
        out, _ = parent.communicate(timeout=TIMEOUT)
        assert "interrupted" in out and parent.returncode == 0
        assert wait_gone(processes, 5) == [], "worker processes outlived their interrupted parent"
    finally:
        if parent.poll() is None:
            parent.kill()


def test_which_engine_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """workers= means processes, threads= threads in this process; small calls stay on the calling thread."""
    monkeypatch.delenv("FASTEMBED_STATIC_WORKERS", raising=False)
    monkeypatch.setenv("FASTEMBED_STATIC_THREADS", "3")
    big, small = _engine.PROCESS_MIN_CHARS, _engine.PROCESS_MIN_CHARS - 1
    assert _engine.plan(4, None, big * 10, 1) == ("calling", 1)  # one unit
    assert _engine.plan(2, None, big, 5) == ("processes", 2)
    assert _engine.plan(2, None, small, 5) == ("threads", 3)  # too small for processes
    assert _engine.plan(1, None, big, 5) == ("threads", 3)  # workers=1: no processes
    assert _engine.plan(None, 2, big, 5) == ("threads", 2)
    assert _engine.plan(None, 1, big, 5) == ("calling", 1)
    default = ("processes", _engine.cpus()) if _engine.PROCESS_DEFAULT and _engine.cpus() > 1 else ("threads", 3)
    assert _engine.plan(None, None, big, 5) == default
    monkeypatch.setenv("FASTEMBED_STATIC_WORKERS", "2")
    assert _engine.plan(None, None, big, 5) == ("processes", 2)
    assert _engine.plan(None, 2, big, 5) == ("threads", 2)  # an explicit threads= wins over the environment
    monkeypatch.setenv("FASTEMBED_STATIC_WORKERS", "1")
    assert _engine.plan(None, None, big, 5) == ("threads", 3)
    for bad in ("0", "-1", "two"):
        monkeypatch.setenv("FASTEMBED_STATIC_WORKERS", bad)
        with pytest.raises(ValueError, match="FASTEMBED_STATIC_WORKERS must be an int >= 1"):
            _engine.plan(None, None, big, 5)


def test_environment_opts_in_to_processes(models: dict[str, StaticModel], monkeypatch: pytest.MonkeyPatch) -> None:
    model = models["int8"]
    texts = corpus()
    expected = model.encode(texts, threads=1)
    monkeypatch.setenv("FASTEMBED_STATIC_WORKERS", "2")
    _engine.last_stats = None
    assert np.array_equal(model.encode(texts), expected)
    assert _engine.last_stats is not None and _engine.last_stats.workers == 2
    assert len(_engine.live_worker_pids()) == 2
    _engine.shutdown()
    assert _engine.live_worker_pids() == []


def test_a_worker_killed_between_calls_is_replaced(models: dict[str, StaticModel]) -> None:
    model = models["float16"]
    texts = corpus()
    expected = model.encode(texts, threads=1)
    assert np.array_equal(model.encode(texts, workers=2), expected)
    victim = _engine.live_worker_pids()[0]
    os.kill(victim, signal.SIGKILL)
    assert wait_gone([victim], 5) == []
    assert np.array_equal(model.encode(texts, workers=2), expected)
    assert victim not in _engine.live_worker_pids()
    _engine.shutdown()


def test_worker_splits_the_joined_buffer_back_into_the_texts() -> None:
    """The path for models without a chunk cache: the UTF-8 buffer and byte sizes give back every text exactly
    (texts with spaces, newlines, empty ones, non-ASCII)."""
    texts = ["", " lead", "trail ", "a  b", "naïve café", "日本語 テキスト", "\n", "x"] + corpus()[-300:]
    raw = " ".join(texts).encode("utf-8")
    sizes = np.array([len(t.encode("utf-8")) for t in texts], dtype=np.intp)
    assert _engine._split(raw, sizes) == texts
