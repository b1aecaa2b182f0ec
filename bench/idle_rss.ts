// Scenario `idle_rss`: resident memory of the default daemon (`npm start`: the built-in config, no
// flags) once it is ready and has idled 5 s, and (not with --quick) one start left idle for 3
// minutes, sampled every 5 s: V8 keeps garbage until a major GC, and after a minute or two of
// probing node's own hot helpers bring TurboFan's code in, so the later figure is the one an
// operator sees and the verdict is on the higher of the two. Against the 60 MB target and
// blackbox_exporter's idle RSS in the same run (Debian's /etc/prometheus/blackbox.yml on loopback).
// VmRSS from /proc/PID/status; medians over `runs` starts; every process is killed by its PID.
import { existsSync, readFileSync } from 'node:fs';
import { startDaemon } from '../test/lab/daemon';
import { BLACKBOX_BIN, startBlackbox } from './lib/procs';
import { fmt, median, spread } from './lib/stats';

export const IDLE_RSS_TARGET_MB = 60;
const IDLE_MS = 5000;
const BLACKBOX_CONFIG = '/etc/prometheus/blackbox.yml';
// A fixture when Debian's file is absent: blackbox's own example module.
const FALLBACK_CONFIG = 'modules:\n  http_2xx:\n    prober: http\n';

/** VmRSS of a live process, in MB (10^6 bytes: the target's unit). */
export function vmRSSMB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return (Number(m[1]) * 1024) / 1e6;
}

const idle = () => new Promise((r) => setTimeout(r, IDLE_MS));

// Node parses the bundle NODE_EXTRA_CA_CERTS names before any JavaScript runs (this sandbox sets it
// to Debian's whole bundle: ~1.6 MB resident). Where it is set, the daemon is also measured
// without it, as on a host that does not set it; the verdict is on the environment as it is.
const EXTRA_CA = process.env.NODE_EXTRA_CA_CERTS;

const LONG_MS = 180_000;
const SAMPLE_MS = 5000;

/** VmRSS at ready + 5 s; with `long`, the samples every 5 s from then to ready + 3 min as well. */
async function sondeIdle(env: Record<string, string> = {}, long?: (mb: number, fraction: number) => void): Promise<number> {
  const d = await startDaemon([], env);
  try {
    await idle();
    const first = vmRSSMB(d.child.pid!);
    for (let t = IDLE_MS + SAMPLE_MS; long && t <= LONG_MS; t += SAMPLE_MS) {
      await new Promise((r) => setTimeout(r, SAMPLE_MS));
      long(vmRSSMB(d.child.pid!), t / LONG_MS);
    }
    return first;
  } finally {
    d.child.kill('SIGTERM');
    await Promise.race([d.exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (d.child.exitCode === null) d.child.kill('SIGKILL');
  }
}

async function blackboxIdle(): Promise<number | undefined> {
  const bb = await startBlackbox(existsSync(BLACKBOX_CONFIG) ? readFileSync(BLACKBOX_CONFIG, 'utf8') : FALLBACK_CONFIG);
  if (!bb) return undefined;
  try {
    await idle();
    return vmRSSMB(bb.proc.child.pid!);
  } finally {
    bb.proc.stop();
  }
}

export async function idleRSS(opts: { runs: number; long: boolean; progress?: (label: string, fraction?: number) => void }): Promise<string[]> {
  const sonde: number[] = [];
  const bare: number[] = [];
  const peer: number[] = [];
  for (let i = 0; i < opts.runs; i++) {
    opts.progress?.(`idle_rss: start ${i + 1}/${opts.runs}`, i / opts.runs);
    sonde.push(await sondeIdle());
    // An empty value is what Node reads as unset (startDaemon's env is merged over this process's).
    if (EXTRA_CA) bare.push(await sondeIdle({ NODE_EXTRA_CA_CERTS: '' }));
    const b = await blackboxIdle();
    if (b !== undefined) peer.push(b);
  }
  const long: number[] = [];
  if (opts.long) await sondeIdle({}, (mb, f) => (long.push(mb), opts.progress?.('idle_rss: 3 minutes idle', f)));
  const m = median(sonde);
  const worst = Math.max(m, ...long);
  const verdict = worst <= IDLE_RSS_TARGET_MB ? 'meets' : 'misses';
  const lines = [`idle RSS of the default daemon, ready + ${IDLE_MS / 1000} s: median ${fmt(m)} MB (${spread(sonde)} over ${sonde.length} starts)`];
  if (long.length > 0) lines.push(`one start idle for ${LONG_MS / 60_000} minutes, every ${SAMPLE_MS / 1000} s: ${fmt(long[long.length - 1])} MB at the end, ${fmt(Math.min(...long))}..${fmt(Math.max(...long))} MB over the samples`);
  lines.push(`${verdict} the ${IDLE_RSS_TARGET_MB} MB target (${fmt(worst)} MB at most)`);
  if (bare.length > 0) lines.push(`the same without NODE_EXTRA_CA_CERTS (here ${EXTRA_CA}): median ${fmt(median(bare))} MB (${spread(bare)})`);
  if (peer.length > 0) lines.push(`idle RSS of blackbox_exporter (${BLACKBOX_CONFIG}): median ${fmt(median(peer))} MB (${spread(peer)}); ratio ${(m / median(peer)).toFixed(2)}x`);
  else lines.push(`blackbox_exporter is not installed (${BLACKBOX_BIN}): no ratio`);
  return lines;
}
