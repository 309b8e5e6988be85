"""Fixtures shared by the tests: models built from the real tokenizer in tests/data (see helpers.py)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

import fastembed_static

from .helpers import MRL_SHAPE, MRL_TOKENIZER, make_st_model, pure_core, random_table


@pytest.fixture(scope="session")
def mrl_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """static-retrieval-mrl-en-v1's real tokenizer with a random table of the real shape (fixed seed)."""
    root = tmp_path_factory.mktemp("mrl-source")
    return make_st_model(root, MRL_TOKENIZER, random_table(*MRL_SHAPE))


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

    return Tokenizer.from_file(str(MRL_TOKENIZER))


@pytest.fixture(scope="session")
def pure_tokenizer_module() -> ModuleType:
    """The WordPiece core as plain Python, even when the .so is in use."""
    return pure_core("_tokenizer")
