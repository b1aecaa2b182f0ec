// fping as the ICMP peer, under GNU time for its CPU and peak RSS, in two forms:
//  - best form: one `fping -q -c N -p 0.5 -i 0` over as many targets as its sequence space allows
//    (254 x 250 = 63,500 echoes): how its users run it at its fastest;
//  - chunked: a larger burst split into invocations of at most ~60,000 pings, back to back, with
//    `-C` (every RTT printed, so the peer's p50/p99 come from the same run). fping keeps a sequence
//    map of 65,535 entries reusable only 10 s after use (fping 5.1 seqmap.c; ../../shared/PEERS.md),
//    so this form measures its start-up as much as its speed: reported beside the best form, never
//    instead of it.
import { existsSync } from 'node:fs';
import { TIME_BIN, timedRun } from './procs';

export const FPING_BIN = '/usr/bin/fping';
const MAX_PINGS_PER_RUN = 60_000;
/** fping's sequence space: at most this many pings outstanding (and so in one -c run) */
export const FPING_SEQ_SPACE = 65_535;

export function haveFping(): boolean {
  return existsSync(FPING_BIN) && existsSync(TIME_BIN);
}

export interface PingBurst {
  sent: number;
  received: number;
  duplicates: number;
  seconds: number;
  cpuSeconds: number;
  maxRssKiB: number;
  /** RTTs in seconds, one per reply (empty for the -c form, which prints no RTT per echo) */
  rtts: Float64Array;
}

interface FpingSummary {
  sent: number;
  received: number;
  duplicates: number;
  rttsMs: number[];
}

/** Parses `fping -q -C N` output: "ADDR : 0.05 - 0.04 ..." (one field per ping, "-" when lost). */
export function parseFpingC(stderr: string, count: number): FpingSummary {
  const s: FpingSummary = { sent: 0, received: 0, duplicates: 0, rttsMs: [] };
  for (const line of stderr.split('\n')) {
    const m = /^(\S+)\s+:\s+([-\d. ]+)$/.exec(line.trim());
    if (!m) {
      if (/duplicate/i.test(line)) s.duplicates++;
      continue;
    }
    const fields = m[2].trim().split(/\s+/);
    if (fields.length !== count) throw new Error(`fping printed ${fields.length} results for ${m[1]}, expected ${count}`);
    s.sent += fields.length;
    for (const f of fields) {
      if (f === '-') continue;
      s.received++;
      s.rttsMs.push(Number(f));
    }
  }
  return s;
}

/**
 * Parses the `-q -c N` summary, fping's and `sonde ping`'s alike:
 * "ADDR : xmt/rcv/%loss = 250/250/0%, min/avg/max = ..." (", N duplicates" with sonde).
 */
export function parseFpingSummary(stderr: string): FpingSummary {
  const s: FpingSummary = { sent: 0, received: 0, duplicates: 0, rttsMs: [] };
  for (const line of stderr.split('\n')) {
    const m = /^\S+\s+:\s+xmt\/rcv\/%loss = (\d+)\/(\d+)\/\d+%(?:, (\d+) duplicates)?/.exec(line.trim());
    if (!m) continue;
    s.sent += Number(m[1]);
    s.received += Number(m[2]);
    s.duplicates += Number(m[3] ?? 0);
  }
  return s;
}

// Bounded: a minute plus 1 ms per ping.
const bound = (pings: number) => 60_000 + pings;

/** fping's best form: one `fping -q -c count -p 0.5 -i 0` over `targets` (within its sequence space). */
export function fpingBestForm(targets: readonly string[], count: number): PingBurst {
  if (targets.length * count > FPING_SEQ_SPACE) throw new RangeError(`${targets.length} x ${count} pings exceed fping's ${FPING_SEQ_SPACE} sequence numbers`);
  const r = timedRun([FPING_BIN, '-q', '-c', String(count), '-p', '0.5', '-i', '0', ...targets], bound(count * targets.length));
  const s = parseFpingSummary(r.stderr);
  if (s.sent !== count * targets.length) throw new Error(`fping reported ${s.sent} pings, expected ${count * targets.length}`);
  return { sent: s.sent, received: s.received, duplicates: s.duplicates, seconds: r.seconds, cpuSeconds: r.cpuSeconds, maxRssKiB: r.maxRssKiB, rtts: new Float64Array(0) };
}

/** `probes` echoes spread evenly over `targets` (a multiple of targets.length), in chunks of `-C` runs. */
export function fpingBurst(targets: readonly string[], probes: number): PingBurst {
  const perTarget = probes / targets.length;
  if (!Number.isInteger(perTarget)) throw new RangeError('probes must be a multiple of the number of targets');
  const chunk = Math.max(1, Math.floor(MAX_PINGS_PER_RUN / targets.length));
  const out: PingBurst = { sent: 0, received: 0, duplicates: 0, seconds: 0, cpuSeconds: 0, maxRssKiB: 0, rtts: new Float64Array(0) };
  const rtts: number[] = [];
  for (let done = 0, runs = 0; done < perTarget && runs < 10_000; runs++) {
    const c = Math.min(chunk, perTarget - done);
    const r = timedRun([FPING_BIN, '-q', '-C', String(c), '-p', '0.5', '-i', '0', ...targets], bound(c * targets.length));
    out.seconds += r.seconds;
    out.cpuSeconds += r.cpuSeconds;
    out.maxRssKiB = Math.max(out.maxRssKiB, r.maxRssKiB);
    const s = parseFpingC(r.stderr, c);
    if (s.sent !== c * targets.length) throw new Error(`fping reported ${s.sent} pings, expected ${c * targets.length}`);
    out.sent += s.sent;
    out.received += s.received;
    out.duplicates += s.duplicates;
    for (const x of s.rttsMs) rtts.push(x / 1000);
    done += c;
  }
  out.rtts = Float64Array.from(rtts);
  return out;
}
