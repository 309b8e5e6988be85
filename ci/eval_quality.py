"""The project's quality evaluation: STS-B dev Spearman and retrieval NDCG@10 of a model, at several dims.

python ci/eval_quality.py [--model M] [--dims 256,128,64] [--retrieval PATH ...] [--max-queries N] [--json FILE]

--model: anything StaticModel.from_pretrained accepts (a model folder, a hub id in the cache); default: the bundled
model. Every dim k is evaluated as encode(dim=k, normalize=True): unit vectors of the first k values (README, "API").

STS-B: ci/stsb.py's Spearman of cosine similarities with the gold scores (tests/data/stsb-dev.jsonl, 1,500 pairs).

Retrieval: each BEIR-format dataset (corpus.jsonl, queries.jsonl, qrels/test.tsv) in the folders or .tar.xz archives
given; by default tests/data/scifact.tar.xz (BEIR's SciFact test set, whole: 5,183 abstracts, 300 claims) and
tests/data/beir-sample.tar.xz (samples of BEIR's DBpedia-Entity and MS MARCO / TREC DL 2019 test sets, graded qrels;
see tests/data/PROVENANCE.md). Documents are embedded as BEIR embeds them, title + " " + text; every document is
ranked by cosine similarity to the query (nothing excluded). NDCG@10 as BEIR computes it with pytrec_eval
(trec_eval's ndcg_cut): gain = the graded qrel score, discount log2(rank + 1), ideal DCG from the query's qrels,
equal scores ordered by document id descending (trec_eval's tie order), averaged over the queries that have qrels.
--max-queries N keeps each dataset's first N such queries (in queries.jsonl order; every document stays).
"""

from __future__ import annotations

import argparse
import io
import json
import tarfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# ci/ is a folder of scripts, not a package: run as a script, this file's folder is first on sys.path
from stsb import DEFAULT_DATA as STSB_DATA
from stsb import stsb_spearman

from fastembed_static import StaticModel

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
DEFAULT_RETRIEVAL = (DATA / "scifact.tar.xz", DATA / "beir-sample.tar.xz")
DEFAULT_DIMS = (256, 128, 64)

Qrels = dict[str, dict[str, int]]


@dataclass
class RetrievalSet:
    """One BEIR-format dataset: documents (ids and title + " " + text), queries with qrels, graded qrels."""

    name: str
    doc_ids: list[str]
    doc_texts: list[str]
    query_ids: list[str]
    query_texts: list[str]
    qrels: Qrels


def parse_beir(name: str, corpus: str, queries: str, qrels_tsv: str) -> RetrievalSet:
    """A dataset from the text of its three files. Queries without qrels are dropped (pytrec_eval does not score
    them); the qrels file may start with BEIR's header line ``query-id corpus-id score``."""
    doc_ids: list[str] = []
    doc_texts: list[str] = []
    for line in corpus.split("\n"):  # not splitlines(): texts hold U+2028 and friends
        if line.strip():
            doc = json.loads(line)
            doc_ids.append(str(doc["_id"]))
            doc_texts.append(f"{doc.get('title') or ''} {doc.get('text') or ''}".strip())
    if len(set(doc_ids)) != len(doc_ids):
        raise ValueError(f"{name}: corpus.jsonl has repeated _id values")
    qrels: Qrels = {}
    for number, line in enumerate(qrels_tsv.split("\n"), 1):
        fields = line.split("\t")
        if not line.strip() or (number == 1 and fields[0] == "query-id"):
            continue
        if len(fields) != 3:
            raise ValueError(f"{name}: qrels line {number} is not query-id<TAB>corpus-id<TAB>score: {line!r}")
        qrels.setdefault(fields[0], {})[fields[1]] = int(fields[2])
    known = set(doc_ids)
    missing = sorted({d for judged in qrels.values() for d in judged} - known)
    if missing:
        raise ValueError(f"{name}: {len(missing)} judged documents are not in the corpus, e.g. {missing[0]!r}")
    query_ids: list[str] = []
    query_texts: list[str] = []
    for line in queries.split("\n"):
        if line.strip():
            query = json.loads(line)
            if str(query["_id"]) in qrels:
                query_ids.append(str(query["_id"]))
                query_texts.append(str(query["text"]))
    if not query_ids:
        raise ValueError(f"{name}: no query has qrels")
    return RetrievalSet(name, doc_ids, doc_texts, query_ids, query_texts, qrels)


def load_retrieval(path: Path) -> list[RetrievalSet]:
    """Every dataset in ``path``: a BEIR folder, a folder of BEIR folders, or a .tar.xz of either."""
    files: dict[str, str] = {}
    if path.is_dir():
        for p in path.rglob("*"):
            if p.is_file():
                files[p.relative_to(path).as_posix()] = p.read_text(encoding="utf-8")
    else:
        with tarfile.open(path) as archive:
            for member in archive.getmembers():
                extracted = archive.extractfile(member) if member.isfile() else None
                if extracted is not None:
                    files[member.name] = io.TextIOWrapper(extracted, encoding="utf-8").read()
    roots = sorted(name[: -len("corpus.jsonl")] for name in files if name.rpartition("/")[2] == "corpus.jsonl")
    if not roots:
        raise ValueError(f"{path}: no corpus.jsonl in it")
    sets = []
    for root in roots:
        name = root.rstrip("/").rpartition("/")[2] or path.name
        for needed in ("queries.jsonl", "qrels/test.tsv"):
            if root + needed not in files:
                raise ValueError(f"{path}: {root}corpus.jsonl has no {needed} beside it")
        sets.append(
            parse_beir(
                name, files[root + "corpus.jsonl"], files[root + "queries.jsonl"], files[root + "qrels/test.tsv"]
            )
        )
    return sets


