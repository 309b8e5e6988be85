"""Re-cutting a generated model (``generate(GENERATED_DIR, out, dims=, dtype=)``, ``fastembed-static gen
GENERATED_DIR --out DIR``): the result must be the very files the generator writes from the source model with the
same options, and the folder is treated as data (sha256 checked, nothing run)."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from fastembed_static import StaticModel
from fastembed_static.gen import GenerationError, generate

from .helpers import CLI, MRL_TOKENIZER, make_st_model, random_table, write_safetensors

ROWS, DIM = 30522, 24


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    table = random_table(ROWS, DIM, seed=11) * np.float32(3.0)
    return make_st_model(tmp_path_factory.mktemp("recut") / "src", MRL_TOKENIZER, table, normalize=True)


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize(
    ("stored", "dims", "dtype"),
    [
        ("float32", 8, "float32"),
        ("float32", 1, "float32"),
        ("float32", None, "float16"),
        ("float32", 13, "float16"),
        ("float32", 13, "int8"),
        ("float16", 5, "float16"),
        ("int8", 7, "int8"),
    ],
)
def test_a_recut_equals_generating_from_the_source(
    source: Path, tmp_path: Path, stored: str, dims: int | None, dtype: str
) -> None:
    generated = generate(source, tmp_path / "generated", dtype=stored)
    recut = generate(generated, tmp_path / "recut", dims=dims, dtype=dtype)
    direct = generate(source, tmp_path / "direct", dims=dims, dtype=dtype)
    assert files(recut) == files(direct)  # model.json, vocab.py, weights (and int8 scales), byte for byte
    meta = json.loads((recut / "model.json").read_text(encoding="utf-8"))
    assert (meta["dim"], meta["dtype"]) == (dims or DIM, dtype)
    texts = ["what is a static embedding", "Hello, world!"]
    np.testing.assert_array_equal(
        StaticModel.from_pretrained(recut).encode(texts), StaticModel.from_pretrained(direct).encode(texts)
    )


def test_a_float32_recut_is_the_source_table_cut(source: Path, tmp_path: Path) -> None:
    """Checked against the table itself, not only against the generator."""
    recut = generate(generate(source, tmp_path / "generated"), tmp_path / "recut", dims=6)
    table = random_table(ROWS, DIM, seed=11) * np.float32(3.0)
    assert (recut / "weights.f32.bin").read_bytes() == np.ascontiguousarray(table[:, :6]).astype("<f4").tobytes()
    assert json.loads((recut / "model.json").read_text(encoding="utf-8"))["normalize"] is True


@pytest.mark.parametrize(
    ("stored", "dtype"), [("float16", "float32"), ("int8", "float32"), ("int8", "float16"), ("float16", "int8")]
)
def test_widening_is_refused(source: Path, tmp_path: Path, stored: str, dtype: str) -> None:
    generated = generate(source, tmp_path / "generated", dtype=stored)
    with pytest.raises(GenerationError, match=f"a {stored} model cannot be re-cut to {dtype}: .*from the source model"):
        generate(generated, tmp_path / "recut", dtype=dtype)
    assert not (tmp_path / "recut").exists()


def test_dims_out_of_range_and_in_place_are_refused(source: Path, tmp_path: Path) -> None:
    generated = generate(source, tmp_path / "generated")
    with pytest.raises(GenerationError, match=f"dims={DIM + 1} is outside 1..{DIM}"):
        generate(generated, tmp_path / "recut", dims=DIM + 1)
    with pytest.raises(GenerationError, match="is the generated model being re-cut"):
        generate(generated, generated, dims=4)
    assert json.loads((generated / "model.json").read_text(encoding="utf-8"))["dim"] == DIM


def test_altered_files_are_refused_before_use(source: Path, tmp_path: Path) -> None:
    generated = generate(source, tmp_path / "generated")
    weights = generated / "weights.f32.bin"
    data = bytearray(weights.read_bytes())
    data[100] ^= 1
    weights.write_bytes(bytes(data))
    with pytest.raises(GenerationError, match=r"weights\.f32\.bin: sha256 is [0-9a-f]{64}, model.json says"):
        generate(generated, tmp_path / "recut", dims=4)
    assert not (tmp_path / "recut").exists()


def test_the_vocabulary_is_read_as_data_never_run(source: Path, tmp_path: Path) -> None:
    """A vocab.py with code in it, and model.json's sha256 updated to match: refused, and the code never ran."""
    generated = generate(source, tmp_path / "generated")
    marker = tmp_path / "ran"
    vocab = generated / "vocab.py"
    text = vocab.read_text(encoding="utf-8") + f"open({str(marker)!r}, 'w').close()\n"
    vocab.write_text(text, encoding="utf-8")
    meta_path = generated / "model.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["vocab"]["sha256"] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(GenerationError, match="not a generated vocabulary module .*line .* is not part of"):
        generate(generated, tmp_path / "recut", dims=4)
    assert not marker.exists() and not (tmp_path / "recut").exists()


