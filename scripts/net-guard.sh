#!/usr/bin/env bash
# The network rule's witness under CI: tests send traffic only to loopback and to the labs' ranges
# (198.18.0.0/15, fd5e:ed00::/32, see test/lab/netns.ts), and never a DNS query anywhere else.
# An nftables table counts, and never drops, what breaks that rule in this network namespace:
#   - every DNS query (UDP or TCP to port 53), from any source,
#   - every ICMP echo request and TCP SYN from a lab address,
# sent to an address outside loopback and the labs' ranges, by the host itself (output hook) or
# routed by it for a lab namespace (forward hook; a namespace's own netfilter does not see what
# the host forwards). Each such packet is counted, and its destination (with protocol, port and
# source) kept in a set.
#   scripts/net-guard.sh start    creates the table (replacing an old one)
#   scripts/net-guard.sh check    prints the offending destinations; exit 1 when a counter is not zero
#   scripts/net-guard.sh stop     removes the table
# SONDE_GUARD_ALLOW4 / SONDE_GUARD_ALLOW6 replace the allowed (lab) destination ranges; only the
# guard's own test narrows them, so that it can break the rule with traffic that stays in its labs.
set -euo pipefail

TABLE=sonde_net_guard
LABS4="198.18.0.0/15"
LABS6="fd5e:ed00::/32"
ALLOW4="127.0.0.0/8, ${SONDE_GUARD_ALLOW4:-$LABS4}"
ALLOW6="::1, ${SONDE_GUARD_ALLOW6:-$LABS6}"

start() {
  nft delete table inet "$TABLE" 2>/dev/null || true
  # Priority -500 runs before raw (-300), conntrack (-200) and every usual filter chain, so no
  # other table can drop a packet before it is counted. Policy accept: the guard only watches.
  nft -f - <<EOF
table inet $TABLE {
  set dst4 { type ipv4_addr . ipv4_addr . inet_proto . inet_service; flags dynamic; size 65536; counter; }
  set dst6 { type ipv6_addr . ipv6_addr . inet_proto . inet_service; flags dynamic; size 65536; counter; }
  chain sent { type filter hook output priority -500; policy accept; jump check; }
  chain routed { type filter hook forward priority -500; policy accept; jump check; }
  chain check {
    meta nfproto ipv4 jump check4
    meta nfproto ipv6 jump check6
  }
  chain check4 {
    ip daddr { $ALLOW4 } return
    udp dport 53 update @dst4 { ip saddr . ip daddr . meta l4proto . th dport } counter
    tcp dport 53 update @dst4 { ip saddr . ip daddr . meta l4proto . th dport } counter
    ip saddr $LABS4 icmp type echo-request update @dst4 { ip saddr . ip daddr . meta l4proto . 0 } counter
    ip saddr $LABS4 tcp flags & (syn | ack) == syn update @dst4 { ip saddr . ip daddr . meta l4proto . th dport } counter
  }
  chain check6 {
    ip6 daddr { $ALLOW6 } return
    udp dport 53 update @dst6 { ip6 saddr . ip6 daddr . meta l4proto . th dport } counter
    tcp dport 53 update @dst6 { ip6 saddr . ip6 daddr . meta l4proto . th dport } counter
    ip6 saddr $LABS6 icmpv6 type echo-request update @dst6 { ip6 saddr . ip6 daddr . meta l4proto . 0 } counter
    ip6 saddr $LABS6 tcp flags & (syn | ack) == syn update @dst6 { ip6 saddr . ip6 daddr . meta l4proto . th dport } counter
  }
}
EOF
}

# Sums the rule counters and lists the sets' elements (destination, protocol, port, packets) from
# nft's JSON; exit 1 when anything was counted.
check() {
  local json
  json=$(nft -j list table inet "$TABLE") || { echo "net-guard: table inet $TABLE is missing" >&2; return 1; }
  node -e '
    const { nftables } = JSON.parse(require("fs").readFileSync(0, "utf8"));
    let packets = 0;
    for (const item of nftables) {
      for (const e of item.rule?.expr ?? []) if (e.counter) packets += e.counter.packets;
    }
    const lines = [];
    for (const item of nftables) {
      for (const elem of item.set?.elem ?? []) {
        const key = elem.elem?.val ?? elem;
        const [src, dst, proto, port] = key.concat ?? [key];
        const count = elem.elem?.counter?.packets;
        lines.push(`  ${dst} ${proto} ${port} from ${src}${count === undefined ? "" : ` (${count} packets)`}`);
      }
    }
    if (packets === 0) { console.log("net-guard: no DNS query, echo request or SYN left loopback and the labs"); process.exit(0); }
    console.log(`net-guard: ${packets} packets broke the network rule (destination, protocol, port, source):`);
    console.log(lines.length ? lines.join("\n") : "  (destinations not recorded)");
    process.exit(1);
  ' <<<"$json"
}

stop() {
  nft delete table inet "$TABLE" 2>/dev/null || true
}

case "${1:-}" in
  start) start ;;
  check) check ;;
  stop) stop ;;
  *) echo "usage: $0 start|check|stop" >&2; exit 2 ;;
esac
