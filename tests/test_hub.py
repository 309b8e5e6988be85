"""fastembed_static.hub against a fake hub on 127.0.0.1 (tests/hub_server.py), through the real requests code.

Nothing here contacts huggingface.co: HF_ENDPOINT always points at the local server (or at a closed local port).
"""

from __future__ import annotations

import errno
import hashlib
import json
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from .helpers import MRL_TOKENIZER, safetensors_bytes
from .hub_server import FakeHub, git_blob_sha1, sha256

ST = "acme/static-st"  # sentence-transformers layout
M2V = "acme/potion-tiny"  # model2vec layout
MakeHub = Callable[..., FakeHub]


# --------------------------------------------------------------------------------------------------- model files


def tokenizer_json() -> bytes:
    """A small real BERT WordPiece tokenizer.json (built with tokenizers, else static-retrieval-mrl-en-v1's)."""
    try:
        from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
    except ImportError:
        return MRL_TOKENIZER.read_bytes()
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "the", "static", "model", "embed", "##s", "##ing", "fast", "."]
    tokenizer = Tokenizer(models.WordPiece({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    return tokenizer.to_str().encode()


def table(rows: int = 1000, dim: int = 64, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((rows, dim)).astype(np.float32)  # 256000 bytes


def st_files(seed: int = 0, folder: str = "") -> dict[str, bytes]:
    """sentence-transformers StaticEmbedding + Normalize, with files the download must not fetch."""
    modules = [
        {"idx": 0, "name": "0", "path": folder, "type": "sentence_transformers.models.StaticEmbedding"},
        {"idx": 1, "name": "1", "path": "1_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]
    prefix = f"{folder}/" if folder else ""
    return {
        "modules.json": json.dumps(modules, indent=2).encode(),
        f"{prefix}tokenizer.json": tokenizer_json(),
        f"{prefix}model.safetensors": safetensors_bytes({"embedding.weight": table(seed=seed)}),
        "config_sentence_transformers.json": b'{"similarity_fn_name": "cosine"}',
        "README.md": b"# a static model\n",
        "onnx/model.onnx": b"not needed",
    }


def m2v_files(seed: int = 1) -> dict[str, bytes]:
    """model2vec: config.json + tokenizer.json + model.safetensors (tensor 'embeddings'), no modules.json."""
    return {
        "config.json": json.dumps({"model_type": "model2vec", "normalize": True, "hidden_dim": 64}).encode(),
        "tokenizer.json": tokenizer_json(),
        "model.safetensors": safetensors_bytes({"embeddings": table(seed=seed)}),
        "README.md": b"# potion\n",
    }


# --------------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def hub() -> ModuleType:
    import fastembed_static.hub

    return fastembed_static.hub


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No token, not offline, and an endpoint nobody listens on unless a test starts a fake hub."""
    for name in ("HF_TOKEN", "HF_HUB_OFFLINE", "FASTEMBED_STATIC_CACHE", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("FASTEMBED_STATIC_CACHE", str(tmp_path / "default-cache"))
    for name in ("NO_PROXY", "no_proxy"):  # the fake hub is local, whatever proxy the environment sets
        monkeypatch.setenv(name, "127.0.0.1,localhost")


@pytest.fixture
def make_hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[MakeHub]:
    hubs: list[FakeHub] = []

    def make(repos: dict[str, dict[str, dict[str, bytes]]], **kwargs: Any) -> FakeHub:
        fake = FakeHub(repos, **kwargs).start()
        hubs.append(fake)
        monkeypatch.setenv("HF_ENDPOINT", fake.endpoint)
        return fake

    yield make
    for fake in hubs:
        fake.stop()


@pytest.fixture
def fake(make_hub: MakeHub) -> FakeHub:
    return make_hub({ST: {"main": st_files()}, M2V: {"main": m2v_files()}})


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def repo_dir(cache: Path, repo_id: str) -> Path:
    return cache / "models" / repo_id.replace("/", "--")


def incomplete_files(cache: Path) -> list[Path]:
    return sorted(cache.rglob("*.incomplete"))


def manifests(cache: Path) -> list[Path]:
    return sorted(cache.rglob(".fastembed-static-files.json"))


def assert_snapshot(snapshot: Any, served: dict[str, bytes], expected: list[str]) -> None:
    """The snapshot holds exactly ``expected``, byte-identical to what the hub serves, and the manifest agrees."""
    assert sorted(snapshot.files) == sorted(expected)
    for name in expected:
        local = snapshot.source_dir.joinpath(*name.split("/"))
        assert local.read_bytes() == served[name], name
        assert snapshot.files[name] == sha256(served[name])
    on_disk = sorted(
        p.relative_to(snapshot.source_dir).as_posix() for p in snapshot.source_dir.rglob("*") if p.is_file()
    )
    assert on_disk == sorted([*expected, ".fastembed-static-files.json"])
    manifest = json.loads((snapshot.source_dir / ".fastembed-static-files.json").read_text())
    assert manifest["commit"] == snapshot.commit
    assert manifest["files"] == {n: {"size": len(served[n]), "sha256": sha256(served[n])} for n in expected}


# --------------------------------------------------------------------------------------------------- basics


def test_default_cache_dir(hub: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FASTEMBED_STATIC_CACHE", str(tmp_path / "a"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert hub.default_cache_dir() == tmp_path / "a"
    monkeypatch.delenv("FASTEMBED_STATIC_CACHE")
    assert hub.default_cache_dir() == tmp_path / "xdg" / "fastembed-static"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert hub.default_cache_dir() == tmp_path / "home" / ".cache" / "fastembed-static"


def test_looks_like_repo_id(hub: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    assert hub.looks_like_repo_id("minishlab/potion-base-8M")
    assert hub.looks_like_repo_id("sentence-transformers/static-retrieval-mrl-en-v1")
    (tmp_path / "models" / "mine").mkdir(parents=True)
    assert hub.looks_like_repo_id("models/mine")  # syntax only: "./models/mine" or a Path names the folder
    for s in ("potion-base-8M", "a/b/c", "./a/b", "/abs/path", "a--b/c", "a/b..c", "a/b.", "", "a/", "C:/x"):
        assert not hub.looks_like_repo_id(s), s


def test_invalid_repo_id_or_revision(hub: ModuleType, cache: Path) -> None:
    with pytest.raises(ValueError, match="owner/name"):
        hub.snapshot_download("not-a-repo-id", cache_dir=cache)
    with pytest.raises(ValueError, match="revision"):
        hub.snapshot_download("a/b", revision="..", cache_dir=cache)


# --------------------------------------------------------------------------------------------------- downloads


def test_sentence_transformers_layout(hub: ModuleType, fake: FakeHub, cache: Path) -> None:
    snapshot = hub.snapshot_download(ST, cache_dir=cache)
    served = fake.repos[ST].commits[fake.commit_of(ST)]
    commit = fake.commit_of(ST)
    assert (snapshot.repo_id, snapshot.revision, snapshot.commit) == (ST, "main", commit)
    assert snapshot.source_dir == repo_dir(cache, ST) / commit / "source"
    assert hub.generated_dir(snapshot) == repo_dir(cache, ST) / commit / "generated"
    assert_snapshot(snapshot, served, ["modules.json", "tokenizer.json", "model.safetensors"])
    assert (repo_dir(cache, ST) / "refs" / "main").read_text().strip() == commit
    # Only the needed files were asked for (config.json is optional and absent), nothing else.
    asked = {r.path.rsplit("/resolve/", 1)[-1].split("/", 1)[1] for r in fake.matching(contains="/resolve/")}
    assert asked == {"modules.json", "config.json", "tokenizer.json", "model.safetensors"}
    # The LFS file came from the redirect target; its metadata came from a HEAD without redirects.
    assert [r.status for r in fake.matching("HEAD", "model.safetensors")] == [302]
    assert fake.count("GET", "/lfs/") == 1
    assert fake.count("GET", "/resolve/") == 2  # modules.json, tokenizer.json
    assert not incomplete_files(cache)


def test_model2vec_layout(hub: ModuleType, fake: FakeHub, cache: Path) -> None:
    snapshot = hub.snapshot_download(M2V, cache_dir=cache)
    served = fake.repos[M2V].commits[fake.commit_of(M2V)]
    assert snapshot.commit == fake.commit_of(M2V)
    assert_snapshot(snapshot, served, ["config.json", "tokenizer.json", "model.safetensors"])
    assert [r.status for r in fake.matching("HEAD", "modules.json")] == [404]
    assert fake.count(contains="README.md") == 0


def test_model2vec_with_modules_json_at_dot(hub: ModuleType, make_hub: MakeHub, cache: Path) -> None:
    """potion-style: modules.json with StaticEmbedding at path "." plus config.json."""
    files = m2v_files()
    files["modules.json"] = json.dumps(
        [{"idx": 0, "name": "0", "path": ".", "type": "sentence_transformers.models.StaticEmbedding"}]
    ).encode()
    make_hub({M2V: {"main": files}})
    snapshot = hub.snapshot_download(M2V, cache_dir=cache)
    assert_snapshot(snapshot, files, ["modules.json", "config.json", "tokenizer.json", "model.safetensors"])


def test_static_embedding_in_a_subfolder(hub: ModuleType, make_hub: MakeHub, cache: Path) -> None:
    files = st_files(folder="0_StaticEmbedding")
    files["modules.json"] = files["modules.json"].replace(
        b"sentence_transformers.models.StaticEmbedding",
        b"sentence_transformers.sentence_transformer.modules.static_embedding.StaticEmbedding",
    )
    make_hub({ST: {"main": files}})
    snapshot = hub.snapshot_download(ST, cache_dir=cache)
    assert_snapshot(
        snapshot, files, ["modules.json", "0_StaticEmbedding/tokenizer.json", "0_StaticEmbedding/model.safetensors"]
    )


def test_second_call_makes_no_request(hub: ModuleType, fake: FakeHub, cache: Path) -> None:
    first = hub.snapshot_download(ST, cache_dir=cache)
    assert fake.count() > 0
    fake.reset_requests()
    second = hub.snapshot_download(ST, cache_dir=cache)
    assert fake.count() == 0
    assert second == first


def test_cached_model_needs_no_requests_package(
    hub: ModuleType, fake: FakeHub, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub.snapshot_download(M2V, cache_dir=cache)
    monkeypatch.setitem(sys.modules, "requests", None)  # `import requests` now fails
    assert hub.snapshot_download(M2V, cache_dir=cache).commit == fake.commit_of(M2V)
    with pytest.raises(ImportError, match=r"pip install 'fastembed-static\[hub\]'"):
        hub.snapshot_download(ST, cache_dir=cache)


def test_force_refresh_picks_up_a_moved_branch(hub: ModuleType, fake: FakeHub, cache: Path) -> None:
    old = hub.snapshot_download(ST, cache_dir=cache)
    new_files = st_files(seed=7)
    new_commit = fake.set_revision(ST, "main", new_files)
    assert new_commit != old.commit
    fake.reset_requests()
    assert hub.snapshot_download(ST, cache_dir=cache).commit == old.commit  # the cached ref, no request
    assert fake.count() == 0
    fresh = hub.snapshot_download(ST, cache_dir=cache, force_refresh=True)
    assert fresh.commit == new_commit
    assert_snapshot(fresh, new_files, ["modules.json", "tokenizer.json", "model.safetensors"])
    assert (repo_dir(cache, ST) / "refs" / "main").read_text().strip() == new_commit
    assert old.source_dir.is_dir()  # the old commit stays usable
    fake.reset_requests()
    hub.snapshot_download(ST, cache_dir=cache, force_refresh=True)  # nothing new: one HEAD, no download
    assert [r.method for r in fake.requests] == ["HEAD"]


def test_pinned_commit(hub: ModuleType, fake: FakeHub, cache: Path) -> None:
    commit = fake.commit_of(ST)
    old_files = fake.repos[ST].commits[commit]
    fake.set_revision(ST, "main", st_files(seed=9))  # main moves on; the pinned commit must not
    snapshot = hub.snapshot_download(ST, revision=commit, cache_dir=cache)
    assert (snapshot.revision, snapshot.commit) == (commit, commit)
    assert_snapshot(snapshot, old_files, ["modules.json", "tokenizer.json", "model.safetensors"])
    assert all(f"/resolve/{commit}/" in r.path for r in fake.matching(contains="/resolve/"))
    assert not (repo_dir(cache, ST) / "refs").exists()  # a commit is not a ref
    fake.reset_requests()
    assert hub.snapshot_download(ST, revision=commit, cache_dir=cache) == snapshot
    assert fake.count() == 0


def test_incomplete_snapshot_downloads_only_what_is_missing(hub: ModuleType, fake: FakeHub, cache: Path) -> None:
    snapshot = hub.snapshot_download(ST, cache_dir=cache)
    (snapshot.source_dir / "model.safetensors").unlink()
    fake.reset_requests()
    again = hub.snapshot_download(ST, cache_dir=cache)
    assert again == snapshot
    assert fake.count("GET", "/lfs/") == 1
    assert fake.count("GET", "/resolve/") == 0  # modules.json and tokenizer.json were verified locally


def test_renamed_repository_follows_relative_redirect(hub: ModuleType, make_hub: MakeHub, cache: Path) -> None:
    files = m2v_files()
    fake = make_hub({M2V: {"main": files}}, renames={"acme/old-name": M2V})
    snapshot = hub.snapshot_download("acme/old-name", cache_dir=cache)
    assert snapshot.commit == fake.commit_of(M2V)
    assert_snapshot(snapshot, files, ["config.json", "tokenizer.json", "model.safetensors"])
    assert snapshot.source_dir.is_relative_to(repo_dir(cache, "acme/old-name"))


def test_weak_etags(hub: ModuleType, make_hub: MakeHub, cache: Path) -> None:
    files = m2v_files()
    fake = make_hub({M2V: {"main": files}}, weak_etags=True)
    assert hub.snapshot_download(M2V, cache_dir=cache).files["tokenizer.json"] == sha256(files["tokenizer.json"])
    assert fake.matching("GET", "tokenizer.json")[0].status == 200


# --------------------------------------------------------------------------------------------------- auth


def test_private_repo_with_token(
    hub: ModuleType, make_hub: MakeHub, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = st_files()
    fake = make_hub({ST: {"main": files}}, tokens={ST: "hf_secret"})
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    snapshot = hub.snapshot_download(ST, cache_dir=cache)
    assert_snapshot(snapshot, files, ["modules.json", "tokenizer.json", "model.safetensors"])
    resolve = fake.matching(contains="/resolve/")
    assert resolve and all(r.headers.get("Authorization") == "Bearer hf_secret" for r in resolve)
    lfs = fake.matching("GET", "/lfs/")
    assert len(lfs) == 1
    assert lfs[0].headers["Host"].startswith("localhost:")  # the redirect target: another host name...
    assert "Authorization" not in lfs[0].headers  # ...which must not see the token


def test_private_repo_without_token(hub: ModuleType, make_hub: MakeHub, cache: Path) -> None:
    fake = make_hub({ST: {"main": st_files()}}, tokens={ST: "hf_secret"})
    with pytest.raises(hub.AuthError) as info:
        hub.snapshot_download(ST, cache_dir=cache)
    message = str(info.value)
    assert ST in message and "'main'" in message and "modules.json" in message
    assert f"{fake.endpoint}/{ST}/resolve/main/modules.json" in message
    assert "HTTP 401" in message and "set HF_TOKEN" in message.replace("Set", "set")
    assert info.value.repo_id == ST and info.value.filename == "modules.json"
    assert not manifests(cache)


def test_private_repo_with_wrong_token(hub: ModuleType, make_hub: MakeHub, cache: Path) -> None:
    make_hub({ST: {"main": st_files()}}, tokens={ST: "hf_secret"})
    with pytest.raises(hub.AuthError, match="token .* was refused or has no access"):
        hub.snapshot_download(ST, cache_dir=cache, token="hf_wrong")


# --------------------------------------------------------------------------------------------------- not found


def test_repo_not_found(hub: ModuleType, fake: FakeHub, cache: Path) -> None:
    with pytest.raises(hub.RepoNotFoundError) as info:
        hub.snapshot_download("acme/nope", cache_dir=cache)
    message = str(info.value)
    assert "'acme/nope' not found" in message and f"{fake.endpoint}/acme/nope/resolve/main/modules.json" in message
    assert isinstance(info.value, hub.NotFoundError) and isinstance(info.value, hub.HubError)
    assert not (repo_dir(cache, "acme/nope") / "refs").exists()


def test_revision_not_found(hub: ModuleType, fake: FakeHub, cache: Path) -> None:
    with pytest.raises(hub.RevisionNotFoundError, match="revision 'v9' not found"):
        hub.snapshot_download(ST, revision="v9", cache_dir=cache)


def test_required_file_missing(hub: ModuleType, make_hub: MakeHub, cache: Path) -> None:
    files = m2v_files()
    del files["tokenizer.json"]
    make_hub({M2V: {"main": files}})
    with pytest.raises(hub.EntryNotFoundError) as info:
        hub.snapshot_download(M2V, cache_dir=cache)
    assert info.value.filename == "tokenizer.json"
    assert "tokenizer.json" in str(info.value) and "HTTP 404" in str(info.value)
    assert not manifests(cache) and not (repo_dir(cache, M2V) / "refs").exists()


def test_no_model_files_at_all(hub: ModuleType, make_hub: MakeHub, cache: Path) -> None:
    make_hub({M2V: {"main": {"README.md": b"empty"}}})
    with pytest.raises(hub.EntryNotFoundError, match="config.json"):
        hub.snapshot_download(M2V, cache_dir=cache)


# --------------------------------------------------------------------------------------------------- bad content


def test_invalid_modules_json(hub: ModuleType, make_hub: MakeHub, cache: Path) -> None:
    files = st_files()
    files["modules.json"] = b'[{"idx": 0, "type": '
    make_hub({ST: {"main": files}})
    with pytest.raises(hub.InvalidModelError) as info:
        hub.snapshot_download(ST, cache_dir=cache)
    assert "modules.json" in str(info.value) and "not valid JSON" in str(info.value)
    assert not list(cache.rglob("modules.json")) and not incomplete_files(cache)


def test_not_a_static_model(hub: ModuleType, make_hub: MakeHub, cache: Path) -> None:
    files = st_files()
    files["modules.json"] = json.dumps(
        [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"}]
    ).encode()
    fake = make_hub({ST: {"main": files}})
    with pytest.raises(hub.NotStaticModelError) as info:
        hub.snapshot_download(ST, cache_dir=cache)
    assert "not a static embedding model" in str(info.value) and "Transformer" in str(info.value)
    assert fake.count(contains="model.safetensors") == 0  # stopped before fetching weights
    assert not manifests(cache)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda data: struct.pack("<Q", len(data)) + data[8:], "header length"),  # longer than the file
        (lambda data: data[:-4000], "says the tensor data is 256000 bytes"),  # data shorter than the header says
    ],
    ids=["header-length", "data-offsets"],
)
def test_safetensors_header_that_lies(
    hub: ModuleType, make_hub: MakeHub, cache: Path, mutate: Callable[[bytes], bytes], expected: str
) -> None:
    files = m2v_files()
    files["model.safetensors"] = mutate(files["model.safetensors"])
    make_hub({M2V: {"main": files}})
    with pytest.raises(hub.InvalidModelError) as info:
        hub.snapshot_download(M2V, cache_dir=cache)
    assert "model.safetensors" in str(info.value) and expected in str(info.value)
    assert not list(cache.rglob("model.safetensors*")) and not manifests(cache)


# --------------------------------------------------------------------------------------------------- faults


def test_connection_closed_mid_file_is_resumed(hub: ModuleType, fake: FakeHub, cache: Path) -> None:
    fake.add_fault("close_after", "/lfs/", n=50_000, times=1)
    snapshot = hub.snapshot_download(M2V, cache_dir=cache)
    assert_snapshot(snapshot, m2v_files(), ["config.json", "tokenizer.json", "model.safetensors"])
    gets = fake.matching("GET", "/lfs/")
    assert [(r.headers.get("Range"), r.status) for r in gets] == [(None, 200), ("bytes=50000-", 206)]


def test_connection_keeps_closing(hub: ModuleType, fake: FakeHub, cache: Path) -> None:
    fault = fake.add_fault("close_after", "/lfs/", n=50_000, times=None)
    with pytest.raises(hub.HubConnectionError) as info:
        hub.snapshot_download(M2V, cache_dir=cache)
    message = str(info.value)
    assert "model.safetensors" in message and "connection broke" in message and "resume" in message
    assert "150000 of" in message  # three attempts, each resumed where the previous one stopped
    commit = fake.commit_of(M2V)
    source = repo_dir(cache, M2V) / commit / "source"
    assert not (source / "model.safetensors").exists() and not manifests(cache)
    assert (source / "model.safetensors.incomplete").stat().st_size == 150_000
    # Next run (the network is fine again): resumes from the kept bytes.
    fault.times = 0
    fake.reset_requests()
    snapshot = hub.snapshot_download(M2V, cache_dir=cache)
    assert_snapshot(snapshot, m2v_files(), ["config.json", "tokenizer.json", "model.safetensors"])
    assert [r.headers.get("Range") for r in fake.matching("GET", "/lfs/")] == ["bytes=150000-"]
    assert not incomplete_files(cache)


def test_resume_when_server_ignores_range(hub: ModuleType, fake: FakeHub, cache: Path) -> None:
    fake.add_fault("close_after", "/lfs/", n=50_000, times=1)
    fake.add_fault("ignore_range", "/lfs/", times=1)
    snapshot = hub.snapshot_download(M2V, cache_dir=cache)
    assert_snapshot(snapshot, m2v_files(), ["config.json", "tokenizer.json", "model.safetensors"])
    assert [(r.headers.get("Range"), r.status) for r in fake.matching("GET", "/lfs/")] == [
        (None, 200),
        ("bytes=50000-", 200),  # restarted from zero
    ]


def test_resumed_file_with_bad_checksum_restarts_once(hub: ModuleType, fake: FakeHub, cache: Path) -> None:
    source = repo_dir(cache, M2V) / fake.commit_of(M2V) / "source"
    source.mkdir(parents=True)
    (source / "model.safetensors.incomplete").write_bytes(b"\xff" * 1000)  # garbage from "an earlier run"
    snapshot = hub.snapshot_download(M2V, cache_dir=cache)
    assert_snapshot(snapshot, m2v_files(), ["config.json", "tokenizer.json", "model.safetensors"])
    assert [(r.headers.get("Range"), r.status) for r in fake.matching("GET", "/lfs/")] == [
        ("bytes=1000-", 206),
        (None, 200),
    ]


@pytest.mark.parametrize(
    ("repo", "match", "expected"),
    [
        (M2V, "/lfs/", "sha256"),  # LFS file: X-Linked-Etag is the sha256
        (M2V, "tokenizer.json", "git blob sha1"),  # regular file: ETag is the git blob sha1
        (ST, "modules.json", "git blob sha1"),
    ],
)
def test_wrong_checksum(hub: ModuleType, fake: FakeHub, cache: Path, repo: str, match: str, expected: str) -> None:
    fake.add_fault("corrupt", match, times=None)
    with pytest.raises(hub.IntegrityError) as info:
        hub.snapshot_download(repo, cache_dir=cache)
    assert "wrong checksum" in str(info.value) and expected in str(info.value)
    assert info.value.filename in str(info.value) and match.strip("/") in (info.value.url + info.value.filename)
    assert fake.count("GET", match) == 1  # a fresh download with a bad checksum is not retried
    assert not incomplete_files(cache) and not manifests(cache)
    assert not list(cache.rglob(info.value.filename.rsplit("/", 1)[-1]))


def test_wrong_checksum_with_weak_etag(hub: ModuleType, make_hub: MakeHub, cache: Path) -> None:
    fake = make_hub({M2V: {"main": m2v_files()}}, weak_etags=True)
    fake.add_fault("corrupt", "config.json", times=None)
    with pytest.raises(hub.IntegrityError, match="git blob sha1"):
        hub.snapshot_download(M2V, cache_dir=cache)


@pytest.mark.parametrize("match", ["model.safetensors", "tokenizer.json"])
def test_wrong_size(hub: ModuleType, fake: FakeHub, cache: Path, match: str) -> None:
    fake.add_fault("lie_size", match, method="HEAD", n=10, times=None)
    with pytest.raises(hub.IntegrityError) as info:
        hub.snapshot_download(M2V, cache_dir=cache)
    size = len(m2v_files()[match])
    assert "wrong size" in str(info.value) and f"announced {size + 10} bytes" in str(info.value)
    assert match in str(info.value)
    assert not incomplete_files(cache) and not list(cache.rglob(match)) and not manifests(cache)


def test_server_error(hub: ModuleType, fake: FakeHub, cache: Path) -> None:
    fake.add_fault("status", "tokenizer.json", method="HEAD", n=503, times=None)
    with pytest.raises(hub.HubError, match=r"tokenizer.json .*HTTP 503.*Try again later"):
        hub.snapshot_download(ST, cache_dir=cache)
    assert not manifests(cache)


def test_disk_full(hub: ModuleType, fake: FakeHub, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(f: Any, data: bytes) -> None:
        f.write(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    import fastembed_static.hub.download

    monkeypatch.setattr(fastembed_static.hub.download, "write_chunk", full)
    with pytest.raises(hub.CacheWriteError) as info:
        hub.snapshot_download(M2V, cache_dir=cache)
    assert "the disk is full" in str(info.value) and "config.json" in str(info.value)
    assert "FASTEMBED_STATIC_CACHE" in str(info.value)
    assert not incomplete_files(cache) and not manifests(cache)
    assert not [p for p in cache.rglob("*") if p.is_file() and p.name != ".lock"]
    monkeypatch.undo()
    monkeypatch.setenv("HF_ENDPOINT", fake.endpoint)
    assert hub.snapshot_download(M2V, cache_dir=cache).commit == fake.commit_of(M2V)


def test_connection_refused(hub: ModuleType, cache: Path) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    with pytest.raises(hub.HubConnectionError) as info:
        hub.snapshot_download(ST, cache_dir=cache, endpoint=endpoint)
    message = str(info.value)
    assert f"cannot connect to {endpoint}" in message and "Connection refused" in message
    assert ST in message and "HF_ENDPOINT" in message


def test_timeout(hub: ModuleType, cache: Path) -> None:
    with socket.socket() as silent:  # accepts connections (backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        endpoint = f"http://127.0.0.1:{silent.getsockname()[1]}"
        with pytest.raises(hub.HubConnectionError) as info:
            hub.snapshot_download(ST, cache_dir=cache, endpoint=endpoint, timeout=0.3)
    assert "no answer within 0.3 s" in str(info.value) and endpoint in str(info.value)


def test_default_endpoint_comes_from_hf_endpoint(hub: ModuleType, fake: FakeHub, cache: Path) -> None:
    snapshot = hub.snapshot_download(M2V, cache_dir=cache)  # no endpoint=: HF_ENDPOINT is the fake hub
    manifest = json.loads((snapshot.source_dir / ".fastembed-static-files.json").read_text())
    assert manifest["endpoint"] == fake.endpoint


# --------------------------------------------------------------------------------------------------- offline


def test_offline_without_cache(hub: ModuleType, fake: FakeHub, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(hub.OfflineError) as info:
        hub.snapshot_download(ST, cache_dir=cache, offline=True)
    message = str(info.value)
    assert ST in message and "'main'" in message and "offline=True" in message
    assert "tokenizer.json" in message and "network access" in message
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(hub.OfflineError, match="HF_HUB_OFFLINE=1"):
        hub.snapshot_download(ST, cache_dir=cache)
    assert fake.count() == 0


def test_offline_with_cache(hub: ModuleType, fake: FakeHub, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    online = hub.snapshot_download(ST, cache_dir=cache)
    fake.reset_requests()
    monkeypatch.setenv("HF_HUB_OFFLINE", "true")
    assert hub.snapshot_download(ST, cache_dir=cache) == online
    assert hub.snapshot_download(ST, cache_dir=cache, force_refresh=True) == online  # offline wins
    assert hub.snapshot_download(ST, revision=online.commit, cache_dir=cache).commit == online.commit
    assert fake.count() == 0
    (online.source_dir / "model.safetensors").unlink()
    with pytest.raises(hub.OfflineError, match="incomplete: missing model.safetensors"):
        hub.snapshot_download(ST, cache_dir=cache)
    assert fake.count() == 0
    # offline=False overrides HF_HUB_OFFLINE
    assert hub.snapshot_download(ST, cache_dir=cache, offline=False) == online


# --------------------------------------------------------------------------------------------------- processes


# Run by each of the two processes: wait for the "go" file, download, print what happened as one JSON line.
DOWNLOAD_WORKER = """
import json, sys, time
from pathlib import Path
from fastembed_static.hub import snapshot_download

endpoint, repo_id, cache_dir, ready, go = sys.argv[1:6]
Path(ready).touch()  # imported: the slow part on a slow board or an emulator is over
while not Path(go).exists():
    time.sleep(0.01)
start = time.time()
try:
    snapshot = snapshot_download(repo_id, cache_dir=Path(cache_dir), endpoint=endpoint)
    result = {"ok": True, "commit": snapshot.commit, "files": snapshot.files, "source_dir": str(snapshot.source_dir)}
except BaseException as e:
    result = {"ok": False, "error": f"{type(e).__name__}: {e}"}
print(json.dumps({"start": start, "end": time.time(), **result}))
"""


def test_two_processes_download_the_same_model(make_hub: MakeHub, tmp_path: Path) -> None:
    files = st_files()
    fake = make_hub({ST: {"main": files}})
    fake.add_fault("slow", "/lfs/", times=None, delay=0.25)  # ~1 s for the weights: the downloads overlap
    cache = tmp_path / "shared-cache"
    go = tmp_path / "go"
    ready = [tmp_path / f"ready-{n}" for n in range(2)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", DOWNLOAD_WORKER, fake.endpoint, ST, str(cache), str(r), str(go)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
        )
        for r in ready
    ]
    # Both have imported before either starts (imports can take seconds on a slow board; the download ~1 s).
    hang_guard = time.monotonic() + 900
    while not all(r.exists() for r in ready) and all(p.poll() is None for p in processes):
        assert time.monotonic() < hang_guard, "the download processes never got ready"
        time.sleep(0.01)
    go.touch()
    outcomes = []
    for p in processes:
        out, _ = p.communicate(timeout=900)  # a hang guard, not a speed assertion (boards 20x slower, emulators)
        outcomes.append(json.loads(out))
    assert all(o["ok"] for o in outcomes), outcomes
    a, b = outcomes
    assert a["commit"] == b["commit"] == fake.commit_of(ST)
    needed = ("modules.json", "tokenizer.json", "model.safetensors")
    assert a["files"] == b["files"] == {n: sha256(files[n]) for n in needed}
    assert a["start"] < b["end"] and b["start"] < a["end"]  # they really ran at the same time
    assert fake.count("GET", "/lfs/") == 1  # the second waited for the lock, then found the download complete
    source = Path(a["source_dir"])
    assert (source / "model.safetensors").read_bytes() == files["model.safetensors"]
    assert json.loads((source / ".fastembed-static-files.json").read_text())["commit"] == a["commit"]
    assert not incomplete_files(cache)


def test_git_blob_sha1_matches_git() -> None:
    """The fake hub's ETag is git's blob id (what the real hub sends for regular files)."""
    assert git_blob_sha1(b"hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"
    assert hashlib.sha256(b"").hexdigest() == sha256(b"")
