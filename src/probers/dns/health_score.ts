// The composite 0-100 health score of a DNS server (README "DNS server health"), from what a window
// of probes or one `sonde dns-health` battery saw. One formula, here only:
//
//   score = 0 when nothing was answered, else
//   100 * (0.50 * answered + 0.20 * speed + 0.15 * edns + 0.15 * encrypted)
//
//   answered   share of plain queries (UDP, TCP) answered with NOERROR or NXDOMAIN
//   speed      1 at a p95 latency of 10 ms or less, 0 at 1 s or more, log-linear between
//              (100 ms: 0.5), so a slow server loses points on a scale users feel
//   edns       share of EDNS checks passed (EDNS0 answered, BADVERS to version 1, unknown option
//              ignored), as the DNS Flag Day / ISC EDNS compliance tests check them
//   encrypted  share of DoT / DoH checks passed
//
// A part that was not checked (no EDNS or no encrypted check ran) is left out and the weights of
// the others are rescaled to sum to 1: a server is not marked down for what was not asked.
//
// ECS adoption and DNSSEC (AD) are reported beside the score, not in it: neither is a fault of a
// server that does not offer it.

export interface HealthInputs {
  /** 0..1 */
  answered: number;
  /** seconds; undefined when nothing was answered */
  p95Latency?: number;
  /** 0..1; undefined: no EDNS check ran */
  edns?: number;
  /** 0..1; undefined: no DoT / DoH check ran */
  encrypted?: number;
}

/** 1 at <= 10 ms, 0 at >= 1 s, log-linear between. */
export function speedScore(seconds: number): number {
  if (seconds <= 0.01) return 1;
  return Math.max(0, Math.min(1, 1 - Math.log10(seconds / 0.01) / 2));
}

export function healthScore(h: HealthInputs): number {
  if (!(h.answered > 0) || h.p95Latency === undefined) return 0;
  const parts: Array<[number, number]> = [
    [0.5, h.answered],
    [0.2, speedScore(h.p95Latency)],
  ];
  if (h.edns !== undefined) parts.push([0.15, h.edns]);
  if (h.encrypted !== undefined) parts.push([0.15, h.encrypted]);
  const weight = parts.reduce((w, [p]) => w + p, 0);
  const sum = parts.reduce((s, [p, v]) => s + p * Math.max(0, Math.min(1, v)), 0);
  return Math.round((100 * sum) / weight);
}
