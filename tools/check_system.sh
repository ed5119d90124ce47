#!/usr/bin/env bash
# Check the system packages that tools/setup_env.sh needs before it downloads anything, and say
# which Debian/Ubuntu packages provide what is missing. tools/setup_env.sh runs it first.
#
#   bash tools/check_system.sh            # exit 0: all present; exit 1: a list of what is missing
#
# Environment: PYTHON (the interpreter the venv is made from, default python3), CXX (the C++
# compiler mmcv's ops are compiled with, default c++), VIDPLUGINS_SKIP_SYSTEM_CHECK=1 skips it.
set -uo pipefail

[ "${VIDPLUGINS_SKIP_SYSTEM_CHECK:-0}" = "1" ] && exit 0

PYTHON=${PYTHON:-python3}
CXX_BIN=${CXX:-c++}
missing=()

if ! command -v "$PYTHON" >/dev/null 2>&1; then
  missing+=("Python 3.9-3.11 interpreter '$PYTHON' (Debian: python3; or set PYTHON=/path/to/python3.11)")
else
  if ! "$PYTHON" -c 'import sys; sys.exit(0 if (3, 9) <= sys.version_info[:2] <= (3, 11) else 1)'; then
    missing+=("Python 3.9-3.11 ('$PYTHON' is $("$PYTHON" -c 'import platform; print(platform.python_version())'); the pinned OpenMMLab stack has no wheels for it: set PYTHON=/path/to/python3.11)")
  fi
  # venv + ensurepip: Debian splits them out of the interpreter package.
  if ! "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    missing+=("the venv module with ensurepip (Debian: python3-venv)")
  fi
  # Python.h: mmcv's ops are a C++ extension of this interpreter.
  inc=$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_paths()["include"])' 2>/dev/null)
  if [ ! -f "$inc/Python.h" ]; then
    missing+=("the Python headers ($inc/Python.h; Debian: python3-dev)")
  fi
fi

if ! command -v "$CXX_BIN" >/dev/null 2>&1; then
  missing+=("a C++ compiler '$CXX_BIN' with C++20 support, to compile mmcv's ops (Debian: g++, 10 or newer)")
fi

if [ ${#missing[@]} -gt 0 ]; then
  {
    echo "[check_system] tools/setup_env.sh needs system packages that are missing:"
    for m in "${missing[@]}"; do echo "  - $m"; done
    echo "[check_system] on Debian/Ubuntu: sudo apt-get install python3-venv python3-dev g++"
  } >&2
  exit 1
fi
exit 0
