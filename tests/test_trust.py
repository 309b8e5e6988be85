"""Trust (issue 8): loading never runs code from a model folder; lying or half-written model files are refused with
a ModelFileError naming the file and the field; a hub id is never shadowed by a local folder; encode never returns
a row it did not compute; generation is locked and atomic, and a broken cache entry repairs itself."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import marshal
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from fastembed_static import ModelFileError, StaticModel
from fastembed_static.errors import HubError
from fastembed_static.gen import GenerationError, generate

from .helpers import CLI, MRL_TOKENIZER, gooaq_queries, make_st_model, random_table

ROWS, DIM = 30522, 8
HUB_ID = "sentence-transformers/static-retrieval-mrl-en-v1"


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small model with the real static-retrieval-mrl-en-v1 tokenizer."""
    return make_st_model(tmp_path_factory.mktemp("trust") / "src", MRL_TOKENIZER, random_table(ROWS, DIM))


@pytest.fixture(scope="module")
def generated(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(source, tmp_path_factory.mktemp("trust-gen") / "model")


@pytest.fixture
def copy(generated: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(generated, tmp_path / "copy"))


def texts() -> list[str]:
    return gooaq_queries()[:300]


def edit_meta(model: Path, change: object) -> None:
    meta = json.loads((model / "model.json").read_text(encoding="utf-8"))
    change(meta)  # type: ignore[operator]
    (model / "model.json").write_text(json.dumps(meta), encoding="utf-8")


def rehash(model: Path, name: str, key: str) -> None:
    """Update model.json's sha256 of a file, as someone who tampered with the file would."""
    digest = hashlib.sha256((model / name).read_bytes()).hexdigest()
    edit_meta(model, lambda m: m[key].__setitem__("sha256", digest))


# ----------------------------------------------------------------------------------------- no code is executed


def marker_code(marker: Path) -> str:
    return f"import pathlib; pathlib.Path({str(marker)!r}).write_text('ran')\n"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda text, code: text + code,  # a line appended
        lambda text, code: code + text,  # a line prepended
        lambda text, code: text.replace("TOKENS: Final = ", f"TOKENS: Final = __import__('os').system({code!r}) or "),
    ],
    ids=["appended", "prepended", "in-the-literal"],
)
def test_code_in_vocab_py_never_runs(copy: Path, tmp_path: Path, tamper: object) -> None:
    marker = tmp_path / "marker"
    vocab = copy / "vocab.py"
    vocab.write_text(tamper(vocab.read_text(encoding="utf-8"), marker_code(marker)), encoding="utf-8")  # type: ignore[operator]
    rehash(copy, "vocab.py", "vocab")  # the tamperer also fixes model.json's sha256
    with pytest.raises(
        ModelFileError, match=r"vocab.py: vocabulary module is corrupt \(it is read as data, never run\)"
    ):
        StaticModel.from_pretrained(copy)
    result = subprocess.run([CLI, "info", str(copy)], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert result.returncode == 2 and "never run" in result.stderr, result.stderr
    assert not marker.exists(), "code in vocab.py ran"


def test_planted_pycache_never_runs(copy: Path, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    vocab = copy / "vocab.py"
    code = compile(marker_code(marker) + vocab.read_text(encoding="utf-8"), str(vocab), "exec")
    stat = vocab.stat()
    header = importlib.util.MAGIC_NUMBER + (0).to_bytes(4, "little")
    header += (int(stat.st_mtime) & 0xFFFFFFFF).to_bytes(4, "little") + (stat.st_size & 0xFFFFFFFF).to_bytes(
        4, "little"
    )
    cache = copy / "__pycache__"
    cache.mkdir()
    (cache / f"vocab.{sys.implementation.cache_tag}.pyc").write_bytes(header + marshal.dumps(code))
    model = StaticModel.from_pretrained(copy)
    model.verify()
    assert model.encode("hello world").shape == (DIM,)
    assert not marker.exists(), "a planted __pycache__ file ran"


def test_loading_writes_nothing_into_the_model_folder(copy: Path, tmp_path: Path) -> None:
    before = sorted(p.name for p in copy.iterdir())
    assert "__pycache__" not in before
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # Python may write bytecode
    code = f"from fastembed_static import StaticModel; StaticModel.from_pretrained({str(copy)!r}).encode('x')"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in copy.iterdir()) == before  # no __pycache__


# ------------------------------------------------------------------------------------------- hub ids vs paths


def test_a_local_folder_never_shadows_a_hub_id(
    generated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copytree(generated, tmp_path / HUB_ID)
    shadowed = r"pass './sentence-transformers/static-retrieval-mrl-en-v1' or pathlib"
    with (
        pytest.warns(UserWarning, match="read as a Hugging Face hub id; the local folder"),
        pytest.raises(HubError, match=shadowed),
    ):
        StaticModel.from_pretrained(HUB_ID, offline=True, cache_dir=tmp_path / "cache")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert StaticModel.from_pretrained(f"./{HUB_ID}").path == Path(f"./{HUB_ID}")
        assert StaticModel.from_pretrained(Path(HUB_ID)).dim == DIM
        assert StaticModel.from_pretrained(str(tmp_path / HUB_ID)).dim == DIM


# ------------------------------------------------------------------------------------ model.json is validated


def _set(path: str, value: object) -> object:
    def change(meta: dict[str, object]) -> None:
        *parents, last = path.split(".")
        target: object = meta
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]  # type: ignore[index]
        target[int(last) if isinstance(target, list) else last] = value  # type: ignore[index]

    return change


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda m: m.update(dim=DIM // 2, vocab_size=ROWS * 2), "field vocab_size is 61044, but the table rows"),
        (_set("tokenizer.unk_id", 10**9), "field tokenizer.unk_id must be in 0..30521, found 1000000000"),
        (_set("tokenizer.added_tokens.0.id", ROWS), "field tokenizer.added_tokens[0].id must be in 0..30521"),
        (_set("special_token_ids.[CLS]", ROWS + 5), "field special_token_ids.[CLS] must be in 0..30521"),
        (_set("tokenizer.unk_id", 101), "field tokenizer.unk_token: '[UNK]' is not token 101"),
        (_set("vocab_size", -5), "field vocab_size must be >= 1, found -5"),
        (_set("dim", "8"), "field dim must be int, found '8'"),
        (_set("dim", True), "field dim must be int, found True"),
        (_set("weights.bytes", -1), "field weights.bytes must be >= 0"),
        (_set("dtype", "float64"), "field dtype must be one of float32, float16, int8, found 'float64'"),
        (_set("normalize", "yes"), "field normalize must be bool"),
        (_set("weights.file", "../../etc/passwd"), "field weights.file must be a plain file name"),
        (_set("vocab.module", "__pycache__"), "field vocab.module must be a plain file name"),
        (_set("vocab.tokens", ROWS + 1), "field vocab.tokens must be in 1..30522"),
        (_set("tokenizer.truncation", {"max_length": 5, "direction": "up"}), "truncation.direction"),
        (lambda m: m["tokenizer"].pop("unk_id"), "field tokenizer.unk_id is missing"),
        (lambda m: m.pop("weights"), "field weights is missing"),
        (_set("weights.sha256", "x" * 64), "field weights.sha256 must be 64 lowercase hex digits"),
    ],
)
def test_lying_model_json_is_refused(copy: Path, change: object, fragment: str) -> None:
    edit_meta(copy, change)
    with pytest.raises(ModelFileError) as info:
        StaticModel.from_pretrained(copy)
    assert str(info.value).startswith(f"{copy / 'model.json'}: "), str(info.value)
    assert fragment in str(info.value), str(info.value)


