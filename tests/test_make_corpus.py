"""gen/make_corpus.py's pieces: sentence splitting, the prose filter, reStructuredText prose, and the filter that keeps
every evaluation text (STS-B dev, the BEIR sets in tests/data) out of the training corpus."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import tarfile
from types import ModuleType

import pytest

from .helpers import DATA, REPO, stsb_pairs


@pytest.fixture(scope="module")
def recipe() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_corpus", REPO / "gen" / "make_corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_corpus"] = module
    spec.loader.exec_module(module)
    return module


def test_sentences_and_the_prose_filter(recipe: ModuleType) -> None:
    text = 'One two three.  Four\nfive six! Seven? eight nine. "Ten," he said.'
    assert recipe.sentences(text) == ["One two three.", "Four five six!", "Seven? eight nine.", '"Ten," he said.']
    assert recipe.keep("The cat sat on the mat.")
    assert not recipe.keep("Too short.")
    assert not recipe.keep("x = f(a[0]) + 1; y = {k: v for k, v in d}")  # under 60% letters
    assert not recipe.keep("Ein schöner Tag für alle Menschen, öffentlich übertragen")  # under 95% ASCII


def test_rst_prose_only(recipe: ModuleType) -> None:
    rst = """Title
=====

Use :func:`len` or ``len(x)`` to count, as :ref:`the tutorial <tut>` says::

    print(len(x))

    more code

.. note:: a directive

Back to prose with `a link`_.
"""
    assert list(recipe.rst_paragraphs(rst)) == [
        "Use len or len(x) to count, as the tutorial says",
        "Back to prose with a link.",
    ]


@pytest.fixture(scope="module")
def evaluation(recipe: ModuleType) -> object:
    return recipe.EvaluationFilter(recipe.evaluation_texts())


def test_evaluation_texts_are_kept_out(evaluation: object) -> None:
    assert callable(evaluation)
    sts = str(stsb_pairs()[123]["sentence1"])
    assert evaluation(sts) and evaluation(sts.upper() + "!!")  # the same letters and digits
    with tarfile.open(DATA / "scifact.tar.xz") as archive:
        member = archive.extractfile("scifact/corpus.jsonl")
        assert member is not None
        doc = json.loads(member.readline())
    words = re.findall("[a-z0-9]+", doc["text"].lower())  # words as the recipe counts them: runs of letters, digits
    assert evaluation("We read that " + " ".join(words[20:33]) + " and more.")  # 13 words in a row
    assert not evaluation("We read that " + " ".join(words[20:32]) + " and more.")  # 12 only
    assert evaluation(doc["title"])
    assert not evaluation("It is a truth universally acknowledged, that a single man must be in want of a wife.")
