#!/usr/bin/env bash
# The LiteLLM proxy for tests/servers, in its own virtual environment.
#
# litellm[proxy] pins rich<14 and websockets<16, which would downgrade the project's test
# venv; teams run it as a separate service anyway. .litellm-venv (gitignored) is created on
# first use (needs PyPI once) and reused after; tests find it through LENS_LITELLM or at
# .litellm-venv/bin/litellm (tests/servers/litellm_proc.py). Prints the executable's path.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${LITELLM_VENV:-$ROOT/.litellm-venv}"
SPEC="${LITELLM_SPEC:-litellm[proxy]>=1.108,<2}"
PY="${PYTHON:-python3}"
STAMP="$VENV/.installed"

if [[ ! -f "$STAMP" ]]; then
  echo "litellm-venv.sh: installing $SPEC into $VENV (one-time, needs PyPI)" >&2
  [[ -x "$VENV/bin/python" ]] || "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "$SPEC" 2>&1 \
    | grep -v "is ignored: it is neither a file nor a directory" >&2 || true
  "$VENV/bin/litellm" --help >/dev/null # fail here if the install did not work
  touch "$STAMP"
fi
echo "$VENV/bin/litellm"