def test_a_non_finite_table_is_refused(tmp_path: Path) -> None:
    """As from a source model: a table with NaN (model.json's sha256 consistent with it) is not re-cut."""
    good = make_st_model(tmp_path / "src", MRL_TOKENIZER, random_table(ROWS, 4))
    generated = generate(good, tmp_path / "generated")
    weights = generated / "weights.f32.bin"
    table = np.frombuffer(weights.read_bytes(), dtype="<f4").copy()
    table[17] = np.nan
    weights.write_bytes(table.tobytes())
    meta = json.loads((generated / "model.json").read_text(encoding="utf-8"))
    meta["weights"]["sha256"] = hashlib.sha256(table.tobytes()).hexdigest()
    (generated / "model.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(GenerationError, match="holds NaN or infinite values"):
        generate(generated, tmp_path / "recut", dims=2)


def test_a_recut_of_a_model2vec_model(tmp_path: Path) -> None:
    """model2vec's vocabulary-quantized layout (embeddings[mapping] * weights): its generated float32 table re-cut
    equals generating the cut from the model2vec folder."""
    root = tmp_path / "m2v"
    root.mkdir()
    (root / "config.json").write_text(json.dumps({"normalize": False}), encoding="utf-8")
    (root / "tokenizer.json").write_bytes(MRL_TOKENIZER.read_bytes())
    rng = np.random.default_rng(5)
    write_safetensors(
        root / "model.safetensors",
        {
            "embeddings": rng.standard_normal((500, 12), dtype=np.float32),
            "mapping": rng.integers(0, 500, ROWS).astype(np.int64),
            "weights": rng.random(ROWS, dtype=np.float32),
        },
    )
    recut = generate(generate(root, tmp_path / "generated"), tmp_path / "recut", dims=5, dtype="int8")
    assert files(recut) == files(generate(root, tmp_path / "direct", dims=5, dtype="int8"))


def test_cli_recuts_a_generated_model(source: Path, tmp_path: Path) -> None:
    generated = generate(source, tmp_path / "generated")
    out = tmp_path / "small"
    result = subprocess.run(
        [CLI, "gen", str(generated), "--out", str(out), "--dims", "8", "--dtype", "int8"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert f"generated {out}: {ROWS} tokens x 8 dims" in result.stdout
    assert files(out) == files(generate(source, tmp_path / "direct", dims=8, dtype="int8"))
    refused = subprocess.run(
        [CLI, "gen", str(generated), "--out", str(tmp_path / "wide"), "--dtype", "float16"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert refused.returncode == 0, refused.stderr  # float32 -> float16 is a narrowing: allowed
    widened = subprocess.run(
        [CLI, "gen", str(tmp_path / "wide"), "--out", str(tmp_path / "back"), "--dtype", "float32"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert widened.returncode == 2
    assert "a float16 model cannot be re-cut to float32" in widened.stderr
