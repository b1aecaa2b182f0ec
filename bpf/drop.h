/* Structs shared by drop.bpf.c, xdp_observe.bpf.c and native/bpf_loader.cc. Fixed-width types only;
 * the includer provides __u8..__u64 (vmlinux.h in BPF, <linux/types.h> in C++). The native side checks
 * sizes and offsets with static_assert, so any change here must be made on both sides at once. */
#ifndef SONDE_BPF_DROP_H
#define SONDE_BPF_DROP_H

/* A probe flow as seen from the probe host. Exact keys carry the family and both addresses; wildcard
 * keys (family 0, addresses and remote_port zero) match on protocol and local port alone: an ICMP echo
 * id, or a bound source port (a SYN scanner's range); remote keys (local address and local_port zero)
 * match every packet to or from one remote address and port (ICMP: one host), for flows registered
 * before their local port or echo id is known. Ports are in host byte order. */
struct sonde_flow_key {
	__u8 family; /* AF_INET (2), AF_INET6 (10), or 0 for a wildcard key */
	__u8 proto; /* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, IPPROTO_ICMPV6 */
	__u16 local_port; /* ICMP: echo identifier */
	__u16 remote_port; /* ICMP: 0 */
	__u16 pad;
	__u8 local[16]; /* IPv4 in the first 4 bytes */
	__u8 remote[16];
};

/* Per-flow state, updated in place by both programs. */
struct sonde_flow_state {
	__u32 flow_id; /* chosen by user space, echoed in events */
	__u32 pad;
	__u64 xdp_packets; /* replies seen at XDP ingress, before the stack */
	__u64 xdp_last_ns; /* bpf_ktime_get_ns() of the last one */
	__u64 drops; /* kfree_skb events matched to this flow */
};

enum sonde_event_kind {
	SONDE_EV_DROP = 1, /* skb freed with a drop reason (tracepoint skb:kfree_skb) */
	SONDE_EV_XDP = 2, /* a reply of a probe flow reached the NIC (XDP ingress) */
};

enum sonde_direction {
	SONDE_DIR_UNKNOWN = 0,
	SONDE_DIR_INGRESS = 1, /* towards the probe host: a reply */
	SONDE_DIR_EGRESS = 2, /* from the probe host: a request */
};

struct sonde_event {
	__u64 ts_ns; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u64 location; /* kernel text address that freed the skb (0 for XDP) */
	__u32 reason; /* enum skb_drop_reason of the running kernel (0 for XDP) */
	__u32 flow_id; /* 0 when the packet matched no probe flow (the `all` knob) */
	__u32 ifindex;
	__u32 netns; /* inode of the network namespace, as in /proc/PID/ns/net */
	__u8 kind; /* enum sonde_event_kind */
	__u8 direction; /* enum sonde_direction */
	__u8 family; /* AF_INET, AF_INET6, 0 when the packet was not parsed */
	__u8 proto;
	__u16 sport; /* host byte order; ICMP: echo identifier */
	__u16 dport;
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 icmp_seq; /* ICMP echo sequence number */
	__u8 icmp_type;
	__u8 tcp_flags;
	__u32 len; /* skb->len or XDP frame length */
	/* What tells the probes of one flow apart on the wire when ports cannot: the TCP sequence number,
	 * else the IPv4 identification (a trace's UDP probes, RFC 791); 0 for IPv6 non-TCP. */
	__u32 wire_tag;
	__u32 pad2;
};

/* Replies seen by the XDP observer, per probe, so no event per reply has to reach user space: the
 * classifier looks a lost probe up here. wire is an ICMP echo's id << 16 | sequence, 0 for other flows
 * (one entry per flow). The map is an LRU hash: bounded, the oldest entries are forgotten first. */
struct sonde_seen_key {
	__u32 flow_id;
	__u32 wire;
};

struct sonde_seen {
	__u64 first_ns; /* bpf_ktime_get_ns() of the first reply: compared with drop events' ts_ns */
	__u64 last_ns;
	__u64 packets;
};

/* The `port_flows` array: one struct sonde_flow_state per local TCP port, then one per UDP port
 * (index SONDE_PORT_FLOWS_UDP + port). flow_id 0: no flow on that port. */
#define SONDE_PORT_FLOWS_UDP 65536
#define SONDE_PORT_FLOWS_SLOTS (2 * 65536)

/* Slots of the per-CPU `lost` counter array: ring buffer reservations that failed (ring full), and
 * replies of probe flows the XDP observer matched. */
#define SONDE_LOST_RING 0
#define SONDE_CNT_XDP_MATCHED 1
#define SONDE_LOST_SLOTS 2

#endif