def test_deeply_nested_model_json_is_refused(copy: Path) -> None:
    (copy / "model.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with pytest.raises(ModelFileError, match="model.json: unreadable or corrupt"):
        StaticModel.from_pretrained(copy)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
@pytest.mark.parametrize("name", ["weights.f32.bin", "vocab.py", "model.json"])
def test_a_fifo_is_refused_not_waited_on(copy: Path, name: str) -> None:
    (copy / name).unlink()
    os.mkfifo(copy / name)
    outcome: list[BaseException | None] = []

    def load() -> None:
        try:
            StaticModel.from_pretrained(copy)
            outcome.append(None)
        except BaseException as e:  # noqa: BLE001 - the outcome is checked below
            outcome.append(e)

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    thread.join(30)
    if thread.is_alive():  # unblock the loader so the test process can end, then fail
        fd = os.open(copy / name, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        pytest.fail(f"loading waited on a FIFO {name}")
    if name == "model.json":  # then the folder is not a generated model at all: refused as a model directory
        assert isinstance(outcome[0], GenerationError) and "not a static embedding model" in str(outcome[0])
    else:
        assert isinstance(outcome[0], ModelFileError) and "is not a regular file" in str(outcome[0]), outcome


def test_verify_checks_the_table_is_finite(copy: Path) -> None:
    table = np.fromfile(copy / "weights.f32.bin", dtype="<f4")
    table[5 * DIM + 3] = np.nan
    table.tofile(copy / "weights.f32.bin")
    rehash(copy, "weights.f32.bin", "weights")
    model = StaticModel.from_pretrained(copy)
    with pytest.raises(ModelFileError, match="weights.f32.bin: row 5 has a value that is not finite"):
        model.verify()


# -------------------------------------------------------------------------- encode computes every row it returns


class ShrinkingList(list):  # type: ignore[type-arg]
    """A list that loses all but 10 items the first time it is sliced, as if another thread cleared it."""

    def __getitem__(self, index):  # type: ignore[no-untyped-def]
        if isinstance(index, slice) and len(self) > 10:
            del self[10:]
        return super().__getitem__(index)


def test_a_list_that_shrinks_during_encode(generated: Path) -> None:
    model = StaticModel.from_pretrained(generated)
    data = (texts() * 17)[:5000]
    expected = model.encode(list(data), batch_size=100)
    got = model.encode(ShrinkingList(data), batch_size=100)
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


def test_a_list_cleared_by_another_thread_during_encode(generated: Path) -> None:
    model = StaticModel.from_pretrained(generated)
    data = (texts() * 17)[:5000]
    expected = model.encode(list(data), batch_size=10)
    for _ in range(5):
        shared = list(data)
        result: list[np.ndarray] = []
        worker = threading.Thread(target=lambda s=shared, r=result: r.append(model.encode(s, batch_size=10)))
        worker.start()
        shared.clear()
        worker.join()
        # whatever the list held when encode copied it, every returned row is that text's vector
        np.testing.assert_array_equal(result[0], expected[: len(result[0])])


# ------------------------------------------------------------------------------- parameters and small findings


def test_parameter_validation(generated: Path) -> None:
    model = StaticModel.from_pretrained(generated)
    with pytest.raises(TypeError, match="normalize must be True, False or None, not 'no'"):
        model.encode(["a"], normalize="no")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="normalize must be True, False or None"):
        model.encode("a", normalize=1)  # type: ignore[arg-type]
    np.testing.assert_array_equal(model.encode(["a b"], dim=np.int64(4)), model.encode(["a b"], dim=4))  # type: ignore[arg-type]
    np.testing.assert_array_equal(
        model.encode(["a b"], normalize=np.bool_(True)), model.encode(["a b"], normalize=True)
    )  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="batch_size must be an int >= 1, not None"):
        model.encode(["a"], batch_size=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="dim must be an int or None, got 4.0"):
        model.encode(["a"], dim=4.0)  # type: ignore[arg-type]


