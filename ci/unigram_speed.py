"""Speed of a Unigram (XLM-R style SentencePiece) model on multilingual text, one thread, side by side:
fastembed-static, laghu + laghu-rs (Rust Unigram) and static-embed-runner (pure-Python Unigram).

    python ci/unigram_speed.py [--rounds 5] [--texts N]

The model: tests/data/unigram's XLM-R-converted tokenizer with the hub XLM-R normalizer / pre-tokenizer (as
tests/test_unigram_parity.py builds it) and a random 31,998 x 256 float32 table, in the sentence-transformers layout
(fastembed-static, static-embed-runner) and the model2vec layout (laghu). Texts: tests/data/multilingual.jsonl.xz,
34 languages. Each system encodes all texts once cold (a fresh model: empty caches), then ``--rounds`` more times;
the table gives the cold time and the median of the rounds, with ``uptime``'s load before and after. Vectors are
checked against fastembed-static's first (laghu, like model2vec, drops unknown tokens: compared on texts
without). Needs the bench extra (laghu, laghu-rs, static-embed-runner) and threadpoolctl. Runs from any directory.
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


def build(folder: Path) -> tuple[Path, Path, int]:
    from safetensors.numpy import save_file
    from tokenizers import Tokenizer

    data = json.loads(lzma.open(DATA / "unigram" / "mbart-trimmed-xlmr-converted-tokenizer.json.xz").read())
    replace = {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}
    data["normalizer"] = {"type": "Sequence", "normalizers": [data["normalizer"], replace]}
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--texts", type=int, default=None)
    args = parser.parse_args()
    import laghu
    import static_embed_runner
    from threadpoolctl import ThreadpoolController

    import fastembed_static

    texts = texts_of(args.texts)
    chars = sum(map(len, texts))
    blas = ThreadpoolController()
    with tempfile.TemporaryDirectory() as tmp:
        st, m2v, rows = build(Path(tmp))
        cache = Path(tmp) / "cache"

        def fastembed() -> Callable[[list[str]], Any]:
            model = fastembed_static.StaticModel.from_pretrained(st, cache_dir=cache)
            return lambda batch: model.encode(batch, threads=1, normalize=False)

        def laghu_rs() -> Callable[[list[str]], Any]:
            model = laghu.load(str(m2v), fallback=False)
            if getattr(model.tokenizer, "rs", None) is None:
                raise RuntimeError("laghu did not take its Rust path for this tokenizer")
            model.tokenizer.threads = 1
            return lambda batch: model.encode(batch, max_length=None, batch_size=1024)

        def runner() -> Callable[[list[str]], Any]:
            model = static_embed_runner.StaticEmbedRunner.load(str(st), tokenizer_backend="lite")

            def encode(batch: list[str]) -> Any:
                with blas.limit(limits=1, user_api="blas"):
                    parts = [model.encode(batch[i : i + 1024], normalize=False) for i in range(0, len(batch), 1024)]
                return np.concatenate(parts)

            return encode

        systems = {"fastembed-static": fastembed, "laghu+laghu-rs": laghu_rs, "static-embed-runner": runner}
        print(f"{len(texts)} texts, {chars} characters, 34 languages; table {rows} x 256; one thread")
        print("load before:", uptime())
        results: dict[str, tuple[float, float]] = {}
        vectors: dict[str, Any] = {}
        for name, make in systems.items():
            try:
                encode = make()
            except Exception as e:  # noqa: BLE001 - a peer that cannot run this model is reported, not fatal
                print(f"{name}: cannot run this model: {type(e).__name__}: {e}")
                continue
            start = time.perf_counter()
            vectors[name] = np.asarray(encode(texts), dtype=np.float32)
            cold = time.perf_counter() - start
            rounds = []
            for _ in range(args.rounds):
                start = time.perf_counter()
                encode(texts)
                rounds.append(time.perf_counter() - start)
            results[name] = (cold, statistics.median(rounds))
        print("load after: ", uptime())
        fe = fastembed_static.StaticModel.from_pretrained(st, cache_dir=cache)
        unk = fe.metadata["tokenizer"]["unk_id"]
        plain = np.array([unk not in fe.tokenize(t) for t in texts])
        base = vectors["fastembed-static"]
        for name, got in vectors.items():
            rows_checked = plain if name == "laghu+laghu-rs" else np.ones(len(texts), dtype=bool)
            diff = float(np.abs(got[rows_checked] - base[rows_checked]).max())
            print(f"{name}: max |diff| vs fastembed-static on {int(rows_checked.sum())} texts: {diff:.2e}")
        print()
        print("| system | cold (s) | median of rounds (s) | texts/s (median) | fastembed-static is x faster |")
        print("| --- | --- | --- | --- | --- |")
        ours = results["fastembed-static"][1]
        for name, (cold, median) in results.items():
            print(f"| {name} | {cold:.2f} | {median:.2f} | {len(texts) / median:,.0f} | {median / ours:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
