"""Models from the hub end to end: StaticModel.from_pretrained and the CLI with a hub id, through the real
requests code path, against a fake hub on 127.0.0.1 (tests/hub_server.py) serving real-tokenizer models."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from fastembed_static import StaticModel
from fastembed_static.gen import GenerationError
from fastembed_static.hub import OfflineError, snapshot_download

from .helpers import CLI, MRL_DIR, gooaq_queries, random_table, safetensors_bytes
from .hub_server import FakeHub

ST_ID = "sentence-transformers/static-retrieval-mrl-en-v1"
M2V_ID = "minishlab/potion-like-test"
BPE_ID = "someone/bpe-static"
ROWS, DIM = 30522, 64


def st_repo() -> dict[str, bytes]:
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.StaticEmbedding"},
        {"idx": 1, "name": "1", "path": "1_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]
    return {
        "modules.json": json.dumps(modules).encode(),
        "tokenizer.json": (MRL_DIR / "tokenizer.json").read_bytes(),
        "model.safetensors": safetensors_bytes({"embedding.weight": random_table(ROWS, DIM, seed=1)}),
        "README.md": b"card",
    }


def m2v_repo() -> dict[str, bytes]:
    """The potion layout: modules.json pointing at the root, config.json, tensor 'embeddings'."""
    modules = [{"idx": 0, "name": "0", "path": ".", "type": "sentence_transformers.models.StaticEmbedding"}]
    return {
        "modules.json": json.dumps(modules).encode(),
        "config.json": json.dumps({"model_type": "model2vec", "normalize": False}).encode(),
        "tokenizer.json": (MRL_DIR / "tokenizer.json").read_bytes(),
        "model.safetensors": safetensors_bytes({"embeddings": random_table(ROWS, DIM, seed=2)}),
    }


def bpe_repo() -> dict[str, bytes]:
    from tokenizers import Tokenizer, models, pre_tokenizers

    files = m2v_repo()
    tokenizer = Tokenizer(models.BPE({"a": 0, "b": 1}, []))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    files["tokenizer.json"] = tokenizer.to_str().encode()
    return files


@pytest.fixture
def fake_hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeHub]:
    for name in ("HF_TOKEN", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    hub = FakeHub({ST_ID: {"main": st_repo()}, M2V_ID: {"main": m2v_repo()}, BPE_ID: {"main": bpe_repo()}}).start()
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    monkeypatch.setenv("FASTEMBED_STATIC_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    yield hub
    hub.stop()


def local_copy(files: dict[str, bytes], root: Path) -> Path:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def test_sentence_transformers_model_from_hub(fake_hub: FakeHub, tmp_path: Path) -> None:
    from sentence_transformers import SentenceTransformer

    model = StaticModel.from_pretrained(ST_ID)
    assert model.metadata["source"]["repo_id"] == ST_ID and len(model.metadata["source"]["commit"]) == 40
    requested = len(fake_hub.requests)
    assert requested > 0
    again = StaticModel.from_pretrained(ST_ID)
    assert len(fake_hub.requests) == requested, "a second load makes no request"
    assert again.path == model.path
    reference = SentenceTransformer(str(local_copy(st_repo(), tmp_path / "st")), device="cpu")
    texts = gooaq_queries()[:500]
    expected = reference.encode(texts, convert_to_numpy=True)
    assert np.abs(model.encode(texts) - expected).max() <= 1e-6
    offline = StaticModel.from_pretrained(ST_ID, offline=True)
    assert len(fake_hub.requests) == requested and offline.path == model.path


def test_model2vec_model_from_hub(fake_hub: FakeHub) -> None:
    from model2vec import StaticModel as Model2VecModel

    model = StaticModel.from_pretrained(M2V_ID)
    assert model.normalize_default is False and model.dim == DIM
    source = snapshot_download(M2V_ID, offline=True).source_dir  # the downloaded files, from the cache
    reference = Model2VecModel.from_pretrained(str(source))
    unk = model.metadata["tokenizer"]["unk_id"]
    texts = [t for t in gooaq_queries()[:1000] if unk not in model.tokenize(t)]
    expected = reference.encode(texts, max_length=None, use_multiprocessing=False)
    assert np.abs(model.encode(texts) - expected).max() <= 1e-6


def test_unsupported_tokenizer_is_refused(fake_hub: FakeHub) -> None:
    """A BPE with the Whitespace pre-tokenizer (byte-level and SentencePiece-style BPE are supported; this is
    neither), refused by name."""
    with pytest.raises(
        GenerationError, match=r"tokenizer.json: unsupported pre_tokenizer: 'Whitespace'.*ByteLevel, Metaspace or none"
    ):
        StaticModel.from_pretrained(BPE_ID)


def test_offline_without_cache(fake_hub: FakeHub) -> None:
    with pytest.raises(OfflineError, match="not in the cache"):
        StaticModel.from_pretrained(ST_ID, offline=True)
    assert fake_hub.requests == []


def test_many_models_in_one_process(fake_hub: FakeHub) -> None:
    """Each model has its own vocabulary, table and caches: interleaving them changes nothing."""
    texts = gooaq_queries()[:300]
    default, st, m2v = StaticModel.default(), StaticModel.from_pretrained(ST_ID), StaticModel.from_pretrained(M2V_ID)
    alone = [m.encode(texts) for m in (default, st, m2v)]
    mixed = [[m.encode(t) for m in (default, st, m2v)] for t in texts]
    for i, expected in enumerate(alone):
        np.testing.assert_array_equal(np.stack([row[i] for row in mixed]), expected)
    assert default.vocab_size != st.vocab_size
    assert st.tokenize("hello") != default.tokenize("hello")
    assert not np.array_equal(st.encode("hello"), m2v.encode("hello"))


def test_cli_gen_and_info_with_hub_id(fake_hub: FakeHub, tmp_path: Path) -> None:
    env = {**os.environ}
    out = tmp_path / "generated"
    gen = subprocess.run([CLI, "gen", ST_ID, "--out", str(out)], capture_output=True, text=True, env=env)
    assert gen.returncode == 0, gen.stderr
    info = subprocess.run([CLI, "info", str(out)], capture_output=True, text=True, env=env)
    assert f"hub:         {ST_ID} revision main (commit " in info.stdout
    missing = subprocess.run([CLI, "info", "nobody/nothing"], capture_output=True, text=True, env=env)
    assert missing.returncode == 2 and "not found" in missing.stderr and "Traceback" not in missing.stderr
