#!/usr/bin/env bash
# Installs sonde as a service on a bare-metal probe host, or removes it again:
#   sudo npm run install-service              program in /opt/sonde, systemd/sonde.service, the
#                                             sonde user (systemd-sysusers), /etc/sonde/sonde.yml
#   sudo npm run uninstall-service            removes all of it but /etc/sonde
#   sudo npm run uninstall-service -- --purge removes /etc/sonde too
# DESTDIR=/some/root puts everything under that root instead (packaging, and the test): no
# systemctl is run then, and the user is made in DESTDIR/etc/passwd.
# The tree must be built first (npm run setup): dist/, the addon and the eBPF objects are copied.
set -euo pipefail
cd "$(dirname "$0")/.."

DESTDIR=${DESTDIR:-}
PREFIX=/opt/sonde
UNIT_DIR=/etc/systemd/system
SYSUSERS=/usr/lib/sysusers.d/sonde.conf
CONF_DIR=/etc/sonde

log() { printf 'install-service: %s\n' "$*" >&2; }
# systemctl only on the real host with systemd running (never in a DESTDIR, never starting systemd).
have_systemd() { [ -z "$DESTDIR" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null; }

install_service() {
  for f in dist/src/cli/main.js build/Release/sonde.node build/bpf/drop.bpf.o build/bpf/xdp_observe.bpf.o; do
    [ -f "$f" ] || { log "missing $f: build the tree first (npm run setup)"; exit 1; }
  done
  [ "$(id -u)" -eq 0 ] || [ -n "$DESTDIR" ] || { log "run as root (sudo npm run install-service)"; exit 1; }

  log "program -> $DESTDIR$PREFIX"
  rm -rf "$DESTDIR$PREFIX"
  install -d -m 0755 "$DESTDIR$PREFIX" "$DESTDIR$PREFIX/build/Release" "$DESTDIR$PREFIX/build/bpf" "$DESTDIR$PREFIX/node_modules"
  cp -r bin package.json README.md "$DESTDIR$PREFIX/"
  install -d -m 0755 "$DESTDIR$PREFIX/dist"
  cp -r dist/src "$DESTDIR$PREFIX/dist/"
  install -m 0644 build/Release/sonde.node "$DESTDIR$PREFIX/build/Release/"
  install -m 0644 build/bpf/drop.bpf.o build/bpf/xdp_observe.bpf.o "$DESTDIR$PREFIX/build/bpf/"
  # The runtime dependencies only (npm's own list of them), not the build and test tools.
  npm ls --omit=dev --parseable --all 2>/dev/null | sed -n "s|^$PWD/node_modules/||p" | while read -r dep; do
    install -d -m 0755 "$DESTDIR$PREFIX/node_modules/$(dirname "$dep")"
    cp -r "node_modules/$dep" "$DESTDIR$PREFIX/node_modules/$(dirname "$dep")/"
  done
  chmod -R u=rwX,go=rX "$DESTDIR$PREFIX"

  log "unit -> $DESTDIR$UNIT_DIR/sonde.service (XDP drop-in: $PREFIX/systemd/xdp.conf)"
  install -D -m 0644 systemd/sonde.service "$DESTDIR$UNIT_DIR/sonde.service"
  install -D -m 0644 systemd/xdp.conf "$DESTDIR$PREFIX/systemd/xdp.conf"
  install -D -m 0644 systemd/tcp_syn.conf "$DESTDIR$PREFIX/systemd/tcp_syn.conf"

  log "user sonde (systemd-sysusers $SYSUSERS)"
  install -D -m 0644 systemd/sonde.sysusers "$DESTDIR$SYSUSERS"
  systemd-sysusers ${DESTDIR:+--root="$DESTDIR"} sonde.conf

  # The config is the operator's: an existing one is left as it is.
  install -d -m 0750 "$DESTDIR$CONF_DIR"
  if [ ! -e "$DESTDIR$CONF_DIR/sonde.yml" ]; then
    log "example config -> $DESTDIR$CONF_DIR/sonde.yml"
    install -m 0640 systemd/sonde.yml "$DESTDIR$CONF_DIR/sonde.yml"
  fi
  install -m 0640 systemd/web.yml.example "$DESTDIR$CONF_DIR/web.yml.example"
  # Owned by root, readable by the sonde group: the daemon reads its config, never writes it.
  gid=$(awk -F: '$1 == "sonde" { print $3 }' "$DESTDIR/etc/group")
  chgrp "$gid" "$DESTDIR$CONF_DIR" "$DESTDIR$CONF_DIR"/*

  if have_systemd; then
    systemctl daemon-reload
    log "installed; start it with: systemctl enable --now sonde"
  else
    log "installed under ${DESTDIR:-/}; systemd is not running here, so nothing was enabled"
  fi
}

uninstall_service() {
  local purge=$1
  if have_systemd; then
    systemctl disable --now sonde.service 2>/dev/null || true
  fi
  log "removing $DESTDIR$PREFIX, the unit and the sonde user"
  rm -rf "$DESTDIR$PREFIX"
  rm -f "$DESTDIR$UNIT_DIR/sonde.service"
  rm -rf "$DESTDIR$UNIT_DIR/sonde.service.d"
  rm -f "$DESTDIR$SYSUSERS"
  if grep -q '^sonde:' "$DESTDIR/etc/passwd" 2>/dev/null; then
    userdel ${DESTDIR:+--prefix "$DESTDIR"} sonde
  fi
  if grep -q '^sonde:' "$DESTDIR/etc/group" 2>/dev/null; then
    groupdel ${DESTDIR:+--prefix "$DESTDIR"} sonde
  fi
  if [ "$purge" = 1 ]; then
    rm -rf "$DESTDIR$CONF_DIR"
  else
    log "kept $DESTDIR$CONF_DIR (--purge removes it)"
  fi
  if have_systemd; then systemctl daemon-reload; fi
}

case "${1:-}" in
  "") install_service ;;
  --uninstall) uninstall_service "$([ "${2:-}" = --purge ] && echo 1 || echo 0)" ;;
  *) log "usage: install-service.sh [--uninstall [--purge]]"; exit 2 ;;
esac
