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
# SYNs a packet socket sends (the SYN scanner over Ethernet-like links) pass below the inet hooks;
# a netdev egress chain on every device but lo (those present at start: the uplinks; what enters a
# lab's veth stays in the labs) counts them too, as af_packet runs that hook even with
# PACKET_QDISC_BYPASS (Linux 5.17+). It counts the SYNs from a source port outside the kernel's
# ephemeral range (the scanner's own ports: kernel sockets connect from that range) to a destination
# outside loopback and the labs.
# SONDE_GUARD_ALLOW4 / SONDE_GUARD_ALLOW6 replace the allowed (lab) destination ranges; only the
# guard's own test narrows them, so that it can break the rule with traffic that stays in its labs.
set -euo pipefail

TABLE=sonde_net_guard
DEVTABLE=sonde_net_guard_dev
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
  start_dev
}

# The netdev table (see the header); none when the namespace has no device but lo.
start_dev() {
  nft delete table netdev "$DEVTABLE" 2>/dev/null || true
  local devs eph_lo eph_hi
  devs=$(ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); if ($2 != "lo") printf "%s\"%s\"", (n++ ? ", " : ""), $2 }')
  [ -n "$devs" ] || return 0
  read -r eph_lo eph_hi </proc/sys/net/ipv4/ip_local_port_range
  nft -f - <<EOF
table netdev $DEVTABLE {
  set dst4 { typeof ip saddr . ip daddr . ip protocol . @nh,176,16; flags dynamic; size 65536; counter; }
  set dst6 { typeof ip6 saddr . ip6 daddr . ip6 nexthdr . @nh,336,16; flags dynamic; size 65536; counter; }
  chain sent {
    type filter hook egress devices = { $devs } priority -500; policy accept;
    meta protocol ip jump check4
    meta protocol ip6 jump check6
  }
  # The TCP header is read at its offset from the network header (@nh): at this hook the transport
  # offset nft derives (th, l4proto) was missing for some frames of a packet socket (2 SYNs in 10
  # over IPv6 in a lab run). SYNs without IP options (IPv4 header of 20 bytes) or extension headers,
  # as the scanner builds them: flags at byte 13, source port at 0, destination port at 2.
  chain check4 {
    ip daddr { $ALLOW4 } return
    ip protocol tcp @nh,0,8 0x45 @nh,264,8 & 0x12 == 0x02 @nh,160,16 != $eph_lo-$eph_hi update @dst4 { ip saddr . ip daddr . ip protocol . @nh,176,16 } counter
  }
  chain check6 {
    ip6 daddr { $ALLOW6 } return
    ip6 nexthdr tcp @nh,424,8 & 0x12 == 0x02 @nh,320,16 != $eph_lo-$eph_hi update @dst6 { ip6 saddr . ip6 daddr . ip6 nexthdr . @nh,336,16 } counter
  }
}
EOF
}

# Sums the rule counters and lists the sets' elements (destination, protocol, port, packets) from
# nft's JSON; exit 1 when anything was counted.
check() {
  local json
  json=$(nft -j list table inet "$TABLE") || { echo "net-guard: table inet $TABLE is missing" >&2; return 1; }
  # The netdev table's items join the inet table's (it is absent only where no device but lo was).
  local dev
  if dev=$(nft -j list table netdev "$DEVTABLE" 2>/dev/null); then json="[$json,$dev]"; else json="[$json]"; fi
  node -e '
    const nftables = JSON.parse(require("fs").readFileSync(0, "utf8")).flatMap((t) => t.nftables);
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
  nft delete table netdev "$DEVTABLE" 2>/dev/null || true
}

case "${1:-}" in
  start) start ;;
  check) check ;;
  stop) stop ;;
  *) echo "usage: $0 start|check|stop" >&2; exit 2 ;;
esac
