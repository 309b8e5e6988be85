"""Speed of a Unigram (XLM-R style SentencePiece) model on multilingual text, one thread, side by side:
fastembed-static, laghu + laghu-rs (Rust Unigram), static-embed-runner (pure-Python Unigram) and HF tokenizers
(Rust, RAYON_NUM_THREADS=1) followed by the same numpy mean pooling as fastembed-static.

    python ci/unigram_speed.py [--rounds 3] [--passes 3] [--texts N] [--normalizer charsmap|nfkc|none]

The model: tests/data/unigram's XLM-R-converted tokenizer with the hub XLM-R normalizer / pre-tokenizer (as
tests/test_unigram_parity.py builds it; ``--normalizer nfkc`` puts ``NFKC`` in place of its ``Precompiled``
charsmap, ``none`` drops it, for peers that refuse ``Precompiled``: the same vocabulary and scores, a close but not
identical normalization) and a random 31,998 x 256 float32 table, in the sentence-transformers layout
(fastembed-static, static-embed-runner, tokenizers) and the model2vec layout (laghu). Texts:
tests/data/multilingual.jsonl.xz, 34 languages. Each round runs every system in a fresh process (systems
interleaved): it loads the model (timed: what ``from_pretrained`` / ``load`` costs once the model files are on disk;
fastembed-static's one-time generation of its model folder is timed once, before the rounds), encodes all texts
once (the first pass: what a user of a fresh process sees, all caches empty), then ``--passes`` more times (warm:
median). The table gives the median over rounds of each, wall clock and the process's CPU time (less sensitive to
other jobs on a shared machine), with ``uptime``'s load before and after. Vectors are checked against
fastembed-static's (laghu, like model2vec, drops unknown tokens: compared on texts without). Needs the bench extra
(laghu, laghu-rs, static-embed-runner), tokenizers and threadpoolctl. Runs from any directory.
"""

from __future__ import annotations

import argparse
import json
import lzma
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ["TOKENIZERS_PARALLELISM"] = "false"

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"


