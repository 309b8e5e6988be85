"""Cross-architecture parity of the installed fastembed-static: dump on one machine, compare with another.

    python ci/arm_parity.py source OUT_DIR                  # x86-64: a random 30522x1024 table with the real
                                                            #   static-retrieval-mrl-en-v1 tokenizer (fixed seed)
    python ci/arm_parity.py dump SOURCE_DIR OUT.npz         # any machine, with the installed package (numpy only)
    python ci/arm_parity.py compare REFERENCE.npz OTHER.npz # exit status 1 on any difference beyond the limits

The dump holds, for the shipped corpora (10,000 GooAQ queries, every PEP paragraph, the tokenizer stress sets of
tests/stress_texts.py, which include every code point in runs of 16; ``--every-code-point`` adds each code point
alone, ~40% more time), every text's token ids; the vectors of
the GooAQ queries, 2,000 PEP paragraphs and 100 whole PEPs (long texts: chunked summation) with the mrl-shaped
model (raw and normalized, 1024 and 256 dims) and with the bundled default model; and the sha256 of the bundled
default model's files and of the model generated from SOURCE_DIR (model.json without its ``source.path``, which
names the machine's directory). The source table is made once, on x86-64, and copied: the comparison never
depends on a random generator giving the same numbers on two architectures.

Run it with the installed package (``python -P`` or from outside the source tree), never the source tree.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
VECTOR_LIMIT = 1e-6  # floats may differ only by summation order; every check so far found 0 or ~1e-7


def _load(name: str) -> ModuleType:
    """tests/<name>.py by path (the tests package would import the source tree's fastembed_static)."""
    spec = importlib.util.spec_from_file_location(f"arm_parity_{name}", REPO / "tests" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def corpora(every_code_point: bool) -> dict[str, list[str]]:
    helpers, stress = _load("helpers"), _load("stress_texts")
    sets: dict[str, list[str]] = {"gooaq": helpers.gooaq_queries(), "pep paragraphs": helpers.pep_paragraphs()}
    sets.update(stress.all_stress_sets())
    if every_code_point:
        sets["every code point alone"] = stress.every_code_point_alone()
    return sets


def make_source(out: Path) -> None:
    helpers = _load("helpers")
    helpers.make_st_model(out, helpers.MRL_TOKENIZER, helpers.random_table(*helpers.MRL_SHAPE))
    print(f"source model (random {helpers.MRL_SHAPE} table, seed {helpers.SEED}) in {out}")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _model_hashes(model_dir: Path) -> dict[str, str]:
    hashes = {}
    for path in sorted(p for p in model_dir.iterdir() if p.is_file()):
        if path.name == "model.json":
            meta = json.loads(path.read_text(encoding="utf-8"))
            meta["source"].pop("path", None)
            hashes[path.name + " (without source.path)"] = hashlib.sha256(
                json.dumps(meta, sort_keys=True).encode()
            ).hexdigest()
        else:
            hashes[path.name] = _sha256(path)
    return hashes


def dump(source: Path, out: Path, every_code_point: bool = False) -> None:
    import fastembed_static
    from fastembed_static import StaticModel
    from fastembed_static.gen import generate

    if Path(fastembed_static.__file__).resolve().is_relative_to(REPO.resolve()):
        sys.exit("this imported the source tree's fastembed_static: run with python -P, outside the checkout")
    started = time.perf_counter()
    texts = corpora(every_code_point)
    arrays: dict[str, np.ndarray] = {}
    with tempfile.TemporaryDirectory() as tmp:
        generated = generate(source, Path(tmp) / "mrl")
        files = {"generated mrl-shaped model": _model_hashes(generated)}
        mrl = StaticModel.from_pretrained(generated)
        default = StaticModel.default()
        files["bundled default model"] = _model_hashes(default.path)
        timings = {}
        for name, items in texts.items():
            t = time.perf_counter()
            ids = [mrl.tokenize(text) for text in items]
            timings[f"tokenize {name}"] = round(time.perf_counter() - t, 2)
            arrays[f"ids/{name}"] = np.fromiter((i for row in ids for i in row), dtype=np.int32)
            arrays[f"lengths/{name}"] = np.array([len(row) for row in ids], dtype=np.int64)
        helpers = _load("helpers")
        vector_texts = {
            "gooaq": texts["gooaq"],
            "pep paragraphs": texts["pep paragraphs"][:2000],
            "whole peps": helpers.pep_documents()[:100],
        }
        t = time.perf_counter()
        for name, items in vector_texts.items():
            arrays[f"vectors/mrl/{name}"] = mrl.encode(items)
            arrays[f"vectors/mrl normalized 256/{name}"] = mrl.encode(items, normalize=True, dim=256)
            arrays[f"vectors/default/{name}"] = default.encode(items)
        timings["encode"] = round(time.perf_counter() - t, 2)
        del mrl
    meta = {
        "machine": platform.machine(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "compiled": fastembed_static.COMPILED,
        "files": files,
        "seconds": round(time.perf_counter() - started, 1),
        "timings": timings,
    }
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(out, **arrays)  # type: ignore[arg-type]
    print(json.dumps(meta, indent=1))


def _read(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    return json.loads(arrays.pop("meta").tobytes()), arrays


def _split(arrays: dict[str, np.ndarray], name: str) -> list[np.ndarray]:
    ends = np.cumsum(arrays[f"lengths/{name}"])
    return np.split(arrays[f"ids/{name}"], ends[:-1])


def compare(reference_path: Path, other_path: Path) -> int:
    ref_meta, ref = _read(reference_path)
    meta, other = _read(other_path)
    label = f"{meta['machine']} vs {ref_meta['machine']}"
    print(f"{label}: compiled {meta['compiled']} / {ref_meta['compiled']}, numpy {meta['numpy']} / {ref_meta['numpy']}")
    failures = []
    total_texts = total_bad = 0
    for key in sorted(k for k in other if k.startswith("lengths/")):
        name = key.removeprefix("lengths/")
        a, b = _split(ref, name), _split(other, name)
        bad = len(a) != len(b) or sum(not np.array_equal(x, y) for x, y in zip(a, b))
        total_texts += len(a)
        total_bad += int(bad)
        print(f"  token ids  {name:34} {len(a):>9,} texts  {int(bad):>6} mismatches")
        if bad:
            failures.append(f"token ids of {name}")
    print(f"  token ids  {'all':34} {total_texts:>9,} texts  {total_bad:>6} mismatches")
    for key in sorted(k for k in ref if k.startswith("vectors/")):
        a, b = ref[key], other[key]
        if a.shape != b.shape:
            failures.append(f"{key}: shape {b.shape} != {a.shape}")
            continue
        diff = float(np.abs(a.astype(np.float64) - b).max()) if a.size else 0.0
        identical = int((a == b).all(axis=1).sum())
        print(f"  vectors    {key[8:]:34} {a.shape[0]:>9,} texts  max abs diff {diff:.3g}, {identical:,} bit-identical")
        if not diff <= VECTOR_LIMIT:
            failures.append(f"{key}: max abs diff {diff:.3g} > {VECTOR_LIMIT}")
    for model, hashes in ref_meta["files"].items():
        theirs = meta["files"].get(model, {})
        for name, digest in hashes.items():
            same = theirs.get(name) == digest
            print(f"  files      {model}: {name} {'identical' if same else 'DIFFERENT'}")
            if not same:
                failures.append(f"{model}: {name} differs")
    print(f"  dump took {meta['seconds']} s on {meta['machine']} ({ref_meta['seconds']} s on {ref_meta['machine']})")
    if failures:
        print(f"{label}: FAILED: " + "; ".join(failures))
        return 1
    print(f"{label}: parity OK")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("source").add_argument("out", type=Path)
    d = sub.add_parser("dump")
    d.add_argument("source", type=Path)
    d.add_argument("out", type=Path)
    d.add_argument("--every-code-point", action="store_true", help="also every code point alone")
    c = sub.add_parser("compare")
    c.add_argument("reference", type=Path)
    c.add_argument("other", type=Path)
    args = parser.parse_args(argv)
    if args.command == "source":
        make_source(args.out)
        return 0
    if args.command == "dump":
        dump(args.source, args.out, args.every_code_point)
        return 0
    return compare(args.reference, args.other)


if __name__ == "__main__":
    sys.exit(main())