def test_lone_surrogate_unk_token_is_refused_by_the_generator(tmp_path: Path) -> None:
    data = json.loads(MRL_TOKENIZER.read_text(encoding="utf-8"))
    vocab = data["model"]["vocab"]
    vocab["\ud800"] = vocab.pop("[UNK]")
    data["model"]["unk_token"] = "\ud800"
    data["added_tokens"] = [t for t in data["added_tokens"] if t["content"] != "[UNK]"]
    tokenizer = tmp_path / "tokenizer.json"
    tokenizer.write_text(json.dumps(data), encoding="utf-8")  # ensure_ascii: written as the escape \ud800
    model_dir = make_st_model(tmp_path / "m", tokenizer, random_table(ROWS, DIM))
    with pytest.raises(GenerationError, match=r"tokenizer.json: token '\\ud800' holds a lone surrogate"):
        generate(model_dir, tmp_path / "out")


def test_modules_json_leading_out_of_the_model_folder(source: Path, tmp_path: Path) -> None:
    root = tmp_path / "m"
    root.mkdir()
    (root / "sub").symlink_to(source, target_is_directory=True)
    modules = [{"idx": 0, "name": "0", "path": "sub", "type": "sentence_transformers.models.StaticEmbedding"}]
    (root / "modules.json").write_text(json.dumps(modules), encoding="utf-8")
    with pytest.raises(GenerationError, match="modules.json: the StaticEmbedding module's folder .* leads outside"):
        StaticModel.from_pretrained(root, cache_dir=tmp_path / "cache")
    modules[0]["path"] = str(source)  # absolute
    (root / "modules.json").write_text(json.dumps(modules), encoding="utf-8")
    with pytest.raises(GenerationError, match="modules.json: the StaticEmbedding module's path .* is not a subfolder"):
        StaticModel.from_pretrained(root, cache_dir=tmp_path / "cache")


