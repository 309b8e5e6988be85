"""ci/eval_quality.py: its NDCG@10 against hand-computed cases and trec_eval (pytrec_eval), and a run of the script on
the bundled model."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from fastembed_static import StaticModel

from .helpers import REPO

SCRIPT = REPO / "ci" / "eval_quality.py"


@pytest.fixture(scope="module")
def quality() -> ModuleType:
    sys.path.insert(0, str(SCRIPT.parent))  # the script's `from stsb import ...`, as when it runs as a script
    try:
        spec = importlib.util.spec_from_file_location("eval_quality", SCRIPT)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["eval_quality"] = module  # its dataclass looks itself up there
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(SCRIPT.parent))
    return module


def test_ndcg_hand_computed(quality: ModuleType) -> None:
    docs = ["a", "b", "c", "d"]
    qrels = {"q": {"a": 2, "b": 1, "c": 0}}
    scores = np.array([[0.1, 0.9, 0.5, 0.3]])  # ranking b, c, d, a: gains 1, 0, 0, 2; ideal gains 2, 1
    expected = (1 / math.log2(2) + 2 / math.log2(5)) / (2 / math.log2(2) + 1 / math.log2(3))
    assert quality.ndcg_at_k(scores, docs, ["q"], qrels)[0] == pytest.approx(expected, abs=1e-12)
    assert expected == pytest.approx(0.70749, abs=1e-5)  # the same, by hand: 1.86135 / 2.63093
    # k=2: b, c -> DCG 1; the ideal DCG is still of the two best judged documents
    assert quality.ndcg_at_k(scores, docs, ["q"], qrels, k=2)[0] == pytest.approx(1 / (2 + 1 / math.log2(3)))
    # a perfect ranking; a query whose qrels are all 0 scores 0 (as trec_eval)
    perfect = np.array([[0.9, 0.5, 0.1, 0.0]])
    assert quality.ndcg_at_k(perfect, docs, ["q"], qrels)[0] == pytest.approx(1.0)
    assert quality.ndcg_at_k(scores, docs, ["z"], {"z": {"a": 0}})[0] == 0.0


def test_ndcg_ties_follow_trec_eval(quality: ModuleType) -> None:
    # equal scores: trec_eval ranks the larger document id first ("b" before "a"), also at the cut-off
    qrels = {"q": {"a": 1}}
    assert quality.ndcg_at_k(np.array([[0.5, 0.5]]), ["a", "b"], ["q"], qrels, k=1)[0] == 0.0
    assert quality.ndcg_at_k(np.array([[0.5, 0.5, 0.7]]), ["b", "a", "c"], ["q"], qrels, k=2)[0] == 0.0
    assert quality.ndcg_at_k(np.array([[0.5, 0.5]]), ["a", "b"], ["q"], qrels, k=2)[0] == pytest.approx(
        1 / math.log2(3)
    )


def test_ndcg_equals_trec_eval_on_the_shipped_sets(quality: ModuleType) -> None:
    """The real reference: pytrec_eval (trec_eval's ndcg_cut.10, what BEIR reports) on every query of the sets,
    scored by the bundled model, plus a block of tied scores."""
    import pytrec_eval

    model = StaticModel.default()
    sets = [data for path in quality.DEFAULT_RETRIEVAL for data in quality.load_retrieval(path)]
    sizes = [(s.name, len(s.doc_ids), len(s.query_ids), sum(map(len, s.qrels.values()))) for s in sets]
    assert sizes == [("scifact", 5183, 300, 339), ("dbpedia", 5000, 40, 3709), ("msmarco", 5000, 43, 4102)]
    for data in sets:
        scores = quality.cosine_scores(model, data, 64)
        scores[:, ::7] = np.round(scores[:, ::7], 1)  # many ties, some of them in the top 10
        ours = quality.ndcg_at_k(scores, data.doc_ids, data.query_ids, data.qrels)
        # each query's documents scoring at least its 100th best: all that its top 10 and their ties can come from
        floor = -np.partition(-scores, 99, axis=1)[:, 99:100]
        run = {
            q: {data.doc_ids[j]: float(scores[i, j]) for j in np.flatnonzero(scores[i] >= floor[i])}
            for i, q in enumerate(data.query_ids)
        }
        reference = pytrec_eval.RelevanceEvaluator(data.qrels, {"ndcg_cut.10"}).evaluate(run)
        assert ours == pytest.approx([reference[q]["ndcg_cut_10"] for q in data.query_ids], abs=1e-12)


def test_parse_beir_rejects_judged_documents_missing_from_the_corpus(quality: ModuleType) -> None:
    corpus = '{"_id": "d1", "title": "T", "text": "x"}\n'
    with pytest.raises(ValueError, match="not in the corpus"):
        quality.parse_beir("s", corpus, '{"_id": "q", "text": "y"}\n', "query-id\tcorpus-id\tscore\nq\td2\t1\n")
    with pytest.raises(ValueError, match="no query has qrels"):
        quality.parse_beir("s", corpus, '{"_id": "q", "text": "y"}\n', "other\td1\t1\n")
    parsed = quality.parse_beir("s", corpus, '{"_id": "q", "text": "y"}\n{"_id": "r", "text": "z"}\n', "q\td1\t2\n")
    assert (parsed.doc_texts, parsed.query_ids, parsed.qrels) == (["T x"], ["q"], {"q": {"d1": 2}})


def test_the_script_on_the_bundled_model(tmp_path: Path) -> None:
    out = tmp_path / "q.json"
    args = [sys.executable, str(SCRIPT), "--dims", "128,64", "--max-queries", "10", "--json", str(out)]
    run = subprocess.run(args, capture_output=True, text=True, timeout=120, check=True)
    table = [line for line in run.stdout.splitlines() if line.startswith("|")]
    assert table[0] == "| dims | STS-B dev Spearman | scifact NDCG@10 | dbpedia NDCG@10 | msmarco NDCG@10 |"
    assert [line.split(" | ")[0] for line in table[2:]] == ["| 128", "| 64"]
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["datasets"] == {
        "scifact": {"documents": 5183, "queries": 10},
        "dbpedia": {"documents": 5000, "queries": 10},
        "msmarco": {"documents": 5000, "queries": 10},
    }
    # STS-B runs on all 1,500 pairs whatever --max-queries says: README's numbers for these dims
    assert [round(report["dims"][d]["stsb_spearman"], 4) for d in ("128", "64")] == [0.8150, 0.7989]
    for row in report["dims"].values():
        assert all(0.2 < value <= 1.0 for value in row["ndcg@10"].values())
    assert not (tmp_path / "q.json.tmp").exists()


def test_the_script_refuses_dims_wider_than_the_model() -> None:
    run = subprocess.run([sys.executable, str(SCRIPT), "--dims", "512"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "exceed the model's 256 dims" in run.stderr
