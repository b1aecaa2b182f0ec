#!/usr/bin/env bash
# One idempotent set-up for `npm start`, `npm test` and `npm run bench`: Debian packages (when root),
# npm ci, the BPF objects, the addon and the TypeScript build. Each step is skipped when up to date.
#   scripts/setup.sh            what the daemon needs to build and run
#   scripts/setup.sh --test     plus the tools the tests use as targets and independent witnesses
#   scripts/setup.sh --bench    plus the peer tools the benchmark runs side by side
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'setup: %s\n' "$*" >&2; }

BUILD_PKGS=(build-essential python3 pkg-config clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool nftables iproute2)
TEST_PKGS=(openssl nginx-light prometheus-blackbox-exporter prometheus curl fping iputils-ping iputils-tracepath tcpdump radvd libclang-rt-14-dev procps unbound knot)
BENCH_PKGS=(nginx-light prometheus-blackbox-exporter fping wrk time unbound dnsperf zmap masscan nmap)

want=("${BUILD_PKGS[@]}")
for arg in "$@"; do
  case "$arg" in
    --test) want+=("${TEST_PKGS[@]}") ;;
    --bench) want+=("${BENCH_PKGS[@]}") ;;
    *) log "unknown option $arg"; exit 2 ;;
  esac
done

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    log "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # nginx's package starts a server on :80 by default; our tests start their own, so keep it off for
    # this install only: a policy-rc.d we create is removed again (also on failure), or every later apt
    # install on the host would leave its service stopped. One that was there already is left alone.
    policy=
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      policy=/usr/sbin/policy-rc.d
      trap 'rm -f "$policy"' EXIT
      printf '#!/bin/sh\nexit 101\n' > "$policy"
      chmod +x "$policy"
    fi
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/sonde-apt.log 2>&1 || {
      apt-get update -q >>/tmp/sonde-apt.log 2>&1
      apt-get install -y -q --no-install-recommends "${missing[@]}" >>/tmp/sonde-apt.log 2>&1 || { tail -20 /tmp/sonde-apt.log >&2; exit 1; }
    }
    if [ -n "$policy" ]; then rm -f "$policy"; trap - EXIT; fi
  else
    log "missing Debian packages (run as root to install them): ${missing[*]}"
  fi
fi

# npm ci when the lock changed since the last install (node_modules/.package-lock.json is npm's own record).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error >&2
  touch node_modules/.package-lock.json
fi

# BPF objects (clang -target bpf against this kernel's BTF).
if [ -f bpf/Makefile ]; then
  make -s -C bpf >&2
fi

# The addon: reconfigure when the set of sources changed, rebuild when any source is newer.
sources=$( { find native -name '*.cc' -o -name '*.h' | grep -v -e '^native/tests/' -e '^native/fuzz/'; ls -1 bpf/*.h; } 2>/dev/null | sort | tr '\n' ' ')
addon=build/Release/sonde.node
if [ ! -f build/Makefile ] || [ "$(cat build/.sonde-sources 2>/dev/null)" != "$sources" ]; then
  log "configuring the addon"
  npx --no-install node-gyp configure >/dev/null
  echo "$sources" > build/.sonde-sources
  rm -f "$addon"
fi
stale=0
[ -f "$addon" ] || stale=1
if [ $stale -eq 0 ]; then
  for f in $sources binding.gyp; do [ "$f" -nt "$addon" ] && { stale=1; break; }; done
fi
if [ $stale -eq 1 ]; then
  log "building the addon"
  npx --no-install node-gyp build -j 2 >/tmp/sonde-gyp.log 2>&1 || { grep -E 'error|Error' /tmp/sonde-gyp.log >&2 || tail -20 /tmp/sonde-gyp.log >&2; exit 1; }
  touch "$addon"
fi

# TypeScript (incremental: a no-op build takes about a second).
npx --no-install tsc -p . >&2
