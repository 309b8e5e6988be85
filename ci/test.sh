#!/usr/bin/env bash
# The test command: make a venv (default .venv), install the package (mypyc-compiled) and the reference
# libraries it is compared against, then run mypy --strict, ruff (lint + format check) and the test suite
# against the installed package. Needs nothing beside the repository: the test data is in tests/data.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3}"

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
. "$VENV/bin/activate"
python -m pip install --quiet --upgrade pip
# The CPU build of torch, before sentence-transformers/model2vec could pull a multi-GB CUDA build.
python -m pip install --quiet torch==2.13.0
# FASTEMBED_STATIC_MYPYC=1: a failed compilation fails the build instead of falling back to pure Python.
# parquet: the CLI's Parquet input and output (tests/test_stream.py).
# ray, spark: the Ray Data and Spark integrations are tested on real local clusters (Spark needs java, see .ci/run).
# frameworks: the LangChain, LlamaIndex, Chroma and Haystack adapters are tested in those frameworks' own stores.
FASTEMBED_STATIC_MYPYC=1 python -m pip install --quiet ".[test,parquet,ray,spark,frameworks]"

python -m mypy
ruff check . && ruff format --check .
# `pytest`, not `python -m pytest`: the latter would put this source tree (uncompiled, no generated default
# model) ahead of the installed package on sys.path.
FASTEMBED_STATIC_EXPECT_COMPILED=1 pytest -q -p no:cacheprovider "$@"
