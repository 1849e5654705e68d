#!/usr/bin/env bash
# Retrains the anomaly model: makes (once) a venv with requirements.txt, then runs train.py, which
# rewrites model.onnx, model-metadata.json and heldout-sample.json beside this script.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${MINIXDR_CACHE:-$HOME/.cache/minixdr}/ml-venv"
[ -x "$venv/bin/python" ] || "${PYTHON:-python3}" -m venv "$venv"
want="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
if [ "$(cat "$venv/.requirements.sha256" 2>/dev/null)" != "$want" ]; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
  echo "$want" >"$venv/.requirements.sha256"
fi
cd "$here"
PYTHONDONTWRITEBYTECODE=1 "$venv/bin/python" train.py
