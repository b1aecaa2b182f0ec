// fping as the ICMP peer: runs `fping -q -C N -p 0.5 -i 0` (-C is -c with every RTT printed, so
// the peer's p50/p99 come from the same run) under GNU time for its CPU and peak RSS.
// fping keeps a sequence map of 65,535 entries that are reusable only 10 s after use (fping 5.1
// seqmap.c; ../../shared/PEERS.md), so a larger burst is split into invocations of at most ~60,000
// pings, run back to back; the rate is all pings over the wall time of all invocations.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

export const FPING_BIN = '/usr/bin/fping';
const TIME_BIN = '/usr/bin/time';
const MAX_PINGS_PER_RUN = 60_000;

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
  /** RTTs in seconds, one per reply */
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

/** `probes` echoes, spread evenly over `targets` (probes must be a multiple of targets.length). */
export function fpingBurst(targets: readonly string[], probes: number): PingBurst {
  const perTarget = probes / targets.length;
  if (!Number.isInteger(perTarget)) throw new RangeError('probes must be a multiple of the number of targets');
  const chunk = Math.max(1, Math.floor(MAX_PINGS_PER_RUN / targets.length));
  const out: PingBurst = { sent: 0, received: 0, duplicates: 0, seconds: 0, cpuSeconds: 0, maxRssKiB: 0, rtts: new Float64Array(0) };
  const rtts: number[] = [];
  for (let done = 0, runs = 0; done < perTarget && runs < 10_000; runs++) {
    const c = Math.min(chunk, perTarget - done);
    const t0 = performance.now();
    const r = spawnSync(TIME_BIN, ['-f', 'SONDE_TIME %e %U %S %M', FPING_BIN, '-q', '-C', String(c), '-p', '0.5', '-i', '0', ...targets], {
      encoding: 'utf8',
      timeout: 60_000 + c * targets.length, // bounded: a minute plus 1 ms per ping
      maxBuffer: 64 << 20,
    });
    out.seconds += (performance.now() - t0) / 1000;
    if (r.error) throw new Error(`fping: ${r.error.message}`);
    const tm = /SONDE_TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(r.stderr);
    if (!tm) throw new Error(`fping failed (status ${r.status}): ${r.stderr.slice(-500)}`);
    out.cpuSeconds += Number(tm[2]) + Number(tm[3]);
    out.maxRssKiB = Math.max(out.maxRssKiB, Number(tm[4]));
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
