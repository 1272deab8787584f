#!/usr/bin/env bash
# Re-resolves the lock files the README's two commands install from (exact versions, hashes):
#   requirements.lock       what `pipechat serve` needs
#   requirements-test.lock  that plus the test tools (same versions for every shared package)
# pyproject.toml keeps the loose ranges for projects that embed pipechat.
# Usage: bash scripts/lock.sh [--upgrade | --upgrade-package NAME ...]   (see docs/dependencies.md)
set -euo pipefail
cd "$(dirname "$0")/.."

tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
python3 -m venv "$tools/venv"
"$tools/venv/bin/pip" install --quiet "uv==0.13.9"
uv=("$tools/venv/bin/uv" pip compile --quiet --generate-hashes --universal --python-version 3.11)

# Versions held back on purpose (docs/dependencies.md says why and how to move them).
cat > "$tools/pins.txt" <<'PINS'
# realtime/uvicorn_ws.py is fingerprinted against this uvicorn's websocket protocol.
uvicorn==0.54.0
PINS

"${uv[@]}" "$@" pyproject.toml --extra test -c "$tools/pins.txt" -o requirements-test.lock
# The runtime set is resolved inside the test set, so both install the same versions.
"${uv[@]}" pyproject.toml -c requirements-test.lock -o requirements.lock
echo "wrote requirements.lock and requirements-test.lock"
