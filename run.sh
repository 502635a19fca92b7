#!/usr/bin/env bash
# Set up everything on a fresh machine (only Python 3.11 needed), then serve or test.
#
#   ./run.sh serve   # install, migrate the SQLite database, start the server, print its URL
#   ./run.sh test    # install (with test tools, Chromium and HAProxy), run every test: unit, integration, browser
#   ./run.sh scale   # every core behind HAProxy, sharing PostgreSQL and Redis (INSTRUCTPLAY_DATABASE_URL, INSTRUCTPLAY_MESSAGE_QUEUE)
#
# Re-running is cheap: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
VENV=.venv

setup_python() {
  local extra="$1" stamp="$VENV/.installed-$1"
  [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "==> installing Python packages (torch pinned to the CPU build via constraints.txt)"
    "$VENV/bin/pip" install -q --upgrade pip
    "$VENV/bin/pip" install -q -c constraints.txt torch==2.13.0
    "$VENV/bin/pip" install -q -c constraints.txt -e ".${extra:+[$extra]}"
    if [ "$extra" = test ]; then
      echo "==> building DeepMind's Hanabi Learning Environment (test reference only)"
      CMAKE_POLICY_VERSION_MINIMUM=3.5 "$VENV/bin/pip" install -q hanabi-learning-environment==0.0.4
    fi
    touch "$stamp"
  fi
}

setup_debian_packages() {
  local missing=()
  [ -x /usr/bin/chromium ] || missing+=(chromium)           # the browser tests
  command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)  # the scaled-deployment tests
  if [ ${#missing[@]} = 0 ]; then return; fi
  echo "==> installing ${missing[*]} (Debian packages)"
  local sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

case "${1:-}" in
  serve)
    setup_python ""
    shift
    exec "$VENV/bin/instructplay" serve "$@"
    ;;
  scale)
    setup_python ""
    shift
    exec "$VENV/bin/python" deploy/scale.py "$@"
    ;;
  test)
    setup_python test
    setup_debian_packages
    shift
    if [ -z "${INSTRUCTPLAY_TEST_POSTGRES_URL:-}" ] && pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
      export INSTRUCTPLAY_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:5432/test"
    fi
    if [ -z "${INSTRUCTPLAY_TEST_REDIS_URL:-}" ] && redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
      export INSTRUCTPLAY_TEST_REDIS_URL="redis://127.0.0.1:6379/0"
    fi
    exec "$VENV/bin/python" -m pytest -q "$@"
    ;;
  *)
    sed -n '2,8p' "$0"; exit 2 ;;
esac
