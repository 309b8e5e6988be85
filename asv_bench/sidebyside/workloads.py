"""The bench model and the texts: the asv suite's (``benchmarks/common.py``), or a model directory of the user's."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from benchmarks import common


@dataclass
class Workload:
    name: str
    texts: list[str]
    ids: list[list[int]]  # fastembed-static's token ids (identical to HF tokenizers'; checked)
    description: str

    @property
    def tokens(self) -> int:
        return sum(len(i) for i in self.ids)


@dataclass
class BenchModel:
    generated: Path  # the fastembed-static model
    tokenizer_json: Path | None  # None: the source's tokenizer.json could not be found (peers are skipped)
    st_dir: Path | None
    m2v_dir: Path | None
    workdir: Path
    description: str
    shared_with_asv: bool  # the asv suite's model: variants come from common.model_path
    notes: list[str] = field(default_factory=list)

    def table(self) -> Any:
        """The generated float32 table, mapped read-only (None for another dtype)."""
        meta = json.loads((self.generated / "model.json").read_text(encoding="utf-8"))
        if meta.get("dtype", "float32") != "float32":
            return None
        mapped = np.memmap(self.generated / meta["weights"]["file"], dtype="<f4", mode="r")
        return mapped.reshape(int(meta["vocab_size"]), int(meta["dim"]))

    def variant(self, dims: int | None, dtype: str = "float32") -> Path:
        """A generated model with only the first ``dims`` columns and/or another storage ``dtype``."""
        if self.shared_with_asv:
            return Path(common.model_path(dims=dims, dtype=dtype))
        source = self.st_dir or self.m2v_dir
        if source is None:
            raise RuntimeError("no source directory to generate from")
        from fastembed_static.gen import generate

        out = self.workdir / f"generated-{common.package_fingerprint()}-d{dims or 'all'}-{dtype}"
        with common.locked():
            if not (out / "model.json").is_file():
                options: dict[str, Any] = {"dims": dims}
                if dtype != "float32":
                    if not common.generator_accepts("dtype"):
                        raise NotImplementedError(f"the generator has no dtype= argument (wanted {dtype})")
                    options["dtype"] = dtype
                generate(source, out, **options)
        return out


def asv_model() -> BenchModel:
    """The asv suite's bench model (built once into $FASTEMBED_STATIC_BENCH_CACHE)."""
    st_dir = Path(common.source_dir("st"))
    return BenchModel(
        generated=Path(common.model_path()),
        tokenizer_json=Path(common.tokenizer_json()),
        st_dir=st_dir,
        m2v_dir=Path(common.source_dir("model2vec")),
        workdir=st_dir.parent,
        description=f"real static-retrieval-mrl-en-v1 tokenizer + random {common.SHAPE[0]}x{common.SHAPE[1]} float32"
        f" table (seed {common.SEED})",
        shared_with_asv=True,
    )


def model_from_dir(path: Path, workdir: Path) -> BenchModel:
    """``--model``: a generated model directory, or a raw sentence-transformers/model2vec one (generated here).
    The peers get the same table and tokenizer written in their layouts."""
    from fastembed_static import StaticModel

    generated = StaticModel.from_pretrained(path, cache_dir=workdir / "generated-cache").path
    meta = json.loads((generated / "model.json").read_text(encoding="utf-8"))
    notes: list[str] = []
    tokenizer_json: Path | None = None
    try:
        from fastembed_static.gen.source import find_source

        # A model directory in a source layout is its own source; a generated one may record where it came from
        # (older generators wrote an absolute "path"; newer ones do not, and then the peers are skipped).
        origin = Path(path) if not (Path(path) / "model.json").is_file() else Path(meta["source"]["path"])
        tokenizer_json = find_source(origin).tokenizer
    except Exception as e:  # the source moved, or is not recorded: the peers cannot be set up
        notes.append(f"cannot find the source tokenizer.json of {generated} ({type(e).__name__}: {e})")
    bench = BenchModel(generated, tokenizer_json, None, None, workdir, f"{path} ({meta.get('dim')} dims)", False, notes)
    table = bench.table()
    if tokenizer_json is None or table is None:
        if table is None:
            notes.append(f"the table is {meta.get('dtype')}, not float32: the peers are skipped")
        return bench
    root = workdir / f"peers-{str(meta['weights']['sha256'])[:12]}"
    with common.locked():
        if not (root / "layouts.json").is_file():
            common.write_st_layout(root / "st", tokenizer_json, table)
            common.write_model2vec_layout(root / "model2vec", tokenizer_json, table)
            (root / "layouts.json").write_text(json.dumps({"model": str(generated)}), encoding="utf-8")
    bench.st_dir, bench.m2v_dir = root / "st", root / "model2vec"
    return bench


@dataclass
class Sizes:
    short: int
    paragraphs: int
    long: int
    broad: int
    latency: int
    small: int  # texts for the 32-text calls
    agreement: tuple[int, int, int, int]  # short, paragraphs, long, broad texts
    cold_runs: int
    first_rounds: int


FULL = Sizes(
    short=10_000,
    paragraphs=10_000,
    long=2_000,
    broad=2_000,
    latency=1_000,
    small=2_048,
    agreement=(500, 200, 20, 20),
    cold_runs=10,
    first_rounds=5,
)
QUICK = Sizes(
    short=300,
    paragraphs=200,
    long=30,
    broad=30,
    latency=50,
    small=128,
    agreement=(100, 50, 5, 5),
    cold_runs=2,
    first_rounds=2,
)


def make_workloads(fe: Any, sizes: Sizes) -> list[Workload]:
    """The asv suite's texts ("paragraph" is called "paragraphs" here), tokenized by fastembed-static."""

    def tokenized(name: str, kind: str, n: int) -> Workload:
        texts = common.texts(kind, n)
        return Workload(name, texts, [fe.tokenize(t) for t in texts], common.KIND_DESCRIPTIONS[kind])

    return [
        tokenized("short", "short", sizes.short),
        tokenized("paragraphs", "paragraph", sizes.paragraphs),
        tokenized("long", "long", sizes.long),
        tokenized("broad", "broad", sizes.broad),
    ]
