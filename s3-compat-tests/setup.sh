#!/usr/bin/env bash
# Creates (or refreshes) the pinned test venv (target/s3-compat-venv, see
# test_venv_dir in .ci/deps.sh) with the tools of requirements.txt.
# Idempotent: when requirements.txt has not changed since the last install and
# the venv works, it does nothing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../.ci/deps.sh
source "$here/../.ci/deps.sh"
venv="$(test_venv_dir "$(cd "$here/.." && pwd)")"
req="$here/requirements.txt"
constraints="$here/constraints.txt"
stamp="$venv/.requirements.sha256"
py="${PYTHON:-$(command -v python3.11 || command -v python3)}"

want="$(cat "$req" "$constraints" | sha256sum | cut -d' ' -f1)"
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
    && "$venv/bin/python" -c 'import boto3, pytest, requests' >/dev/null 2>&1 \
    && [ -x "$venv/bin/aws" ]; then
    exit 0
fi

echo "==> creating test venv in $venv"
rm -rf "$venv"
"$py" -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req" -c "$constraints"
echo "$want" > "$stamp"
