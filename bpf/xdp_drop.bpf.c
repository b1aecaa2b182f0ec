// SPDX-License-Identifier: GPL-2.0
/* Drops every packet at XDP: the benchmark's ceiling target (bench/syn_rate.ts attaches it to the lab
 * target's veth), so the scanner's send path is measured with no answering stack behind it. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int sonde_xdp_drop(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_DROP;
}
