"""The ``fastembed-static`` command: ``embed`` texts, ``gen`` a model, ``info`` about a model, ``bench`` its speed."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .errors import HubError, ModelFileError
from .model import StaticModel

PROGRESS_THRESHOLD = 5000  # texts; fewer finish too fast for a progress bar to help


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.run(args)
        return result
    except (ModelFileError, HubError, ImportError, OSError, ValueError, TypeError) as e:
        print(f"fastembed-static: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fastembed-static", description=__doc__)
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    embed = sub.add_parser("embed", help="embed texts (arguments, or --input FILE with one text per line)")
    embed.add_argument("texts", nargs="*", help="texts to embed")
    embed.add_argument("--input", type=Path, help="UTF-8 file with one text per line ('-' for stdin)")
    embed.add_argument("--output", type=Path, help="write an (n, dim) float32 .npy file (atomically)")
    embed.add_argument("--model", help="model directory or hub id owner/name (default: the bundled model)")
    embed.add_argument("--dim", type=int, help="keep the first DIM dimensions (Matryoshka)")
    norm = embed.add_mutually_exclusive_group()
    norm.add_argument("--normalize", dest="normalize", action="store_true", default=None, help="L2-normalize")
    norm.add_argument("--no-normalize", dest="normalize", action="store_false", help="do not L2-normalize")
    embed.add_argument("--batch-size", type=int, default=1024)
    embed.add_argument("--quiet", action="store_true", help="no progress bar")
    _hub_options(embed)
    embed.set_defaults(run=_embed)

    gen = sub.add_parser(
        "gen", help="generate a model from a sentence-transformers or model2vec model directory or hub id"
    )
    gen.add_argument(
        "model", help="model directory, or hub id such as sentence-transformers/static-retrieval-mrl-en-v1"
    )
    gen.add_argument("--out", type=Path, help="output directory (replaced atomically; default: the cache)")
    gen.add_argument("--dims", type=int, help="bake in only the first DIMS dimensions")
    gen.add_argument(
        "--dtype",
        choices=["float32", "float16", "int8"],
        default="float32",
        help="table storage (default exact float32)",
    )
    _hub_options(gen)
    gen.set_defaults(run=_gen)

    info = sub.add_parser("info", help="describe a model (default: the bundled model)")
    info.add_argument("model", nargs="?", help="model directory or hub id")
    _hub_options(info)
    info.set_defaults(run=_info)

    from ._selfbench import add_parser as add_bench_parser

    add_bench_parser(sub)
    return parser


def _hub_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--revision", default="main", help="hub branch, tag or commit (default: main)")
    parser.add_argument("--offline", action="store_true", default=None, help="use only the cache (or HF_HUB_OFFLINE=1)")
    parser.add_argument("--force-refresh", action="store_true", help="ask the hub whether a cached branch moved")
    parser.add_argument("--cache-dir", type=Path, help="default: $FASTEMBED_STATIC_CACHE or ~/.cache/fastembed-static")


def _hub_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """The hub options of a command, as keyword arguments of from_pretrained and snapshot_download."""
    return {
        "revision": args.revision,
        "offline": args.offline,
        "force_refresh": args.force_refresh,
        "cache_dir": args.cache_dir,
    }


def _load(model: str | None, args: argparse.Namespace) -> StaticModel:
    return StaticModel.default() if model is None else StaticModel.from_pretrained(model, **_hub_kwargs(args))


def _read_lines(source: Path) -> list[str]:
    raw = sys.stdin.buffer.read() if str(source) == "-" else source.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise ValueError(f"{source}: line {line} is not valid UTF-8 ({e.reason} at byte {e.start})") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last line does not start another text
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def _embed(args: argparse.Namespace) -> int:
    if args.input is not None and args.texts:
        raise ValueError("give texts as arguments or with --input, not both")
    texts: list[str] = _read_lines(args.input) if args.input is not None else list(args.texts)
    if not texts:
        raise ValueError("no texts to embed: pass texts as arguments or --input FILE")
    if args.output is not None and args.output.suffix != ".npy":
        raise ValueError(f"--output must end with .npy, got {args.output}")
    model = _load(args.model, args)
    show = not args.quiet and len(texts) >= PROGRESS_THRESHOLD
    vectors = model.encode(
        texts, batch_size=args.batch_size, normalize=args.normalize, dim=args.dim, show_progress_bar=show
    )
    if args.output is not None:
        save_npy_atomically(args.output, vectors)
        print(f"wrote {vectors.shape[0]} x {vectors.shape[1]} float32 to {args.output}", file=sys.stderr)
    else:
        for text, vector in zip(texts, vectors):
            print(json.dumps({"text": text, "embedding": [round(float(x), 7) for x in vector]}, ensure_ascii=False))
    return 0


def save_npy_atomically(path: Path, array: npt.NDArray[np.float32]) -> None:
    """Write to a temporary file beside ``path``, fsync, then rename: ``path`` is never left half-written."""
    directory = path.resolve().parent
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            np.save(f, array)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _gen(args: argparse.Namespace) -> int:
    from .gen import generate
    from .gen.layout import hub_origin

    if args.out is None:  # generate into the cache, as from_pretrained does
        if args.dtype != "float32":
            raise ValueError("--dtype needs --out (the cache holds float32 models)")
        model = StaticModel.from_pretrained(args.model, dims=args.dims, **_hub_kwargs(args))
        out = model.path
    else:
        from ._generated_cache import is_hub_id

        source, origin = Path(args.model), None
        if not is_hub_id(args.model) and not source.exists():
            raise ModelFileError(source, "model directory does not exist (and it is not a hub id owner/name)")
        if is_hub_id(args.model):  # owner/name is a hub id even if such a folder exists here: ./owner/name is not
            from . import hub

            snapshot = hub.snapshot_download(args.model, **_hub_kwargs(args))
            source = snapshot.source_dir
            origin = hub_origin(snapshot.repo_id, snapshot.revision, snapshot.commit)
        out = generate(source, args.out, dims=args.dims, dtype=args.dtype, origin=origin)
        model = StaticModel.from_pretrained(out)
    print(f"generated {out}: {model.vocab_size} tokens x {model.dim} dims")
    return 0


def _info(args: argparse.Namespace) -> int:
    model = _load(args.model, args)
    meta = model.metadata
    weights = model.path / meta["weights"]["file"]
    print(f"path:        {model.path}")
    source = meta["source"]
    print(f"source:      {source['layout']} model {source.get('name', source.get('path'))!r}")
    if "repo_id" in source:
        print(f"hub:         {source['repo_id']} revision {source['revision']} (commit {source['commit']})")
    print(f"vocab size:  {model.vocab_size}")
    print(f"dims:        {model.dim}")
    print(f"dtype:       {meta['dtype']}")
    print(f"normalize:   {meta['normalize']}")
    print(f"weights:     {weights.name}, {weights.stat().st_size} bytes, sha256 {meta['weights']['sha256']}")
    print(f"generator:   version {meta['generator_version']}")
    for name, digest in meta["source"]["sha256"].items():
        print(f"source file: {name} sha256 {digest}")
    return 0
