#!/usr/bin/env bash
# The whole suite: lint, type-check (the build in setup), unit and lab tests, native tests.
# `npm test` runs setup first (pretest). Extra arguments select test files: npm test -- dist/test/config
set -euo pipefail
cd "$(dirname "$0")/.."

# Under CI (as root) the network rule is watched for the whole run: scripts/net-guard.sh counts DNS
# queries, echo requests and SYNs that leave loopback and the labs' ranges; any makes the run fail
# with the destinations named. The table is removed on every exit, failed or not.
if [ "${CI:-}" = true ] && [ "$(id -u)" -eq 0 ]; then
  guard_end() {
    local rc=$?
    echo "== network rule"
    bash scripts/net-guard.sh check || rc=1
    bash scripts/net-guard.sh stop
    exit $rc
  }
  bash scripts/net-guard.sh start
  trap guard_end EXIT
fi

echo "== lint"
npx --no-install eslint --max-warnings 0 .
echo "== type-check"
npx --no-install tsc -p . --noEmit

if [ -f native/tests/Makefile ]; then
  echo "== native tests (plain, ASan/UBSan, fuzz)"
  make -s -C native/tests check
fi

echo "== node tests"
if [ $# -gt 0 ]; then files=("$@"); else mapfile -t files < <(find dist/test -name '*.test.js' | sort); fi
# The HTTP, TCP and DNS prober suites also run on Node sockets and undici alone (src/runtime.ts fastPath):
# both transports are held to the same results.
mapfile -t transport_files < <(printf '%s\n' "${files[@]}" | grep -E '(^|/)dist/test/probers/(http|tcp|dns)[^/]*\.test\.js$' || true)
if [ ${#transport_files[@]} -gt 0 ]; then
  echo "== node tests: HTTP, TCP and DNS probers with the fast path off (SONDE_FAST_PATH=0)"
  SONDE_FAST_PATH=0 node --test --test-concurrency=1 --test-reporter=spec --test-reporter-destination=stdout "${transport_files[@]}"
fi
# One file at a time: the lab tests create network namespaces and must not race each other.
# Not exec: the guard's exit trap must run after the tests.
node --test --test-concurrency=1 --test-reporter=spec --test-reporter-destination=stdout "${files[@]}"