def ndcg_at_k(
    scores: np.ndarray, doc_ids: Sequence[str], query_ids: Sequence[str], qrels: Qrels, k: int = 10
) -> np.ndarray:
    """NDCG@k of each query (row of ``scores``, one column per document), as trec_eval's ndcg_cut.k: the top k
    documents by score (equal scores: larger document id first, as trec_eval orders them), gain = qrel score
    (0 if unjudged), DCG = sum of gain / log2(rank + 1), divided by the DCG of the query's qrels sorted by score."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.shape != (len(query_ids), len(doc_ids)):
        raise ValueError(f"scores has shape {scores.shape}, expected {(len(query_ids), len(doc_ids))}")
    k = min(k, len(doc_ids))
    # the rank of each document id in descending string order breaks ties as trec_eval does
    by_id = np.argsort(np.array(doc_ids, dtype=object), kind="stable")[::-1]
    tie_rank = np.empty(len(doc_ids), dtype=np.int64)
    tie_rank[by_id] = np.arange(len(doc_ids))
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    result = np.zeros(len(query_ids))
    for row, query in enumerate(query_ids):
        judged = qrels.get(query, {})
        ideal_gains = np.sort(np.array([g for g in judged.values() if g > 0], dtype=np.float64))[::-1][:k]
        ideal = float(ideal_gains @ discount[: len(ideal_gains)])
        if ideal == 0.0:
            continue
        row_scores = scores[row]
        threshold = np.partition(row_scores, len(row_scores) - k)[len(row_scores) - k]
        candidates = np.flatnonzero(row_scores >= threshold)
        order = candidates[np.lexsort((tie_rank[candidates], -row_scores[candidates]))][:k]
        gains = np.array([max(judged.get(doc_ids[i], 0), 0) for i in order], dtype=np.float64)
        result[row] = float(gains @ discount[: len(gains)]) / ideal
    return result


def cosine_scores(model: StaticModel, data: RetrievalSet, dim: int) -> np.ndarray:
    """Cosine similarity of every query with every document: dot products of encode(dim=dim, normalize=True)."""
    queries = model.encode(data.query_texts, dim=dim, normalize=True)
    docs = model.encode(data.doc_texts, dim=dim, normalize=True)
    return np.asarray(queries @ docs.T)


def evaluate(
    model: StaticModel,
    dims: Sequence[int],
    retrieval: Sequence[RetrievalSet],
    stsb: Path = STSB_DATA,
) -> dict[str, object]:
    """{"model", "dims": {k: {"stsb_spearman", "ndcg@10": {dataset: value}}}, "datasets": {name: sizes}, "seconds"}."""
    start = time.perf_counter()
    results: dict[str, dict[str, object]] = {}
    for dim in dims:
        ndcg = {
            data.name: float(
                ndcg_at_k(cosine_scores(model, data, dim), data.doc_ids, data.query_ids, data.qrels).mean()
            )
            for data in retrieval
        }
        results[str(dim)] = {"stsb_spearman": stsb_spearman(model, stsb, dim), "ndcg@10": ndcg}
    return {
        "model": str(model.path),
        "dims": results,
        "datasets": {d.name: {"documents": len(d.doc_ids), "queries": len(d.query_ids)} for d in retrieval},
        "seconds": round(time.perf_counter() - start, 3),
    }


def markdown(report: Mapping[str, object], retrieval: Sequence[RetrievalSet]) -> str:
    names = [d.name for d in retrieval]
    header = ["dims", "STS-B dev Spearman", *(f"{name} NDCG@10" for name in names)]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    dims = report["dims"]
    assert isinstance(dims, dict)
    for dim, row in dims.items():
        values = [f"{row['stsb_spearman']:.4f}", *(f"{row['ndcg@10'][name]:.4f}" for name in names)]
        lines.append(f"| {dim} | " + " | ".join(values) + " |")
    return "\n".join(lines)


def parse_dims(text: str) -> list[int]:
    try:
        dims = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--dims takes comma-separated integers, got {text!r}") from None
    if not dims or min(dims) < 1:
        raise argparse.ArgumentTypeError(f"--dims must be positive, got {text!r}")
    return dims


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="model folder or hub id (default: the bundled model)")
    parser.add_argument("--dims", type=parse_dims, default=list(DEFAULT_DIMS), help="default 256,128,64")
    parser.add_argument(
        "--retrieval", type=Path, nargs="+", default=list(DEFAULT_RETRIEVAL), help="BEIR folders, .tar.xz"
    )
    parser.add_argument("--stsb", type=Path, default=STSB_DATA)
    parser.add_argument("--max-queries", type=int, help="only each dataset's first N queries with qrels")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    model = StaticModel.default() if args.model is None else StaticModel.from_pretrained(args.model)
    too_wide = [d for d in args.dims if d > model.dim]
    if too_wide:
        parser.error(f"--dims {too_wide} exceed the model's {model.dim} dims")
    retrieval = [data for path in args.retrieval for data in load_retrieval(path)]
    if args.max_queries is not None:
        if args.max_queries < 1:
            parser.error("--max-queries must be at least 1")
        for data in retrieval:
            data.query_ids = data.query_ids[: args.max_queries]
            data.query_texts = data.query_texts[: args.max_queries]
    report = evaluate(model, args.dims, retrieval, args.stsb)
    sizes = ", ".join(f"{d.name}: {len(d.query_ids)} queries x {len(d.doc_ids)} documents" for d in retrieval)
    print(f"{model.path} ({sizes}; {report['seconds']} s)\n")
    print(markdown(report, retrieval))
    if args.json is not None:
        temporary = args.json.with_name(args.json.name + ".tmp")
        temporary.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        temporary.replace(args.json)


if __name__ == "__main__":
    main()
