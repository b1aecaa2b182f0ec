#!/usr/bin/env bash
# The whole suite: lint, type-check (the build in setup), unit and lab tests, native tests.
# `npm test` runs setup first (pretest). Extra arguments select test files: npm test -- dist/test/config
set -euo pipefail
cd "$(dirname "$0")/.."

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
# One file at a time: the lab tests create network namespaces and must not race each other.
exec node --test --test-concurrency=1 --test-reporter=spec --test-reporter-destination=stdout "${files[@]}"
