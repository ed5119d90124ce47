#!/usr/bin/env bash
# Create (or update) the project's virtual environment at <repo>/.venv with the pinned OpenMMLab
# stack, mmcv's compiled ops and vidplugins itself. Safe and fast to re-run: every step is skipped
# when its result is already there, and mmcv is rebuilt only when torch changed.
#
#   bash tools/setup_env.sh            # CPU machine (ops compiled for CPU)
#   FORCE_CUDA=1 bash tools/setup_env.sh   # GPU machine with nvcc: ops compiled for CUDA too
#
# Environment: PYTHON (interpreter for the venv, default python3), VIDPLUGINS_VENV (default .venv),
# MAX_JOBS (parallel compile jobs for mmcv, default 2), VIDPLUGINS_TORCH_INDEX (a package index to
# take torch and torchvision from, same pinned versions; default PyPI, whose torch is a ~5 GB CUDA
# build that also runs on CPU). A CPU-only machine that reaches PyTorch's CPU wheels saves the
# CUDA libraries with
#
#   VIDPLUGINS_TORCH_INDEX=https://download.pytorch.org/whl/cpu bash tools/setup_env.sh
#
# System packages it needs (checked first by tools/check_system.sh): Python 3.9-3.11 with the venv
# module and its headers, and a C++20 compiler (Debian: python3-venv python3-dev g++).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${VIDPLUGINS_VENV:-$ROOT/.venv}
PYTHON=${PYTHON:-python3}
REQ=$ROOT/requirements
CONSTRAINTS=$REQ/constraints.txt
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/vidplugins
export MAX_JOBS=${MAX_JOBS:-2}
export PIP_DISABLE_PIP_VERSION_CHECK=1

log() { printf '[setup_env] %s\n' "$*"; }

PYTHON=$PYTHON bash "$ROOT/tools/check_system.sh"

if [ ! -x "$VENV/bin/python" ]; then
  log "creating virtual environment at $VENV"
  "$PYTHON" -m venv "$VENV"
fi
PY=$VENV/bin/python
PIP=("$PY" -m pip install --quiet -c "$CONSTRAINTS")

