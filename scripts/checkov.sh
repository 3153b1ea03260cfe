#!/usr/bin/env bash
# Static security checks of terraform/ with checkov, in its own virtual environment.
#
# checkov pins dependencies that clash with the project's (boto3, pydantic, ...), so it
# lives in .checkov-venv (gitignored), created on first use (needs PyPI once) and reused
# after. The scan itself is offline: --skip-download keeps checkov from fetching policies
# or guidelines. Any failed check fails this script; a deliberate exception is written
# next to its resource as `#checkov:skip=CKV_...:<reason>` (see terraform/README.md).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${CHECKOV_VENV:-$ROOT/.checkov-venv}"
VERSION="${CHECKOV_VERSION:-3.3.30}"
PY="${PYTHON:-python3}"
STAMP="$VENV/.checkov-$VERSION"

if [[ ! -f "$STAMP" ]]; then
  echo "checkov.sh: installing checkov==$VERSION into $VENV (one-time, needs PyPI)" >&2
  [[ -x "$VENV/bin/python" ]] || "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "checkov==$VERSION" 2>&1 \
    | grep -v "is ignored: it is neither a file nor a directory" >&2 || true
  "$VENV/bin/checkov" --version >/dev/null # fail here if the install did not work
  touch "$STAMP"
fi

# The scan must work without network: no guideline mapping download (BC_SKIP_MAPPING),
# no live secret validation. Checked with `unshare -n bash scripts/checkov.sh`.
export BC_SKIP_MAPPING=TRUE CKV_VALIDATE_SECRETS=false
export LOG_LEVEL=WARNING

cd "$ROOT"
# Exit status is non-zero when any check fails; skipped checks (inline, with reason) pass.
exec "$VENV/bin/checkov" -d terraform --framework terraform --skip-download --quiet --compact "$@"
