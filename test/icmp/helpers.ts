// Shared by the ICMP tests: a module with blackbox defaults, a probe context, the CLI runner path.
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import type { ICMPModule, Module } from '../../src/config/types';
import { probeICMP } from '../../src/probers/icmp/probe';
import type { ProbeResult } from '../../src/result';
import { testRuntime } from '../runtime';

export function icmpModule(over: Partial<ICMPModule> = {}): Module {
  const icmp: ICMPModule = {
    preferred_ip_protocol: 'ip4',
    ip_protocol_fallback: true,
    payload_size: 56,
    dont_fragment: false,
    ttl: 0,
    pings: 1,
    interval: 1,
    ...over,
  };
  return { name: 'icmp_test', prober: 'icmp', timeout: 2, icmp } as unknown as Module;
}

/**
 * One icmp probe. The default deadline is generous: a probe that succeeds ends at its last reply,
 * so only a loaded machine ever uses it; tests that expect loss pass a shorter one.
 */
export async function probe(target: string, over: Partial<ICMPModule> = {}, timeoutSeconds = 10): Promise<ProbeResult> {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeoutSeconds * 1000);
  try {
    return await probeICMP(target, icmpModule(over), {
      signal: ctl.signal,
      deadline: performance.now() + timeoutSeconds * 1000,
      logger: pino({ level: 'silent' }),
      runtime: testRuntime,
    });
  } finally {
    clearTimeout(timer);
  }
}

/** dist/test/icmp/ping_cli.js: runs pingCommand(argv) and exits with its code. */
export const PING_CLI = path.join(__dirname, 'ping_cli.js');

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
