#!/usr/bin/env bash
# The one test command (README "Run the tests"): installs and starts what the tests need (chromium, PostgreSQL), builds everything with
# warnings as errors, runs every test project, and ends with one line "N passed, N failed, N skipped" for the whole run.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p artifacts
log=artifacts/test-output.log

if ! command -v dotnet >/dev/null 2>&1; then
  echo "dotnet (SDK 10) is required: https://dotnet.microsoft.com/download" >&2
  echo "0 passed, 1 failed, 0 skipped"
  exit 1
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# The dashboard's tests drive a real headless browser: Debian's chromium (Playwright's own browser download cannot
# work here). Installed only when missing, so a second run does nothing; without it those tests fail, never skip.
if [ ! -x /usr/bin/chromium ] && [ -z "${CHROMIUM_PATH:-}" ]; then
  echo "Installing chromium for the dashboard's browser tests..." >&2
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } > artifacts/chromium-install.log 2>&1; then
    echo "Could not install chromium; see artifacts/chromium-install.log (the dashboard's browser tests will fail)" >&2
  fi
fi

if ! dotnet build StatePersistence.sln -c Release -nologo -v quiet > artifacts/build-output.log 2>&1; then
  grep -E ": error " artifacts/build-output.log | sort -u | head -50 >&2
  echo "Build failed; see artifacts/build-output.log" >&2
  echo "0 passed, 1 failed, 0 skipped"
  exit 1
fi

# The PostgreSQL tests run against a real server: a throwaway cluster on a free port of 127.0.0.1 in a temporary
# directory (scripts/services/postgres.sh installs PostgreSQL when missing), stopped and removed when the run ends,
# unless STATEPERSISTENCE_POSTGRES names one already.
if [ -z "${STATEPERSISTENCE_POSTGRES:-}" ]; then
  SP_PG_DIR=$(mktemp -d /tmp/statepersistence-postgres.XXXXXX)
  SP_PG_PORT=$(bash scripts/services/postgres.sh free-port) || SP_PG_PORT=55432
  export SP_PG_DIR SP_PG_PORT
  trap 'bash scripts/services/postgres.sh stop >/dev/null 2>&1; rm -rf "$SP_PG_DIR"' EXIT
  if ! STATEPERSISTENCE_POSTGRES=$(bash scripts/services/postgres.sh start 2> artifacts/postgres-start.log); then
    cat artifacts/postgres-start.log >&2
    echo "PostgreSQL could not be started; see artifacts/postgres-start.log" >&2
    echo "0 passed, 1 failed, 0 skipped"
    exit 1
  fi
  export STATEPERSISTENCE_POSTGRES
fi

dotnet test --solution StatePersistence.sln -c Release --no-build 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# Microsoft.Testing.Platform prints one summary per run: "total: N", "failed: N", "succeeded: N", "skipped: N".
summary=$(awk '/Test run summary/{found=1} found' "$log")
passed=$(printf '%s\n' "$summary" | awk '$1=="succeeded:"{print $2; exit}')
failed=$(printf '%s\n' "$summary" | awk '$1=="failed:"{print $2; exit}')
skipped=$(printf '%s\n' "$summary" | awk '$1=="skipped:"{print $2; exit}')
if [ -z "$passed" ] || [ -z "$failed" ]; then
  echo "Could not read the test summary (dotnet test exited $status); see $log" >&2
  echo "0 passed, 1 failed, 0 skipped"
  exit 1
fi
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  echo "dotnet test exited $status without failed tests; see $log" >&2
  failed=1
fi
echo "${passed} passed, ${failed} failed, ${skipped:-0} skipped"
[ "$failed" -eq 0 ]