def build(folder: Path, normalizer: str = "charsmap") -> tuple[Path, Path, int]:
    from safetensors.numpy import save_file
    from tokenizers import Tokenizer

    data = json.loads(lzma.open(DATA / "unigram" / "mbart-trimmed-xlmr-converted-tokenizer.json.xz").read())
    replace = {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}
    first = {"charsmap": [data["normalizer"]], "nfkc": [{"type": "NFKC"}], "none": []}[normalizer]
    data["normalizer"] = {"type": "Sequence", "normalizers": [*first, replace]}
    data["pre_tokenizer"] = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True}
    text = json.dumps(data)
    rows = Tokenizer.from_str(text).get_vocab_size()
    table = np.random.default_rng(22).standard_normal((rows, 256)).astype(np.float32)
    st, m2v = folder / "st", folder / "m2v"
    for d in (st, m2v):
        d.mkdir()
        (d / "tokenizer.json").write_text(text, encoding="utf-8")
    (st / "modules.json").write_text(
        json.dumps([{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.StaticEmbedding"}]),
        encoding="utf-8",
    )
    save_file({"embedding.weight": table}, str(st / "model.safetensors"))
    (m2v / "config.json").write_text(json.dumps({"model_type": "model2vec", "normalize": False}), encoding="utf-8")
    save_file({"embeddings": table}, str(m2v / "model.safetensors"))
    return st, m2v, rows


def texts_of(limit: int | None) -> list[str]:
    with lzma.open(DATA / "multilingual.jsonl.xz", "rt", encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f]
    return texts[:limit] if limit else texts


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


SYSTEMS = ("fastembed-static", "laghu+laghu-rs", "static-embed-runner", "tokenizers")


def loader(name: str, st: Path, m2v: Path, cache: Path) -> Callable[[], Callable[[list[str]], Any]]:
    """A function that loads system ``name``'s model and returns its encode(texts) -> vectors (one thread)."""

    def fastembed() -> Callable[[list[str]], Any]:
        import fastembed_static

        model = fastembed_static.StaticModel.from_pretrained(st, cache_dir=cache)
        return lambda batch: model.encode(batch, threads=1, normalize=False)

    def laghu_rs() -> Callable[[list[str]], Any]:
        import laghu

        model = laghu.load(str(m2v), fallback=False)
        if getattr(model.tokenizer, "rs", None) is None:
            raise RuntimeError("laghu did not take its Rust path for this tokenizer")
        model.tokenizer.threads = 1
        return lambda batch: model.encode(batch, max_length=None, batch_size=1024)

    def runner() -> Callable[[list[str]], Any]:
        import static_embed_runner
        from threadpoolctl import ThreadpoolController

        blas = ThreadpoolController()
        model = static_embed_runner.StaticEmbedRunner.load(str(st), tokenizer_backend="lite")

        def encode(batch: list[str]) -> Any:
            with blas.limit(limits=1, user_api="blas"):
                parts = [model.encode(batch[i : i + 1024], normalize=False) for i in range(0, len(batch), 1024)]
            return np.concatenate(parts)

        return encode

    def hf_tokenizers() -> Callable[[list[str]], Any]:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        from fastembed_static._pooling import mean_pool

        tokenizer = Tokenizer.from_file(str(st / "tokenizer.json"))
        table = load_file(str(st / "model.safetensors"))["embedding.weight"]

        def encode(batch: list[str]) -> Any:
            parts = []
            for i in range(0, len(batch), 1024):
                encodings = tokenizer.encode_batch(batch[i : i + 1024], add_special_tokens=False)
                ids = np.fromiter((t for e in encodings for t in e.ids), dtype=np.intp)
                lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.intp, count=len(encodings))
                parts.append(mean_pool(table, ids, lengths))
            return np.concatenate(parts)

        return encode

    return {"fastembed-static": fastembed, "laghu+laghu-rs": laghu_rs, "static-embed-runner": runner}.get(
        name, hf_tokenizers
    )


def child(name: str, folder: Path, limit: int | None, passes: int, vectors: Path | None) -> int:
    """One system in this (fresh) process: prints a JSON line {load, first, warm} or {error}."""
    texts = texts_of(limit)
    start = time.perf_counter()
    try:
        encode = loader(name, folder / "st", folder / "m2v", folder / "cache")()
    except Exception as e:  # noqa: BLE001 - a peer that cannot run this model is reported, not fatal
        print(json.dumps({"error": f"{type(e).__name__}: {e}"}))
        return 0
    load = time.perf_counter() - start
    start, cpu = time.perf_counter(), time.process_time()
    first = np.asarray(encode(texts), dtype=np.float32)
    first_time, first_cpu = time.perf_counter() - start, time.process_time() - cpu
    warm, warm_cpu = [], []
    for _ in range(passes):
        start, cpu = time.perf_counter(), time.process_time()
        encode(texts)
        warm.append(time.perf_counter() - start)
        warm_cpu.append(time.process_time() - cpu)
    if vectors is not None:
        np.save(vectors, first)
    result = {"load": load, "first": first_time, "warm": statistics.median(warm)}
    result.update({"first_cpu": first_cpu, "warm_cpu": statistics.median(warm_cpu)})
    print(json.dumps(result))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="fresh processes per system (median over them)")
    parser.add_argument("--passes", type=int, default=3, help="warm passes after the first, per process (median)")
    parser.add_argument("--texts", type=int, default=None, help="only the first N texts")
    parser.add_argument(
        "--normalizer",
        choices=("charsmap", "nfkc", "none"),
        default="charsmap",
        help="the model's first normalizer: its real Precompiled charsmap (default), NFKC in its place, or none",
    )
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--vectors", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.folder, args.texts, args.passes, args.vectors)
    import fastembed_static

    texts = texts_of(args.texts)
    chars = sum(map(len, texts))
    env = dict(os.environ, RAYON_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        st, m2v, rows = build(folder, args.normalizer)
        start = time.perf_counter()
        fastembed_static.StaticModel.from_pretrained(st, cache_dir=folder / "cache")  # generates its model folder
        generate = time.perf_counter() - start
        print(f"{len(texts)} texts, {chars} characters, 34 languages; table {rows} x 256; one thread")
        print(f"normalizer: {args.normalizer} (then Replace ' {{2,}}' -> ' ')")
        print(f"fastembed-static's one-time generation of its model folder: {generate:.2f} s")
        print("load before:", uptime())
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in SYSTEMS}
        errors: dict[str, str] = {}
        for round_ in range(args.rounds):
            for name in SYSTEMS:
                if name in errors:
                    continue
                command = [sys.executable, str(Path(__file__).resolve()), "--child", name, "--folder", tmp]
                command += ["--passes", str(args.passes)]
                if args.texts:
                    command += ["--texts", str(args.texts)]
                if round_ == 0:
                    command += ["--vectors", str(folder / f"{name}.npy")]
                done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
                lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
                if done.returncode or not lines:
                    raise RuntimeError(f"{name} failed:\n{done.stdout}\n{done.stderr}")
                result = json.loads(lines[-1])
                if "error" in result:
                    errors[name] = result["error"]
                else:
                    runs[name].append(result)
        print("load after: ", uptime())
        for name, error in errors.items():
            print(f"{name}: cannot run this model: {error}")
        fe = fastembed_static.StaticModel.from_pretrained(st, cache_dir=folder / "cache")
        unk = fe.metadata["tokenizer"]["unk_id"]
        plain = np.array([unk not in fe.tokenize(t) for t in texts])
        base = np.load(folder / "fastembed-static.npy")
        for name in runs:
            if name in errors:
                continue
            got = np.load(folder / f"{name}.npy")
            rows_checked = plain if name == "laghu+laghu-rs" else np.ones(len(texts), dtype=bool)
            gaps = np.abs(got[rows_checked] - base[rows_checked]).max(axis=1)
            print(
                f"{name}: max |diff| vs fastembed-static on {int(rows_checked.sum())} texts: {float(gaps.max()):.2e}"
                f" ({int((gaps > 1e-5).sum())} texts differ by more than 1e-5)"
            )
        print()
        print(
            "| system | load (s) | first pass (s) | warm pass (s) | first / warm pass, CPU (s) |"
            " fastembed-static is x faster, first / warm (wall) | same, CPU |"
        )
        print("| --- | --- | --- | --- | --- | --- | --- |")
        keys = ("load", "first", "warm", "first_cpu", "warm_cpu")
        ours = {key: statistics.median(r[key] for r in runs["fastembed-static"]) for key in keys}
        for name, results in runs.items():
            if name in errors:
                print(f"| {name} | cannot run this model: `{errors[name]}` | | | | | |")
                continue
            load, first, warm, first_cpu, warm_cpu = (statistics.median(r[key] for r in results) for key in keys)
            print(
                f"| {name} | {load:.2f} | {first:.2f} | {warm:.2f} | {first_cpu:.2f} / {warm_cpu:.2f}"
                f" | {first / ours['first']:.2f} / {warm / ours['warm']:.2f}"
                f" | {first_cpu / ours['first_cpu']:.2f} / {warm_cpu / ours['warm_cpu']:.2f} |"
            )
        print(f"\n(median of {args.rounds} fresh processes per system; warm: median of {args.passes} passes each)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
