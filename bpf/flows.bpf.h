/* Maps and flow matching shared by drop.bpf.c and xdp_observe.bpf.c. The loader creates the maps once
 * (with the drop tracer) and hands the same fds to the XDP object (bpf_map__reuse_fd), so both
 * programs see one flow table, one ring buffer and one lost counter. */
#ifndef SONDE_FLOWS_BPF_H
#define SONDE_FLOWS_BPF_H

#include "drop.h"

#define SONDE_AF_INET 2
#define SONDE_AF_INET6 10
#define SONDE_IPPROTO_ICMP 1
#define SONDE_IPPROTO_TCP 6
#define SONDE_IPPROTO_UDP 17
#define SONDE_IPPROTO_ICMPV6 58

/* Sizes are set by the loader before load (bpf_map__set_max_entries); these are only defaults. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct sonde_flow_key);
	__type(value, struct sonde_flow_state);
} flows SEC(".maps");

/* Flows by local TCP/UDP port alone (SONDE_TIER_PORT). User space mmaps this array and registers a
 * probe by writing its flow id into the port's slot: no bpf() syscall per probe, where the fast path
 * binds thousands of ports a second from sonde's own range. Looked up before the hash's port tier. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SONDE_PORT_FLOWS_SLOTS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct sonde_flow_state);
} port_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct sonde_seen_key);
	__type(value, struct sonde_seen);
} seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SONDE_LOST_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

/* A parsed packet, in the packet's own orientation (s = source). */
struct sonde_pkt {
	__u8 family;
	__u8 proto;
	__u8 icmp_type;
	__u8 tcp_flags;
	__u16 sport;
	__u16 dport;
	__u16 icmp_seq;
	__u16 pad;
	__u32 wire_tag; /* see struct sonde_event */
	__u8 saddr[16];
	__u8 daddr[16];
};

static __always_inline void sonde_count(__u32 slot)
{
	__u64 *n = bpf_map_lookup_elem(&lost, &slot);
	if (n)
		*n += 1; /* per-CPU slot: no atomic needed */
}

static __always_inline void sonde_count_lost(void)
{
	sonde_count(SONDE_LOST_RING);
}

/* Key tiers, most specific first:
 *   SONDE_TIER_EXACT   family, both addresses and ports (ICMP: echo id as local port)
 *   SONDE_TIER_PORT    proto and local port alone (an echo id, a SYN scanner's bound source port)
 *   SONDE_TIER_REMOTE  family, proto, remote address and port, local side zero: every packet to or from
 *                      one service (ICMP: every echo to one host), so a flow can be registered before the
 *                      kernel or the engine has chosen the local port or echo id */
#define SONDE_TIER_EXACT 2
#define SONDE_TIER_PORT 1
#define SONDE_TIER_REMOTE 0

static __always_inline struct sonde_flow_state *sonde_lookup(struct sonde_flow_key *k, int tier,
							   const __u8 *local, const __u8 *remote,
							   __u16 lport, __u16 rport, const struct sonde_pkt *p)
{
	int icmp = p->proto == SONDE_IPPROTO_ICMP || p->proto == SONDE_IPPROTO_ICMPV6;

	if (tier == SONDE_TIER_PORT && (p->proto == SONDE_IPPROTO_TCP || p->proto == SONDE_IPPROTO_UDP)) {
		__u32 slot = (p->proto == SONDE_IPPROTO_UDP ? SONDE_PORT_FLOWS_UDP : 0) + lport;
		struct sonde_flow_state *st = bpf_map_lookup_elem(&port_flows, &slot);

		if (st && st->flow_id)
			return st;
	}
	__builtin_memset(k, 0, sizeof(*k));
	k->proto = p->proto;
	if (tier != SONDE_TIER_REMOTE)
		k->local_port = lport;
	if (tier != SONDE_TIER_PORT) {
		k->family = p->family;
		/* ICMP echo carries one identifier, in sport and dport alike; the key has it as local_port */
		k->remote_port = icmp ? 0 : rport;
		__builtin_memcpy(k->remote, remote, 16);
	}
	if (tier == SONDE_TIER_EXACT)
		__builtin_memcpy(k->local, local, 16);
	return bpf_map_lookup_elem(&flows, k);
}

/* ICMP echo: the identifier stands in for both ports, and the type tells the direction (RFC 792,
 * RFC 4443). Returns the direction of the request/reply or UNKNOWN for other ICMP types. */
static __always_inline int sonde_icmp_dir(const struct sonde_pkt *p)
{
	if (p->proto == SONDE_IPPROTO_ICMP)
		return p->icmp_type == 8 ? SONDE_DIR_EGRESS : p->icmp_type == 0 ? SONDE_DIR_INGRESS : SONDE_DIR_UNKNOWN;
	return p->icmp_type == 128 ? SONDE_DIR_EGRESS : p->icmp_type == 129 ? SONDE_DIR_INGRESS : SONDE_DIR_UNKNOWN;
}

/* Finds the probe flow a packet belongs to: exact 5-tuple first (as a request, then as a reply),
 * then the wildcard by local port / echo id, then by remote service. `only_ingress` is for XDP, which sees replies only. */
static __always_inline struct sonde_flow_state *sonde_match(const struct sonde_pkt *p, int only_ingress, __u8 *dir)
{
	struct sonde_flow_key k;
	struct sonde_flow_state *st;
	int want = SONDE_DIR_UNKNOWN;

	if (p->proto == SONDE_IPPROTO_ICMP || p->proto == SONDE_IPPROTO_ICMPV6) {
		want = sonde_icmp_dir(p);
		if (want == SONDE_DIR_UNKNOWN)
			return 0;
	}
	if (only_ingress && want == SONDE_DIR_EGRESS)
		return 0;
	for (int tier = SONDE_TIER_EXACT; tier >= SONDE_TIER_REMOTE; tier--) {
		if (!only_ingress && want != SONDE_DIR_INGRESS) {
			st = sonde_lookup(&k, tier, p->saddr, p->daddr, p->sport, p->dport, p);
			if (st) {
				*dir = SONDE_DIR_EGRESS;
				return st;
			}
		}
		if (want != SONDE_DIR_EGRESS) {
			st = sonde_lookup(&k, tier, p->daddr, p->saddr, p->dport, p->sport, p);
			if (st) {
				*dir = SONDE_DIR_INGRESS;
				return st;
			}
		}
	}
	return 0;
}

static __always_inline struct sonde_event *sonde_reserve(void)
{
	struct sonde_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		sonde_count_lost();
	return e;
}

/* A wakeup per event costs an irq_work (a self-IPI: several microseconds in a VM), so events are
 * submitted silently and the reader polls on a short timer; it is woken early only once a quarter of the
 * ring is used, so a burst cannot overflow it between two polls. */
static __always_inline void sonde_submit(struct sonde_event *e)
{
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	__u64 size = bpf_ringbuf_query(&events, BPF_RB_RING_SIZE);

	bpf_ringbuf_submit(e, avail > size / 4 ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

static __always_inline void sonde_fill_pkt(struct sonde_event *e, const struct sonde_pkt *p)
{
	e->family = p->family;
	e->proto = p->proto;
	e->sport = p->sport;
	e->dport = p->dport;
	e->icmp_seq = p->icmp_seq;
	e->icmp_type = p->icmp_type;
	e->tcp_flags = p->tcp_flags;
	e->wire_tag = p->wire_tag;
	e->pad2 = 0;
	__builtin_memcpy(e->saddr, p->saddr, 16);
	__builtin_memcpy(e->daddr, p->daddr, 16);
}

#endif
