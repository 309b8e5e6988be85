#!/usr/bin/env bash
# The lowest numpy that pyproject declares (numpy>=1.24): build against it (compiled, and the pure-Python fallback)
# and run the tests that need no torch (sentence-transformers' dependencies need numpy >= 1.26.4, so the
# comparisons with the reference libraries run in ci/test.sh with the newest numpy).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
NUMPY="${NUMPY:-1.24.4}"  # the lowest 1.24 release with wheels for CPython 3.11 (Debian bookworm has 1.24.2)
VENV="$(realpath -m "${VENV_LOWEST:-.venv-numpy-lowest}")"  # absolute: used after cd /tmp
rm -rf "$VENV" build
"$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install --quiet "numpy==$NUMPY" "setuptools>=77" "mypy[mypyc]==2.4.1" requests pytest \
  tokenizers==0.23.3 safetensors
# The fallback build first (pure Python), then the compiled one that the tests use; both against this numpy.
FASTEMBED_STATIC_MYPYC=0 "$VENV/bin/pip" install --quiet --no-build-isolation --no-deps .
(cd /tmp && "$VENV/bin/python" -c "import fastembed_static as f; assert not f.COMPILED; print(f.StaticModel.default().encode('x')[:3])")
rm -rf build
FASTEMBED_STATIC_MYPYC=1 "$VENV/bin/pip" install --quiet --no-build-isolation --no-deps --force-reinstall .
rm -rf build
(cd /tmp && "$VENV/bin/python" -c "import fastembed_static as f, numpy; assert f.COMPILED; print('numpy', numpy.__version__)")
"$VENV/bin/mypy" --version >/dev/null
# mypy --strict against this numpy's stubs too (the build's mypyc pass only checks the compiled module).
"$VENV/bin/pip" install --quiet types-requests
"$VENV/bin/mypy"
FASTEMBED_STATIC_EXPECT_COMPILED=1 "$VENV/bin/pytest" -q -p no:cacheprovider tests/test_api.py tests/test_cli.py \
  tests/test_generator_errors.py tests/test_data.py tests/test_build.py tests/test_hub.py tests/test_tokenizer_parity.py tests/test_narrow.py \
  -k "not every_code_point_alone and not (stress_sets and 16) and not mbert and not added_tokens_past" "$@"