# A stamp of everything that decides the environment's contents: unchanged stamp + passing import
# check = nothing to do.
stamp_now=$( (cat "$REQ"/*.txt "$ROOT/setup.py" "$ROOT/tools/setup_env.sh"
               echo "torch index: ${VIDPLUGINS_TORCH_INDEX:-pypi}") | sha256sum | cut -c1-16)
stamp_file=$VENV/.vidplugins-stamp
check_imports() {
  "$PY" - <<'PYEOF' >/dev/null 2>&1
import vidplugins, mmaction.models, mmdet.models, mmpretrain.models, mmagic.models, faiss
from mmcv.ops import RoIAlign
PYEOF
}
if [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$stamp_now" ] && check_imports; then
  log "environment up to date ($VENV)"
  exit 0
fi

log "build tools"
"${PIP[@]}" --upgrade pip
"${PIP[@]}" -r "$REQ/build.txt"

if [ -n "${VIDPLUGINS_TORCH_INDEX:-}" ]; then
  # Only the index changes: the versions stay those of constraints.txt (a local build tag such
  # as 2.15.0+cpu satisfies ==2.15.0).
  log "torch + torchvision from $VIDPLUGINS_TORCH_INDEX"
  "${PIP[@]}" --index-url "$VIDPLUGINS_TORCH_INDEX" torch torchvision
else
  log "torch + torchvision"
  "${PIP[@]}" torch torchvision
fi

# mmcv 2.1.0 has no wheel for this torch: compile it once per (torch version, CUDA or not) and keep
# the wheel in a cache outside the repository, so a fresh clone on the same machine reuses it.
torch_tag=$("$PY" -c 'import torch; print(torch.__version__)')
mmcv_ver=$(sed -n 's/^mmcv==//p' "$CONSTRAINTS")
flavour=cpu; [ "${FORCE_CUDA:-0}" = "1" ] && flavour=cuda
wheel_dir=$CACHE/wheels/mmcv-$mmcv_ver-torch-$torch_tag-$flavour
installed_for=$(cat "$VENV/.mmcv-built-for" 2>/dev/null || true)
if [ "$installed_for" != "$mmcv_ver-$torch_tag-$flavour" ] || ! "$PY" -c 'from mmcv.ops import RoIAlign' >/dev/null 2>&1; then
  if ! ls "$wheel_dir"/mmcv-*.whl >/dev/null 2>&1; then
    log "compiling mmcv $mmcv_ver ops for torch $torch_tag ($flavour, MAX_JOBS=$MAX_JOBS; under 10 min on 2 cores)"
    src=$(mktemp -d)
    "$PY" -m pip download --quiet --no-deps --no-binary mmcv --no-build-isolation \
      "mmcv==$mmcv_ver" -d "$src"
    tar xzf "$src/mmcv-$mmcv_ver.tar.gz" -C "$src"
    # torch >= 2.15's headers require C++20 but mmcv 2.1.0's setup.py hard-codes -std=c++17
    # (and c++14 for nvcc): raise the standard when the installed torch asks for it.
    if grep -q 'C++20 or later' "$("$PY" -c 'import torch, os; print(os.path.dirname(torch.__file__))')/include/ATen/ATen.h"; then
      sed -i "s/'-std=c++1[47]'/'-std=c++20'/g" "$src/mmcv-$mmcv_ver/setup.py"
    fi
    rm -rf "$wheel_dir.tmp" && mkdir -p "$wheel_dir.tmp"
    # Python's own CFLAGS carry -g: debug info for ~80 torch-heavy C++ files nearly doubles the
    # compile time (14.6 s -> 8.1 s for roi_align.cpp here) and is never used: -g0 comes last.
    (cd "$src/mmcv-$mmcv_ver" && CFLAGS="${CFLAGS:-} -g0" "$PY" -m pip wheel \
      --no-build-isolation --no-deps --no-cache-dir . -w "$wheel_dir.tmp")
    rm -rf "$src"
    rm -rf "$wheel_dir" && mv "$wheel_dir.tmp" "$wheel_dir"   # atomic: a half build is never reused
  fi
  log "installing mmcv from $wheel_dir"
  "${PIP[@]}" --force-reinstall --no-deps "$wheel_dir"/mmcv-*.whl
  "${PIP[@]}" "$wheel_dir"/mmcv-*.whl   # its own requirements (addict, yapf, ...)
  echo "$mmcv_ver-$torch_tag-$flavour" >"$VENV/.mmcv-built-for"
fi

log "OpenMMLab packages, runtime and test requirements"
"${PIP[@]}" -r "$REQ/openmmlab.txt" -r "$REQ/runtime.txt" -r "$REQ/tests.txt"
"${PIP[@]}" --no-deps -r "$REQ/nodeps.txt"

log "vidplugins (editable)"
"${PIP[@]}" --no-deps --no-build-isolation -e "$ROOT"

log "checking imports"
"$PY" - <<'PYEOF'
import vidplugins, mmaction.models, mmdet.models, mmpretrain.models, mmagic.models, faiss
from mmcv.ops import RoIAlign
import torch, mmcv, mmengine, mmaction, mmdet, mmpretrain, mmagic, numpy
print('[setup_env] ok: torch %s, mmcv %s (ops), mmengine %s, mmaction2 %s, mmdet %s, mmpretrain %s, '
      'mmagic %s, faiss %s, numpy %s' % (torch.__version__, mmcv.__version__, mmengine.__version__,
      mmaction.__version__, mmdet.__version__, mmpretrain.__version__, mmagic.__version__,
      faiss.__version__, numpy.__version__))
PYEOF
echo "$stamp_now" >"$stamp_file"
