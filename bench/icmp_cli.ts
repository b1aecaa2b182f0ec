// Part of icmp_rate: sonde's CLI as a whole process, started as a user types it (`bin/sonde.js ping
// ...`, through its /bin/sh line), against fping in its best form, the same targets and counts
// (`-q -c N -p 0.5 -i 0` over 254 lab addresses, 63,500 echoes by default): wall time, echoes/s,
// CPU seconds and peak RSS of each process under GNU time, Node's own start (`node -e 0`) beside
// them; and the wall time of one `-c 1` call of each.
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { spawnSync } from 'node:child_process';
import { Results } from './lib/figures';
import { fpingBestForm, FPING_BIN, parseFpingSummary, type PingBurst } from './lib/fping';
import { timedRun } from './lib/procs';
import type { Tick } from './lib/progress';
import { fmt, type Target } from './lib/stats';

const CLI = path.join(__dirname, '..', '..', 'bin', 'sonde.js');
// Issue 11: "ICMP at least 1.5x fping in its best form, for the CLI as a whole process".
export const ICMP_TARGET: Target = { of: 'advantage', atLeast: 1.5 };

// The same flags as fping's best form. A sonde ping that refuses a period under 1 ms (before main's
// 0b13463) runs with -p 1 and -t 1000 instead: at -p 1 its timeout (the period, as fping's) lost
// most echoes of a 254-target round then; the report line says which flags ran.
const SAME_FLAGS = ['-p', '0.5', '-i', '0'];
const OLD_FLAGS = ['-p', '1', '-t', '1000', '-i', '0'];

function sondeFlags(target: string): string[] {
  const r = spawnSync(CLI, ['ping', '-q', '-c', '1', ...SAME_FLAGS, target], { encoding: 'utf8', timeout: 20_000 });
  return r.status === 2 && /-p: got "0\.5"/.test(r.stderr) ? OLD_FLAGS : SAME_FLAGS;
}

/** `sonde ping -q -c count FLAGS TARGETS...` as one process (the product's own CLI). */
function sondeCli(targets: readonly string[], count: number, flags: string[]): PingBurst {
  const r = timedRun([CLI, 'ping', '-q', '-c', String(count), ...flags, ...targets], 60_000 + count * targets.length);
  // fping's exit status: 1 when some target did not answer every echo (the loss is reported below).
  if (r.status !== 0 && r.status !== 1) throw new Error(`sonde ping exited with ${r.status}: ${r.stderr.slice(-500)}`);
  const s = parseFpingSummary(r.stderr);
  if (s.sent !== count * targets.length) throw new Error(`sonde ping reported ${s.sent} echoes, expected ${count * targets.length}: ${r.stderr.slice(-300)}`);
  return { sent: s.sent, received: s.received, duplicates: s.duplicates, seconds: r.seconds, cpuSeconds: r.cpuSeconds, maxRssKiB: r.maxRssKiB, rtts: new Float64Array(0) };
}

function wallMs(argv: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited with ${r.status}: ${r.stderr}`);
  return performance.now() - t0;
}

/** Runs interleaved (sonde, fping, sonde, ...) so a slow moment of the machine hits both. */
export function icmpCli(targets: readonly string[], count: number, runs: number, tick: Tick): Results {
  const out = new Results();
  const sonde: PingBurst[] = [];
  const fping: PingBurst[] = [];
  const node: number[] = [];
  const flags = sondeFlags(targets[0]);
  for (let run = 0; run < runs; run++) {
    tick(`CLI run ${run + 1}/${runs}: sonde ping and fping -c ${count}`);
    sonde.push(sondeCli(targets, count, flags));
    fping.push(fpingBestForm(targets, count));
    node.push(wallMs([process.execPath, '-e', '0']) / 1000);
  }
  const what = `${targets.length} addrs x ${count} (${fmt(targets.length * count)} echoes)`;
  const peer = (name: string, xs: number[]) => ({ name, runs: xs });
  out.fig({ name: `sonde ping CLI, whole process, ${what}`, unit: 'echoes/s', runs: sonde.map((b) => b.sent / b.seconds), peer: peer('fping -q -c best form', fping.map((b) => b.sent / b.seconds)), target: ICMP_TARGET });
  out.fig({ name: 'sonde ping CLI wall time', unit: 's', runs: sonde.map((b) => b.seconds), peer: peer('fping', fping.map((b) => b.seconds)) });
  out.fig({ name: 'Node start alone (node -e 0), inside the wall time above', unit: 's', runs: node });
  out.fig({ name: 'sonde ping CLI CPU', unit: 's', runs: sonde.map((b) => b.cpuSeconds), peer: peer('fping', fping.map((b) => b.cpuSeconds)) });
  out.fig({ name: 'sonde ping CLI peak RSS', unit: 'MiB', runs: sonde.map((b) => b.maxRssKiB / 1024), peer: peer('fping', fping.map((b) => b.maxRssKiB / 1024)) });
  out.line(
    `CLI: sonde ping -q -c ${count} ${flags.join(' ')}${flags === OLD_FLAGS ? ' (this sonde refuses -p 0.5)' : ''} against fping -q -c ${count} -p 0.5 -i 0, the same ${targets.length} addrs`,
    `CLI loss: sonde ${sonde.map((b) => `${b.sent - b.received}/${fmt(b.sent)}`).join(', ')}; fping ${fping.map((b) => `${b.sent - b.received}/${fmt(b.sent)}`).join(', ')} (lost/sent per run)`,
  );
  const one = { sonde: [] as number[], fping: [] as number[] };
  for (let i = 0; i < Math.max(3, runs); i++) {
    one.sonde.push(wallMs([CLI, 'ping', '-c', '1', targets[0]]));
    one.fping.push(wallMs([FPING_BIN, '-q', '-c', '1', targets[0]]));
  }
  out.fig({ name: 'sonde ping -c 1 (CLI wall time, Node start included)', unit: 'ms', runs: one.sonde, peer: { name: 'fping -c 1', runs: one.fping } });
  return out;
}
