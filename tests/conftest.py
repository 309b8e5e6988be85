"""Shared fixtures: the real tokenizer and corpora from ../shared, and models built from them."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

import fastembed_static

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
MRL_DIR = SHARED / "models" / "static-retrieval-mrl-en-v1"
GOOAQ = SHARED / "corpus" / "gooaq-10k.txt"
PEPS = SHARED / "corpus" / "peps"
STSB = SHARED / "eval" / "stsb-dev.jsonl"
MRL_SHAPE = (30522, 1024)
SEED = 20261126


def require_shared() -> None:
    if not (MRL_DIR / "tokenizer.json").is_file():
        pytest.fail(f"the shared data is missing: expected {MRL_DIR} (a copy of shared/ beside the repository)")


def gooaq_queries() -> list[str]:
    require_shared()
    return GOOAQ.read_text(encoding="utf-8").splitlines()


def pep_paragraphs() -> list[str]:
    """Every paragraph (blank-line separated block) of every PEP, in file order."""
    require_shared()
    paragraphs: list[str] = []
    for path in sorted(PEPS.glob("*.rst")):
        text = path.read_text(encoding="utf-8")
        paragraphs.extend(p for p in re.split(r"\n\s*\n", text) if p.strip())
    return paragraphs


def pep_documents() -> list[str]:
    require_shared()
    return [p.read_text(encoding="utf-8") for p in sorted(PEPS.glob("*.rst"))]


def write_safetensors(path: Path, tensors: dict[str, np.ndarray]) -> None:
    """A minimal safetensors writer (so the tests do not trust the reader they test to write their inputs)."""
    from safetensors.numpy import save_file

    save_file(tensors, str(path))


def make_st_model(root: Path, tokenizer_json: Path, table: np.ndarray, normalize: bool = False) -> Path:
    """A sentence-transformers StaticEmbedding layout model directory."""
    root.mkdir(parents=True, exist_ok=True)
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.StaticEmbedding"}]
    if normalize:
        modules.append({"idx": 1, "name": "1", "path": "1_Normalize", "type": "sentence_transformers.models.Normalize"})
        (root / "1_Normalize").mkdir(exist_ok=True)
    (root / "modules.json").write_text(json.dumps(modules), encoding="utf-8")
    (root / "tokenizer.json").write_bytes(tokenizer_json.read_bytes())
    write_safetensors(root / "model.safetensors", {"embedding.weight": table})
    return root


def random_table(rows: int, dim: int, seed: int = SEED) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((rows, dim), dtype=np.float32)


@pytest.fixture(scope="session")
def mrl_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """static-retrieval-mrl-en-v1's real tokenizer with a random table of the real shape (fixed seed)."""
    require_shared()
    root = tmp_path_factory.mktemp("mrl-source")
    return make_st_model(root, MRL_DIR / "tokenizer.json", random_table(*MRL_SHAPE))


@pytest.fixture(scope="session")
def mrl_generated(mrl_source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from fastembed_static.gen import generate

    return generate(mrl_source, tmp_path_factory.mktemp("mrl-gen") / "model")


@pytest.fixture(scope="session")
def mrl_model(mrl_generated: Path) -> fastembed_static.StaticModel:
    return fastembed_static.StaticModel.from_pretrained(mrl_generated)


@pytest.fixture(scope="session")
def hf_mrl_tokenizer():  # type: ignore[no-untyped-def]
    from tokenizers import Tokenizer

    require_shared()
    return Tokenizer.from_file(str(MRL_DIR / "tokenizer.json"))


@pytest.fixture(scope="session")
def pure_tokenizer_module() -> ModuleType:
    """The tokenizer core as plain Python, loaded from the installed .py source even when the .so is in use."""
    source = Path(fastembed_static.__file__).parent / "_tokenizer.py"
    spec = importlib.util.spec_from_file_location("fastembed_static_pure_tokenizer", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
