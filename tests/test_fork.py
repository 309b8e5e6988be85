"""Issue 16, case 3: ``encode`` works in a child process made by ``fork`` after the parent used the thread pool,
and in one forked while another thread held the chunk cache's lock (on main both hung forever), and in
``forkserver`` children; each child's vectors equal the parent's. Every child runs under a timeout, so a hang
fails the test instead of hanging CI."""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from fastembed_static import StaticModel

from .helpers import gooaq_queries

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform"),
    # Python 3.12+ warns that forking a process with threads may deadlock: the very case under test.
    pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning"),
]
TIMEOUT = 120  # seconds for a child; a working one takes about a second


def corpus() -> list[str]:
    """Enough GooAQ queries (~200k characters) for several units of work, so the pool is used."""
    return gooaq_queries()[:4000]


def run_child(context: str, target: Callable[..., None] | None, args: tuple[object, ...]) -> None:
    """Start ``target(*args)`` in a child, fail if it does not exit 0 within TIMEOUT (killing it)."""
    process = multiprocessing.get_context(context).Process(target=target, args=args)
    process.start()
    process.join(TIMEOUT)
    if process.is_alive():
        process.kill()
        process.join()
        pytest.fail(f"{context} child still running after {TIMEOUT}s: encode hangs in the child")
    assert process.exitcode == 0, f"{context} child exited with {process.exitcode}"


def encode_to(model: StaticModel, texts: list[str], threads: int | None, out: str) -> None:
    np.save(out, model.encode(texts, threads=threads, normalize=False))


def test_forked_children_after_the_pool_was_used(mrl_generated: Path, tmp_path: Path) -> None:
    model = StaticModel.from_pretrained(mrl_generated)
    texts = corpus()
    expected = model.encode(texts, threads=2, normalize=False)  # the parent's pool now has threads
    new_texts = [f"{t} zq{i}xv" for i, t in enumerate(texts)]  # new chunks: the child adds to its table
    expected_new = np.stack([model.encode(t, normalize=False) for t in new_texts[:300]])
    forks = 0
    for threads in (None, 2, 2, 3, 1, None):
        out = str(tmp_path / f"child{forks}.npy")
        run_child("fork", encode_to, (model, texts, threads, out))
        np.testing.assert_array_equal(np.load(out), expected)
        run_child("fork", encode_to, (model, new_texts[:300], threads, out))
        np.testing.assert_array_equal(np.load(out), expected_new)
        forks += 2
    assert forks == 12


def test_forked_while_another_thread_holds_the_cache_lock(mrl_generated: Path, tmp_path: Path) -> None:
    model = StaticModel.from_pretrained(mrl_generated)
    texts = corpus()
    expected = model.encode(texts, threads=2, normalize=False)
    cache = model._chunks
    assert cache is not None
    cold = [f"{t} never{i}seen" for i, t in enumerate(texts)]  # the child must add chunks: it takes the lock
    expected_cold = np.stack([model.encode(t, normalize=False) for t in cold[:300]])
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with cache.lock:
            held.set()
            release.wait(TIMEOUT)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(TIMEOUT)
        for threads in (1, 2):
            out = str(tmp_path / f"locked{threads}.npy")
            run_child("fork", encode_to, (model, cold[:300], threads, out))
            np.testing.assert_array_equal(np.load(out), expected_cold)
            run_child("fork", encode_to, (model, texts, threads, out))
            np.testing.assert_array_equal(np.load(out), expected)
    finally:
        release.set()
        holder.join()


CHILD_CODE = """
import numpy as np
from fastembed_static import StaticModel
texts = open(texts_path, encoding="utf-8").read().split("\\n")
np.save(out, StaticModel.from_pretrained(model_path).encode(texts, threads=2, normalize=False))
"""


@pytest.mark.skipif(sys.platform == "win32", reason="no forkserver")
def test_forkserver_children(mrl_generated: Path, tmp_path: Path) -> None:
    """forkserver children (the default start method from Python 3.14) load the model and match the parent; the
    child runs code given as text (``exec``), as a test module cannot be imported by name in the server."""
    model = StaticModel.from_pretrained(mrl_generated)
    texts = corpus()
    expected = model.encode(texts, threads=2, normalize=False)
    (tmp_path / "texts.txt").write_text("\n".join(texts), encoding="utf-8")
    for i in range(2):
        out = tmp_path / f"server{i}.npy"
        names = {"texts_path": str(tmp_path / "texts.txt"), "out": str(out), "model_path": str(mrl_generated)}
        run_child("forkserver", exec, (CHILD_CODE, names))
        np.testing.assert_array_equal(np.load(out), expected)
