#!/usr/bin/env bash
# Create .venv with Python >= 3.12 and install Registru's locked dependencies into it.
# Usage: scripts/bootstrap.sh base|dev|bench
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${1:-base}"
lock="requirements/${profile}.lock"
stamp=".venv/.installed-${profile}"

find_python() {
  local candidate
  for candidate in "${REGISTRU_PYTHON:-}" python3.13 python3.12; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  for candidate in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[3-9]*/bin/python3 "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python3; do
    if [ -x "$candidate" ] && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  # Plain python3 last: it may well be older.
  if command -v python3 >/dev/null 2>&1 && python3 -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
    command -v python3; return 0
  fi
  return 1
}

if [ -f "$stamp" ] && [ "$stamp" -nt "$lock" ] && [ "$stamp" -nt pyproject.toml ]; then
  exit 0
fi

if [ ! -x .venv/bin/python ]; then
  if ! python=$(find_python); then
    echo "Registru needs Python 3.12 or newer (Django 6 does)." >&2
    echo "Install python3.13 or python3.12 (or a pyenv version), or point REGISTRU_PYTHON at one." >&2
    exit 1
  fi
  echo "Creating .venv with $("$python" --version) ($python)"
  "$python" -m venv .venv
fi

echo "Installing the locked dependencies ($lock)…"
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r "$lock"
.venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements/build.lock
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
touch "$stamp"
# Each profile's lock holds the smaller one's pins (core/tests/test_bootstrap.py): what dev
# installs satisfies base, and bench both, so switching between `make run` and `make test`
# installs nothing again.
case "$profile" in
  dev) touch .venv/.installed-base ;;
  bench) touch .venv/.installed-base .venv/.installed-dev ;;
esac