def test_file_size_limit_names_the_file(source: Path, tmp_path: Path) -> None:
    code = (
        "import resource, sys\n"
        "from fastembed_static.gen import generate, GenerationError\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))\n"
        f"try: generate({str(source)!r}, {str(tmp_path / 'out')!r})\n"
        "except GenerationError as e: print(e); sys.exit(3)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert result.returncode == 3, result.stderr
    # named where it goes in the user's folder, not in the generator's staging folder beside it
    assert result.stdout == f"{tmp_path / 'out' / 'weights.f32.bin'}: cannot write: File too large\n"
    assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")] == [], "no staging folder is left"


def test_workers_with_sigchld_ignored(generated: Path, tmp_path: Path) -> None:
    code = (
        "import signal, sys, numpy as np\n"
        "from fastembed_static import StaticModel\n"
        f"m = StaticModel.from_pretrained({str(generated)!r})\n"
        f"texts = open({str(Path(__file__).parent / 'data' / 'gooaq-10k.txt')!r}, encoding='utf-8').read().splitlines()\n"
        "one = m.encode(texts)\n"
        "signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # workers are threads now: nothing to reap\n"
        "two = m.encode(texts, workers=2)\n"
        "np.testing.assert_array_equal(one, two)\n"
        "print('same')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 0 and "same" in result.stdout, result.stderr


# ---------------------------------------------------------------------------- generation: locked and atomic

_REGENERATE = """
import sys
from pathlib import Path
from fastembed_static.gen import generate
a, b, out, n = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4])
for i in range(n):
    generate(a if i % 2 else b, out)
print("done")
"""


@pytest.fixture(scope="module")
def second_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_st_model(tmp_path_factory.mktemp("trust2") / "src", MRL_TOKENIZER, random_table(ROWS, DIM, seed=7))


def test_loading_while_another_process_regenerates(source: Path, second_source: Path, tmp_path: Path) -> None:
    out = generate(source, tmp_path / "out")
    answers = {
        json.loads((d / "model.json").read_text(encoding="utf-8"))["weights"]["sha256"]: StaticModel.from_pretrained(
            d
        ).encode(texts())
        for d in (generate(source, tmp_path / "a"), generate(second_source, tmp_path / "b"))
    }
    writer = subprocess.Popen(
        [sys.executable, "-c", _REGENERATE, str(source), str(second_source), str(out), "25"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    loads = 0
    while writer.poll() is None:
        model = StaticModel.from_pretrained(out)  # must never fail
        np.testing.assert_array_equal(model.encode(texts()), answers[model.metadata["weights"]["sha256"]])
        loads += 1
    stdout, stderr = writer.communicate()
    assert writer.returncode == 0 and "done" in stdout, stderr
    assert loads > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "out"], "no staging folder or lock file is left"
    assert sorted(p.name for p in out.iterdir()) == ["model.json", "vocab.py", "weights.f32.bin"]


def test_regenerations_a_b_a_while_loading_give_a_consistent_model(
    source: Path, second_source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race the soak test once caught (CI, 2026-11-27): a loader reads model.json (version A), another process
    regenerates B and then A again while the loader opens the weights, so the loader maps B's weights under a
    model.json whose bytes are A's again. Replayed here deterministically: the loader must notice and read again."""
    from fastembed_static import _model_files

    out = generate(source, tmp_path / "out")
    answer_a = StaticModel.from_pretrained(generate(source, tmp_path / "a")).encode(texts())
    map_weights = _model_files._map_weights
    calls = 0

    def regenerating_map_weights(*args: object) -> object:
        nonlocal calls
        calls += 1
        if calls == 1:
            generate(second_source, out)  # the weights file is now B's ...
            mapped = map_weights(*args)  # type: ignore[arg-type]
            generate(source, out)  # ... and model.json is A's again, byte for byte
            return mapped
        return map_weights(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(_model_files, "_map_weights", regenerating_map_weights)
    model = StaticModel.from_pretrained(out)
    assert calls == 2, "the first attempt was accepted"
    np.testing.assert_array_equal(model.encode(texts()), answer_a)


def test_concurrent_generation_into_one_output(source: Path, second_source: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", _REGENERATE, str(source), str(second_source), str(out), "8"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
        )
        for _ in range(3)
    ]
    for writer in writers:
        stdout, stderr = writer.communicate(timeout=600)
        assert writer.returncode == 0 and "done" in stdout, stderr
    StaticModel.from_pretrained(out).verify()


_FROM_PRETRAINED = """
import sys
from fastembed_static import StaticModel
from pathlib import Path
StaticModel.from_pretrained(Path(sys.argv[1]), cache_dir=sys.argv[2]).verify()
print("ok")
"""


def test_concurrent_first_use_of_a_cache_entry(source: Path, tmp_path: Path) -> None:
    for round_ in range(3):
        cache = tmp_path / f"cache{round_}"
        processes = [
            subprocess.Popen(
                [sys.executable, "-c", _FROM_PRETRAINED, str(source), str(cache)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                cwd=tmp_path,
            )
            for _ in range(3)
        ]
        for process in processes:
            stdout, stderr = process.communicate(timeout=600)
            assert process.returncode == 0 and "ok" in stdout, stderr
            assert "regenerating" not in stderr


def test_another_process_finishing_first_counts_as_success(source: Path, tmp_path: Path) -> None:
    from fastembed_static.gen.locking import file_lock, generation_lock_path

    entry = StaticModel.from_pretrained(source, cache_dir=tmp_path / "probe").path  # learn the cache entry's name
    out = tmp_path / "cache" / "local" / entry.name
    with file_lock(generation_lock_path(out)):  # as if another process were generating it
        process = subprocess.Popen(
            [sys.executable, "-c", _FROM_PRETRAINED, str(source), str(tmp_path / "cache")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
        )
        time.sleep(5)
        assert not out.exists(), "the process generated while another one held the lock"
        from fastembed_static.gen.generator import _generate
        from fastembed_static.gen.source import find_source

        _generate(find_source(source), out, None, "float32", {})  # the lock is held here already
        mine = (out / "model.json").stat().st_ino
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0 and "ok" in stdout, stderr
    assert (out / "model.json").stat().st_ino == mine, "the waiting process regenerated what was already there"


def test_a_killed_generator_leaves_nothing_behind(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    killed = (
        "import os, signal, sys\n"
        "import fastembed_static.gen.generator as g\n"
        "g._install = lambda staging, out: os.kill(os.getpid(), signal.SIGKILL)\n"
        f"g.generate({str(source)!r}, {str(out)!r})\n"
    )
    result = subprocess.run([sys.executable, "-c", killed], capture_output=True, cwd=tmp_path, timeout=300)
    assert result.returncode == -signal.SIGKILL
    staging = [p for p in tmp_path.iterdir() if ".staging-" in p.name]
    assert staging and (staging[0] / "weights.f32.bin").exists(), "the killed generator left its staging folder"
    generate(source, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # its lock file too: removed on release


def test_a_truncated_cache_entry_is_regenerated_once(source: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    model = StaticModel.from_pretrained(source, cache_dir=cache)
    expected = model.encode(texts())
    weights = model.path / "weights.f32.bin"
    del model
    with open(weights, "r+b") as f:
        f.truncate(1000)
    with pytest.warns(UserWarning, match=r"weights.f32.bin: weights file has 1000 bytes.*regenerating it"):
        repaired = StaticModel.from_pretrained(source, cache_dir=cache)
    np.testing.assert_array_equal(repaired.encode(texts()), expected)
    repaired.verify()


def test_an_explicit_generated_folder_is_not_repaired(copy: Path) -> None:
    """Only cache entries are regenerated: a folder the user points at is reported, never rewritten."""
    with open(copy / "weights.f32.bin", "r+b") as f:
        f.truncate(1000)
    with pytest.raises(ModelFileError, match="weights.f32.bin: weights file has 1000 bytes"):
        StaticModel.from_pretrained(copy)
