"""Lock files do not pile up: the inter-process lock (fastembed_static/gen/locking.py) removes its file on release,
under the lock, and a process that then finds the path naming another file (or none) locks again. Checked for
mutual exclusion with processes that race on one lock, and for what the cache holds after many generations,
local-model loads and hub downloads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from fastembed_static import StaticModel
from fastembed_static.gen import generate
from fastembed_static.gen.locking import file_lock

from .helpers import MRL_TOKENIZER, make_st_model, random_table, safetensors_bytes
from .hub_server import FakeHub

ROWS = 30522

_COUNT = """
import sys, time
from pathlib import Path
from fastembed_static.gen.locking import file_lock
lock, counter, rounds = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
for _ in range(rounds):
    with file_lock(lock):
        value = int(counter.read_text())
        time.sleep(0.002)  # widen the window a second holder would fall into
        counter.write_text(str(value + 1))
print("done")
"""


def test_removing_the_lock_file_keeps_mutual_exclusion(tmp_path: Path) -> None:
    """4 processes x 60 increments of a counter under one lock whose file is removed at every release: a lost
    update would mean two holders at once."""
    lock, counter = tmp_path / "locks" / ".x.lock", tmp_path / "counter"
    counter.write_text("0")
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _COUNT, str(lock), str(counter), "60"],
            stdout=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
        )
        for _ in range(4)
    ]
    for worker in workers:
        stdout, _ = worker.communicate(timeout=300)
        assert worker.returncode == 0 and "done" in stdout
    assert counter.read_text() == "240"
    assert not lock.exists(), "the last holder removed the lock file"


def test_a_waiter_on_a_removed_lock_file_locks_the_new_one(tmp_path: Path) -> None:
    """A process blocked on the file of a holder that then removes it must not run beside the next holder."""
    lock = tmp_path / ".x.lock"
    waiter = (
        "import sys, time\nfrom pathlib import Path\nfrom fastembed_static.gen.locking import file_lock\n"
        "print('ready', flush=True)\n"
        "with file_lock(Path(sys.argv[1])):\n"
        "    print(time.monotonic(), flush=True)\n    time.sleep(0.5)\n    print(time.monotonic(), flush=True)\n"
    )
    with file_lock(lock):
        process = subprocess.Popen(
            [sys.executable, "-c", waiter, str(lock)], stdout=subprocess.PIPE, text=True, cwd=tmp_path
        )
        assert process.stdout is not None
        # its imports done (seconds on a loaded machine): it is about to open the file and block in flock
        assert process.stdout.readline().strip() == "ready"
        time.sleep(1)
        assert process.poll() is None
    with file_lock(lock):  # taken again at once: the waiter, woken on the removed file, must lock this one
        acquired = time.monotonic()
        time.sleep(1)
        released = time.monotonic()
    stdout, _ = process.communicate(timeout=60)
    assert process.returncode == 0
    start, end = (float(line) for line in stdout.split())
    assert start >= released or end <= acquired, "the waiter held the lock while this process did"
    assert not lock.exists()


def test_generations_and_loads_leave_no_lock_files(tmp_path: Path) -> None:
    source = make_st_model(tmp_path / "src", MRL_TOKENIZER, random_table(ROWS, 4))
    cache = tmp_path / "cache"
    for i in range(3):
        generate(source, tmp_path / "out" / f"m{i}")
        generate(source, tmp_path / "out" / "m0")  # the same output again
        os.utime(source / "model.safetensors", ns=(i * 10**9, i * 10**9))  # an edited source: a new cache entry
        StaticModel.from_pretrained(source, cache_dir=cache)
        StaticModel.from_pretrained(source, cache_dir=cache)
    assert len(list((cache / "local").iterdir())) == 3
    assert [p for p in tmp_path.rglob("*") if p.name.endswith(".lock")] == []


@pytest.fixture
def fake_hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.StaticEmbedding"}]
    table = np.random.default_rng(3).standard_normal((ROWS, 4), dtype=np.float32)
    files = {
        "modules.json": json.dumps(modules).encode(),
        "tokenizer.json": MRL_TOKENIZER.read_bytes(),
        "model.safetensors": safetensors_bytes({"embedding.weight": table}),
    }
    fake = FakeHub({"acme/one": {"main": files}, "acme/two": {"main": files}}).start()
    for name in ("HF_TOKEN", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", fake.endpoint)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")
    yield fake
    fake.stop()


def test_hub_downloads_leave_no_lock_files(fake_hub: FakeHub, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    for _ in range(2):
        for repo in ("acme/one", "acme/two"):
            StaticModel.from_pretrained(repo, cache_dir=cache)
            StaticModel.from_pretrained(repo, cache_dir=cache, dims=2)
            StaticModel.from_pretrained(repo, cache_dir=cache, force_refresh=True)
    assert len(list(cache.rglob("model.json"))) == 4
    assert [p for p in cache.rglob("*") if p.name.endswith(".lock")] == []
