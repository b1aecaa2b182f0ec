// SPDX-License-Identifier: GPL-2.0
/* XDP observer on the probe interface's ingress: records replies of probe flows before the stack sees
 * them, so a lost reply can be told apart: reached the NIC and dropped locally, or never arrived (path
 * loss). It never changes a packet's fate: every path returns XDP_PASS.
 *
 * A reply is recorded in the `seen` map (per ICMP echo id:seq, or per flow), which user space reads only
 * for the few probes that were lost; one ring event per reply (the xdp_events knob, off by default)
 * cost the probe host more than half its echo throughput, all of it in carrying events nobody needed. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "drop.h"
#include "flows.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u8 xdp_events = 0; /* also send one ring event per matched reply (debugging, `sonde drops`) */
const volatile __u32 local_netns = 0; /* reported in events: XDP has no socket or netns of its own */

#define ETH_P_IP_BE bpf_htons(0x0800)
#define ETH_P_IPV6_BE bpf_htons(0x86DD)
#define ETH_P_8021Q_BE bpf_htons(0x8100)

static __always_inline int sonde_parse_xdp(void *data, void *end, struct sonde_pkt *p)
{
	struct ethhdr *eth = data;
	__u8 *l4;
	__u16 proto;

	if ((void *)(eth + 1) > end)
		return 0;
	proto = eth->h_proto;
	data = eth + 1;
	if (proto == ETH_P_8021Q_BE) { /* one VLAN tag (IEEE 802.1Q) */
		struct vlan_hdr *vh = data;
		if ((void *)(vh + 1) > end)
			return 0;
		proto = vh->h_vlan_encapsulated_proto;
		data = vh + 1;
	}
	if (proto == ETH_P_IP_BE) {
		struct iphdr *ip = data;
		if ((void *)(ip + 1) > end || ip->ihl < 5)
			return 0;
		if (ip->frag_off & bpf_htons(0x1fff))
			return 0;
		p->family = SONDE_AF_INET;
		p->proto = ip->protocol;
		__builtin_memcpy(p->saddr, &ip->saddr, 4);
		__builtin_memcpy(p->daddr, &ip->daddr, 4);
		l4 = (__u8 *)ip + ip->ihl * 4;
	} else if (proto == ETH_P_IPV6_BE) {
		struct ipv6hdr *ip6 = data;
		if ((void *)(ip6 + 1) > end)
			return 0;
		p->family = SONDE_AF_INET6;
		p->proto = ip6->nexthdr;
		__builtin_memcpy(p->saddr, &ip6->saddr, 16);
		__builtin_memcpy(p->daddr, &ip6->daddr, 16);
		l4 = (__u8 *)(ip6 + 1);
	} else {
		return 0;
	}
	if ((void *)(l4 + 8) > end)
		return 0;
	switch (p->proto) {
	case SONDE_IPPROTO_TCP:
		if ((void *)(l4 + 14) > end)
			return 0;
		p->tcp_flags = l4[13];
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

static __always_inline void sonde_record_seen(__u32 flow_id, const struct sonde_pkt *p, __u64 now)
{
	struct sonde_seen_key k = { .flow_id = flow_id, .wire = 0 };
	struct sonde_seen *s;

	if (p->proto == SONDE_IPPROTO_ICMP || p->proto == SONDE_IPPROTO_ICMPV6)
		k.wire = (__u32)p->sport << 16 | p->icmp_seq;
	s = bpf_map_lookup_elem(&seen, &k);
	if (s) {
		s->last_ns = now;
		__sync_fetch_and_add(&s->packets, 1);
		return;
	}
	/* Two CPUs inserting the same key at once: BPF_NOEXIST lets the first win; the second reply's
	 * count is lost, its presence is not. */
	struct sonde_seen v = { .first_ns = now, .last_ns = now, .packets = 1 };
	bpf_map_update_elem(&seen, &k, &v, BPF_NOEXIST);
}

SEC("xdp")
int sonde_xdp_observe(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct sonde_pkt p = {};
	struct sonde_flow_state *st;
	struct sonde_event *e;
	__u8 dir = SONDE_DIR_UNKNOWN;
	__u64 now;

	if (!sonde_parse_xdp(data, end, &p))
		return XDP_PASS;
	st = sonde_match(&p, 1, &dir);
	if (!st)
		return XDP_PASS;
	now = bpf_ktime_get_ns();
	__sync_fetch_and_add(&st->xdp_packets, 1);
	st->xdp_last_ns = now;
	sonde_count(SONDE_CNT_XDP_MATCHED);
	sonde_record_seen(st->flow_id, &p, now);
	if (!xdp_events)
		return XDP_PASS;
	e = sonde_reserve();
	if (!e)
		return XDP_PASS;
	e->ts_ns = now;
	e->location = 0;
	e->reason = 0;
	e->flow_id = st->flow_id;
	e->ifindex = ctx->ingress_ifindex;
	e->netns = local_netns;
	e->kind = SONDE_EV_XDP;
	e->direction = dir;
	e->len = (__u32)(end - data);
	sonde_fill_pkt(e, &p);
	sonde_submit(e);
	return XDP_PASS;
}
