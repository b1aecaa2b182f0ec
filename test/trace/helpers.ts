// Shared by the trace tests: runs `sonde trace` as a separate process (the CLI end to end, exit
// code included) and returns its parsed --json output.
import { spawnSync } from 'node:child_process';
import path from 'node:path';

export const SONDE = path.resolve(__dirname, '..', '..', '..', 'bin', 'sonde.js');

export interface TraceJson {
  target: string;
  address: string;
  proto: string;
  reached: boolean;
  multipath: boolean;
  pathHash: number;
  hops: Array<{
    ttl: number;
    addresses: string[];
    multipath: boolean;
    sent: number;
    received: number;
    loss: number;
    rtt: { min: number; median: number; mean: number; max: number; stddev: number } | null;
    last: number | null;
    rate_limited: boolean;
  }>;
}

export function sondeTrace(args: string[], timeoutMs = 120_000): { status: number | null; stdout: string; stderr: string; json?: TraceJson } {
  const r = spawnSync(process.execPath, [SONDE, 'trace', ...args], { encoding: 'utf8', timeout: timeoutMs });
  let json: TraceJson | undefined;
  if (args.includes('--json') && r.stdout.trim().startsWith('{')) json = JSON.parse(r.stdout) as TraceJson;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, json };
}

/**
 * Seconds a lab probe waits for its answer: answers take microseconds here, so this only bounds a
 * loaded machine (rounds are pipelined, so a lost probe costs one timeout at the end, not per round).
 */
export const PROBE_TIMEOUT = 5;

/** The flags every lab trace uses: fast rounds, a generous timeout, a small TTL window. */
/** Fast rounds, for the labs whose routers answer at the test's pace (unlimitIcmpErrors): no pacing under the kernel's limits. */
export function fast(target: string, proto: string, extra: string[] = []): string[] {
  return [target, '--proto', proto, '--max-ttl', '8', '--interval', '0.02', '--timeout', String(PROBE_TIMEOUT), '--hop-ratelimit', '0', '--json', ...(target.includes(':') ? ['-6'] : []), ...extra];
}
