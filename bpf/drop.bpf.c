// SPDX-License-Identifier: GPL-2.0
/* Drop tracer: every skb the kernel frees with a drop reason (skb:kfree_skb) is parsed, matched against
 * the probe flow table, and reported to user space with reason, location, ifindex and netns.
 *
 * Attached as tp_btf (BPF_TRACE_RAW_TP through BTF) rather than a classic tracepoint: it needs no tracefs
 * mount (none on this host) and reads the arguments without the trace_event record. The arguments are
 * (skb, location, reason) since 5.17 and (skb, location, reason, rx_sk) since 6.11; whether rx_sk exists
 * is decided by a CO-RE relocation against the running kernel's trace_event_raw_kfree_skb. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "drop.h"
#include "flows.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by the loader before load. */
const volatile __u8 report_all = 0; /* report drops of every packet, not only probe flows (`sonde drops --all`) */
const volatile __u32 local_netns = 0; /* probe host's netns inode; 0 = every namespace */
/* The kernel's SKB_DROP_REASON_NO_SOCKET and _SOCKET_FILTER (0: no filter). Every ICMP packet is
 * cloned to each raw ICMP socket of the namespace (ip_protocol_deliver_rcu() -> raw_local_deliver());
 * the sockets it is not for drop their clone in raw_rcv() with SOCKET_FILTER (ping programs filter
 * by echo id), and ping_rcv() frees the original with NO_SOCKET when no ping socket claims it. For an
 * echo reply of a probe flow neither is a loss, and an event each per reply would only load the ring. */
/* Third: QUEUE_PURGE, a socket closed with the clone still queued: the engine closes its sockets only
 * at exit, and another process's raw ICMP socket (a ping, a second sonde) gets a clone of every reply. */
const volatile __u32 echo_reply_clone[3] = {0, 0, 0};
#define REASON_QUEUE_PURGE (echo_reply_clone[2])

/* Only the field's existence matters: the flavor suffix (___rx) is ignored by CO-RE matching. */
struct trace_event_raw_kfree_skb___rx {
	void *rx_sk;
} __attribute__((preserve_access_index));

static __always_inline __u32 sonde_netns(struct sk_buff *skb, struct sock *rx_sk)
{
	struct sock *sk = rx_sk ? rx_sk : BPF_CORE_READ(skb, sk);
	struct net_device *dev;

	/* The socket's namespace first: UDP reuses skb->dev as dev_scratch on its receive path. */
	if (sk)
		return BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	dev = BPF_CORE_READ(skb, dev);
	if (dev)
		return BPF_CORE_READ(dev, nd_net.net, ns.inum);
	return 0;
}

/* Parses the IP and transport headers from the skb's linear area at the network header offset.
 * Returns 0 when the packet is not IPv4/IPv6 with a known transport header. */
