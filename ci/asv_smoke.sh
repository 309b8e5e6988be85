#!/usr/bin/env bash
# asv smoke run: every benchmark once (--quick) against the installed package, nothing recorded (--dry-run).
# Fails if any benchmark raises (asv exits 2) or cannot be discovered; timings are not judged. Skipped benchmarks
# (a feature the package does not have, e.g. encode(threads=) before it exists) are listed, not failed.
# PYTHON: the Python that has the package installed (ci/test.sh's venv), e.g.
#   PYTHON=.venv/bin/python bash ci/asv_smoke.sh [asv run options, e.g. --bench Import]
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python}"
PYTHON="$(cd "$(dirname "$(command -v "$PYTHON")")" && pwd)/$(basename "$PYTHON")"  # absolute, before the cd
cd asv_bench
"$PYTHON" -c "import asv" 2>/dev/null || "$PYTHON" -m pip install --quiet asv==0.6.6
# The bench model cache stays where the benchmarks normally keep it; asv's machine file goes to a scratch HOME
# (this must not overwrite a developer's ~/.asv-machine.json).
export FASTEMBED_STATIC_BENCH_CACHE="${FASTEMBED_STATIC_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fastembed-static/asv}"
SCRATCH="$(mktemp -d)"
trap 'rm -rf "$SCRATCH"' EXIT
HOME="$SCRATCH" "$PYTHON" -m asv machine --yes --machine asv-smoke >/dev/null
set +e
HOME="$SCRATCH" "$PYTHON" -m asv run --quick --dry-run --show-stderr --machine asv-smoke \
    -E "existing:$PYTHON" "$@" 2>&1 | tee "$SCRATCH/log"
status=${PIPESTATUS[0]}
set -e
failed=$(grep -cE "(^| )failed( |$)" "$SCRATCH/log" || true)
echo "asv smoke: exit $status; lines reporting a failure: $failed; skipped (feature absent in this package):"
grep -o "asv: skipped: .*" "$SCRATCH/log" | sort | uniq -c || echo "  none"
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ]; then
    echo "asv smoke: FAILED (a benchmark raised or could not be discovered)" >&2
    exit 1
fi
echo "asv smoke: OK"
