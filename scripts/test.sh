#!/usr/bin/env bash
# Installs everything the test suite needs into .venv (the exact versions of requirements-test.lock;
# tests/js and tests/browser node_modules; Chromium), then runs lint, type checks, the Python suite,
# the JavaScript-client suite and the browser test of the web page. Arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
# The locked versions (exact, hashed), then pipechat itself without re-resolving anything.
.venv/bin/python -m pip install --quiet --require-hashes -r requirements-test.lock
.venv/bin/python -m pip install --quiet --no-deps -e .
if [ -f tests/js/package.json ]; then
  (cd tests/js && npm ci --no-audit --no-fund --loglevel=error)
fi
# Debian packages the tests drive, installed when missing (CI runs as root): Chromium for the
# browser test, nginx for tests/deploy (deploy/nginx/pipechat.conf in front of two processes).
missing=()
if [ -f tests/browser/package.json ]; then
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
  if [ -z "${PIPECHAT_TEST_CHROMIUM:-}" ] && [ ! -x /usr/bin/chromium ]; then
    missing+=(chromium)
  fi
fi
if [ -z "${PIPECHAT_TEST_NGINX:-}" ] && [ ! -x /usr/sbin/nginx ]; then
  missing+=(nginx)
fi
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq "${missing[@]}" >/dev/null \
    || { apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null; }
fi

# Use this machine's PostgreSQL and Redis when they answer; tests needing them skip otherwise.
probe() { .venv/bin/python -c "import socket,sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 1)" "$1" 2>/dev/null; }
if [ -z "${PIPECHAT_TEST_POSTGRES_URL:-}" ] && probe 5432; then
  export PIPECHAT_TEST_POSTGRES_URL="postgresql://postgres@127.0.0.1:5432/test"
fi
if [ -z "${PIPECHAT_TEST_REDIS_URL:-}" ] && probe 6379; then
  export PIPECHAT_TEST_REDIS_URL="redis://127.0.0.1:6379/0"
fi

.venv/bin/ruff check src tests
.venv/bin/mypy
.venv/bin/pytest "$@"
if [ -f tests/js/package.json ]; then
  (cd tests/js && npm test)
fi
if [ -f tests/browser/package.json ]; then
  (cd tests/browser && npm test)
fi