static __always_inline int sonde_parse_skb(struct sk_buff *skb, struct sonde_pkt *p)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 nh = BPF_CORE_READ(skb, network_header);
	__u8 l4[16];
	__u8 first;
	__u32 l4off;

	if (nh == (__u16)~0U || bpf_probe_read_kernel(&first, 1, head + nh))
		return 0;
	if ((first >> 4) == 4) {
		struct iphdr ip;
		if (bpf_probe_read_kernel(&ip, sizeof(ip), head + nh))
			return 0;
		/* only the first fragment carries the transport header (RFC 791) */
		if (ip.frag_off & bpf_htons(0x1fff))
			return 0;
		p->family = SONDE_AF_INET;
		p->proto = ip.protocol;
		p->wire_tag = bpf_ntohs(ip.id);
		__builtin_memcpy(p->saddr, &ip.saddr, 4);
		__builtin_memcpy(p->daddr, &ip.daddr, 4);
		l4off = nh + ip.ihl * 4;
	} else if ((first >> 4) == 6) {
		struct ipv6hdr ip6;
		if (bpf_probe_read_kernel(&ip6, sizeof(ip6), head + nh))
			return 0;
		p->family = SONDE_AF_INET6;
		p->proto = ip6.nexthdr; /* extension headers are not walked: probes send none */
		__builtin_memcpy(p->saddr, &ip6.saddr, 16);
		__builtin_memcpy(p->daddr, &ip6.daddr, 16);
		l4off = nh + sizeof(ip6);
	} else {
		return 0;
	}
	if (bpf_probe_read_kernel(l4, sizeof(l4), head + l4off))
		return 0;
	switch (p->proto) {
	case SONDE_IPPROTO_TCP:
		p->tcp_flags = l4[13];
		p->wire_tag = (__u32)l4[4] << 24 | (__u32)l4[5] << 16 | (__u32)l4[6] << 8 | l4[7];
		/* fallthrough */
	case SONDE_IPPROTO_UDP:
		p->sport = (__u16)(l4[0] << 8 | l4[1]);
		p->dport = (__u16)(l4[2] << 8 | l4[3]);
		return 1;
	case SONDE_IPPROTO_ICMP:
	case SONDE_IPPROTO_ICMPV6:
		p->icmp_type = l4[0];
		p->sport = p->dport = (__u16)(l4[4] << 8 | l4[5]);
		p->icmp_seq = (__u16)(l4[6] << 8 | l4[7]);
		return 1;
	}
	return 0;
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(sonde_kfree_skb, struct sk_buff *skb, void *location, enum skb_drop_reason reason)
{
	struct sonde_pkt p = {};
	struct sonde_flow_state *st = 0;
	struct sock *rx_sk = 0;
	struct sonde_event *e;
	__u8 dir = SONDE_DIR_UNKNOWN;
	__u32 netns, iif;

	if (bpf_core_field_exists(struct trace_event_raw_kfree_skb___rx, rx_sk))
		rx_sk = (struct sock *)ctx[3];
	netns = sonde_netns(skb, rx_sk);
	if (local_netns && netns != local_netns)
		return 0;
	if (!sonde_parse_skb(skb, &p)) {
		if (!report_all)
			return 0;
	} else if (!report_all && reason != 0 && (p.proto == SONDE_IPPROTO_ICMP || p.proto == SONDE_IPPROTO_ICMPV6) &&
		   sonde_icmp_dir(&p) == SONDE_DIR_INGRESS &&
		   (reason == echo_reply_clone[0] || reason == echo_reply_clone[1] || reason == echo_reply_clone[2])) {
		/* An echo reply's shadow copy: decided before the flow lookups, which would cost more than
		 * the rest of this program for every reply a probe gets back. */
		return 0;
	} else if (!report_all && reason != 0 && reason == REASON_QUEUE_PURGE && BPF_CORE_READ(skb, skb_iif)) {
		/* QUEUE_PURGE of a packet that had been received (skb_iif is set on receive): it reached
		 * its socket, which closed without reading it. Every HTTP probe makes one: the server
		 * closes first and its socket goes to TIME_WAIT with the client's FIN still queued
		 * (sk_stream_kill_queues). Not a loss, and an event per probe costs more than the probe's
		 * own bookkeeping. A purged packet never received (unsent or unacked data) still counts. */
		return 0;
	} else {
		st = sonde_match(&p, 0, &dir);
	}
	if (!st && !report_all)
		return 0;
	if (st && dir == SONDE_DIR_INGRESS && (p.proto == SONDE_IPPROTO_ICMP || p.proto == SONDE_IPPROTO_ICMPV6) &&
	    reason != 0 && (reason == echo_reply_clone[0] || reason == echo_reply_clone[1] || reason == echo_reply_clone[2]))
		return 0;
	iif = BPF_CORE_READ(skb, skb_iif);
	if (!st)
		/* unmatched (`all`): skb_iif is set once a packet was received on a device */
		dir = iif ? SONDE_DIR_INGRESS : SONDE_DIR_EGRESS;
	else
		__sync_fetch_and_add(&st->drops, 1);

	e = sonde_reserve();
	if (!e)
		return 0;
	e->ts_ns = bpf_ktime_get_ns();
	e->location = (__u64)location;
	e->reason = (__u32)reason;
	e->flow_id = st ? st->flow_id : 0;
	if (!iif) {
		struct net_device *dev = BPF_CORE_READ(skb, dev);
		if (dev && dir == SONDE_DIR_EGRESS)
			iif = BPF_CORE_READ(dev, ifindex);
	}
	e->ifindex = iif;
	e->netns = netns;
	e->kind = SONDE_EV_DROP;
	e->direction = dir;
	e->len = BPF_CORE_READ(skb, len);
	sonde_fill_pkt(e, &p);
	sonde_submit(e);
	return 0;
}
