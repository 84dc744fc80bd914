#!/usr/bin/env bash
# Creates .venv if missing and installs every package of the repository
# (editable) when any pyproject/requirements/proto file changed since the last
# install. Sourced by scripts/up and scripts/test.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${PENTAGON_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3

# PyICU (the agent's Zawgyi->Unicode conversion and Burmese word breaking) builds
# against the system ICU: the only system package the project needs.
if ! pkg-config --exists icu-i18n 2>/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  if command -v apt-get >/dev/null 2>&1; then
    echo "installing libicu-dev and pkg-config (needed to build PyICU)" >&2
    $SUDO apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libicu-dev pkg-config g++ >&2
  else
    echo "please install ICU development files and pkg-config (libicu-dev, pkg-config)" >&2; exit 1
  fi
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "creating virtualenv in $VENV" >&2
  "$PY" -m venv "$VENV"
fi

PACKAGES=(libs/common libs/devtools services/tracking services/agent services/webhook services/admin-api)
stamp_input() {
  cd "$ROOT"
  cat requirements/*.txt clients/streamlit-chat/requirements.txt protos/*.proto
  for p in "${PACKAGES[@]}"; do cat "$p/pyproject.toml"; done
}
STAMP="$VENV/.pentagon-install-stamp"
WANT="$(stamp_input | sha256sum | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ] || [ ! -f "$ROOT/libs/common/src/pentagon/common/proto/events_pb2.py" ]; then
  echo "installing dependencies (pinned by requirements/constraints.txt)" >&2
  cd "$ROOT"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
  ARGS=()
  for p in "${PACKAGES[@]}"; do ARGS+=(-e "$p"); done
  PIP_CONSTRAINT="" "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    -c requirements/constraints.txt "${ARGS[@]}" \
    -r requirements/dev.txt -r clients/streamlit-chat/requirements.txt
  "$VENV/bin/python" libs/common/gen_protos.py >&2
  echo "$WANT" > "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
