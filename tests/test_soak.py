"""Soak (issue 8): 8 threads encode and tokenize while 2 processes regenerate and load the same model folder; every
result is compared with the single-threaded answer. Bounded: about 20 s of load, under 2 minutes in all."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from fastembed_static import StaticModel
from fastembed_static.gen import generate

from .helpers import MRL_TOKENIZER, gooaq_queries, make_st_model, pep_paragraphs, random_table

ROWS, DIM = 30522, 16
SECONDS = 20.0
THREADS = 8

_PROCESS = """
import json, sys, time
from pathlib import Path
import numpy as np
from fastembed_static import StaticModel
from fastembed_static.gen import generate
sources, out, answers_dir, seconds, seed = [Path(p) for p in sys.argv[1:3]], Path(sys.argv[3]), Path(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
texts = json.loads((answers_dir / "texts.json").read_text(encoding="utf-8"))
answers = {p.stem: np.load(p) for p in answers_dir.glob("*.npy")}
end, i, loads = time.monotonic() + seconds, seed, 0
while time.monotonic() < end:
    generate(sources[i % 2], out)
    i += 1
    model = StaticModel.from_pretrained(out)
    got = model.encode(texts)
    expected = answers[model.metadata["weights"]["sha256"]]
    if not np.array_equal(got, expected):
        print("MISMATCH", flush=True)
        sys.exit(1)
    loads += 1
print("loads", loads)
"""


def _sha(model_dir: Path) -> str:
    sha: str = json.loads((model_dir / "model.json").read_text(encoding="utf-8"))["weights"]["sha256"]
    return sha


def test_soak_threads_and_regenerating_processes(tmp_path: Path) -> None:
    sources = [
        make_st_model(tmp_path / f"src{k}", MRL_TOKENIZER, random_table(ROWS, DIM, seed=k + 1)) for k in range(2)
    ]
    texts = gooaq_queries()[:2000] + pep_paragraphs()[:500]
    sample = texts[::25]
    answers_dir = tmp_path / "answers"
    answers_dir.mkdir()
    (answers_dir / "texts.json").write_text(json.dumps(sample), encoding="utf-8")
    encoded: dict[str, np.ndarray] = {}
    for k, src in enumerate(sources):
        reference = generate(src, tmp_path / f"reference{k}")
        model = StaticModel.from_pretrained(reference)
        encoded[_sha(reference)] = model.encode(texts)  # the single-threaded answers
        np.save(answers_dir / f"{_sha(reference)}.npy", model.encode(sample))
    tokenizer = StaticModel.from_pretrained(tmp_path / "reference0")
    tokens = [tokenizer.tokenize(t) for t in texts]
    out = generate(sources[0], tmp_path / "out")

    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _PROCESS, *map(str, sources), str(out), str(answers_dir), str(SECONDS), str(seed)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
        )
        for seed in range(2)
    ]
    shared = StaticModel.from_pretrained(out)  # one object used by all threads at once
    errors: list[str] = []
    counts = [0] * THREADS
    end = time.monotonic() + SECONDS

    def work(index: int) -> None:
        rng = random.Random(index)
        model = shared
        try:
            while time.monotonic() < end and not errors:
                if rng.random() < 0.05:  # sometimes load the folder the processes are regenerating
                    model = StaticModel.from_pretrained(out)
                first = rng.randrange(len(texts))
                last = min(len(texts), first + rng.choice((1, 7, 64, 300)))
                expected = encoded[model.metadata["weights"]["sha256"]]
                if rng.random() < 0.5:
                    got = model.encode(texts[first:last], batch_size=rng.choice((1, 16, 1024)))
                    if not np.allclose(got, expected[first:last], rtol=0, atol=1e-6):
                        errors.append(f"thread {index}: encode of texts {first}:{last} differs")
                    single = model.encode(texts[first])
                    if not np.allclose(single, expected[first], rtol=0, atol=1e-6):
                        errors.append(f"thread {index}: encode of text {first} differs")
                else:
                    for i in range(first, last):
                        if model.tokenize(texts[i]) != tokens[i]:
                            errors.append(f"thread {index}: tokenize of text {i} differs")
                counts[index] += 1
        except Exception as e:  # noqa: BLE001 - reported below with the others
            errors.append(f"thread {index}: {type(e).__name__}: {e}")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for process in processes:
        stdout, stderr = process.communicate(timeout=90)
        assert process.returncode == 0, f"{stdout}\n{stderr}"
        assert int(stdout.split()[-1]) > 0, "each process regenerated and loaded at least once"
    assert not errors, errors[:5]
    assert all(counts), counts
    assert sorted(p.name for p in out.iterdir()) == ["model.json", "vocab.py", "weights.f32.bin"]
