// Scenario syn_rate (issue 9): a SYN scan of 32,768 lab addresses × 32 ports = 1,048,576 probes
// over veth, sonde's engine against zmap, masscan and `nmap -sS` (a smaller slice) in the same run:
// packets/s, wall time, accuracy against the known truth (2 of the 32 ports listen on every
// address), CPU and peak RSS. Also the ceiling: the same send path with the target dropping
// every packet in XDP (bpf/xdp_drop.bpf.c), so nothing answers and nothing is received.
// Each sonde scan runs in a child process of its own, so CPU and peak RSS are that scan's alone.
import { fork, spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { NativeSynEngineImpl } from '../src/native/syn';
import type { ScanSummary } from '../src/native/syn_types';
import { Lab } from '../test/lab/netns';
import { waitFor } from '../test/lab/wait';
import { Results } from './lib/figures';
import { timedRun } from './lib/procs';
import type { Tick } from './lib/progress';
import { fmt, median, type Figure } from './lib/stats';

export interface SynRateOptions {
  runs: number;
  /** sonde's --rate: above what the machine can send, so the send path is what is measured */
  rate: number;
  /** addresses scanned (a power of two; default ADDRS) */
  addrs?: number;
  progress?: Tick;
}

// Lab (RFC 2544 range): host 198.18.127.1 -- 198.18.127.2 target namespace, which answers for all
// of 198.19.0.0/17 through one local route (AnyIP: no address per target to configure).
const PREFIX = 'sdbsyn';
const HOST_IF = `${PREFIX}h`;
const TARGET_IF = `${PREFIX}t`;
const HOST_ADDR = '198.18.127.1';
const TARGET_LINK = '198.18.127.2';
const RANGE = '198.19.0.0/17';
const FIRST = '198.19.0.0';
/** the full scan's addresses (--quick scans fewer, a power of two too: 198.19.0.0/21 for 2,048) */
export const ADDRS = 32768;

function scanRange(addrs: number): string {
  if (!Number.isInteger(Math.log2(addrs)) || addrs > ADDRS) throw new RangeError(`addrs ${addrs}: expected a power of two up to ${ADDRS}`);
  return `198.19.0.0/${32 - Math.log2(addrs)}`;
}
const PORT_LO = 8000;
const PORTS = 32;
const OPEN = [8005, 8017];
const NMAP_HOST = '198.19.1.1';
const XDP_OBJ = path.join(__dirname, '..', '..', 'build', 'bpf', 'xdp_drop.bpf.o');

interface SondeScan {
  summary: ScanSummary;
  open: number;
  wrongOpen: number;
  seconds: number;
  cpuSeconds: number;
  maxRssKiB: number;
}

interface PeerRun {
  pps: number;
  seconds: number;
  exact: boolean;
  detail: string;
  cpuSeconds: number;
  maxRssKiB: number;
}

const LISTENER = `
const net = require('net');
let left = ${OPEN.length};
for (const port of ${JSON.stringify(OPEN)}) net.createServer((c) => c.destroy()).listen({ host: '0.0.0.0', port, backlog: 65535 }, () => { if (--left === 0) console.log('ready'); });`;

async function buildLab(): Promise<Lab> {
  const lab = new Lab(PREFIX);
  try {
    lab.addNs('t');
    lab.link({ ns: null, ifname: HOST_IF, addrs: [`${HOST_ADDR}/24`] }, { ns: 't', ifname: TARGET_IF, addrs: [`${TARGET_LINK}/24`] });
    lab.exec('t', ['ip', 'route', 'add', 'local', RANGE, 'dev', 'lo']);
    lab.route(null, RANGE, TARGET_LINK);
    // The target answers every SYN: SYN cookies instead of a full queue, a long backlog.
    lab.sysctl('t', 'net.ipv4.tcp_syncookies', '1');
    lab.sysctl('t', 'net.core.somaxconn', '65535');
    lab.sysctl('t', 'net.ipv4.tcp_max_syn_backlog', '65535');
    const child = lab.spawn('t', [process.execPath, '-e', LISTENER]);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    if (!(await waitFor(() => out.includes('ready') || child.exitCode !== null, 30_000)) || !out.includes('ready')) throw new Error('bench listeners did not start');
    return lab;
  } catch (err) {
    lab.close();
    throw err;
  }
}

/** One scan through a fresh engine (in the child process). */
async function sondeScan(rate: number, addrs: number): Promise<SondeScan> {
  const engine = new NativeSynEngineImpl();
  const seen = new Set<number>();
  let wrongOpen = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  try {
    const h = engine.scan(
      { runs: [{ family: 4, first: FIRST, count: addrs }], ports: [[PORT_LO, PORT_LO + PORTS - 1]], rate, retries: 1, waitMs: 1000, maxRuntimeMs: 120_000 },
      {
        onHits(hits) {
          for (const x of hits) {
            const [, , c, d] = x.address.split('.').map(Number);
            if (x.state !== 'open' || !OPEN.includes(x.port)) wrongOpen++;
            seen.add(((c << 8) | d) * 65536 + x.port);
          }
        },
      },
    );
    const summary = await h.done;
    const cpu = process.cpuUsage(cpu0);
    return { summary, open: seen.size, wrongOpen, seconds: (performance.now() - t0) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6, maxRssKiB: process.resourceUsage().maxRSS };
  } finally {
    engine.close();
  }
}

/**
 * sendPath: the engine's send path (SONDE_SYN_SEND): 'ring' its default (PACKET_TX_RING), and the
 * alternatives measured beside it: 'mmsg' (sendmmsg on a packet socket), 'raw' (sendmmsg on IP raw sockets).
 */
function runChild(rate: number, addrs: number, sendPath: 'ring' | 'mmsg' | 'raw' = 'ring'): Promise<SondeScan> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, SONDE_SYN_SEND: sendPath };
    const child = fork(__filename, ['--sonde-scan'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env });
    let result: SondeScan | undefined;
    const guard = setTimeout(() => child.pid && process.kill(child.pid, 'SIGKILL'), 180_000);
    child.on('message', (m: { result?: SondeScan; error?: string }) => {
      if (m.error) reject(new Error(`sonde scan: ${m.error}`));
      result = m.result;
    });
    child.on('exit', (code) => {
      clearTimeout(guard);
      if (result) resolve(result);
      else reject(new Error(`sonde scan child exited with ${code} and no result`));
    });
    child.send({ rate, addrs });
  });
}

function have(bin: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;
}

function targetMac(lab: Lab): string {
  return lab.exec('t', ['cat', `/sys/class/net/${TARGET_IF}/address`]).trim();
}

/**
 * zmap scans one port per run: -P 32 probes to port 8005 of each address, the same 1,048,576 SYNs.
 * Its rate: the SYNs over its wall time minus its 1 s cooldown (its status rows count targets, not
 * probes, in whole seconds, too coarse for a 10 s run); its start-up is thus counted against it.
 */
function zmapRun(lab: Lab, addrs: number): PeerRun | undefined {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-bench-zmap-'));
  const empty = path.join(dir, 'empty');
  writeFileSync(empty, '');
  const out = path.join(dir, 'out.csv');
  const r = timedRun(['zmap', '-q', '-p', String(OPEN[0]), '-P', String(PORTS), '-i', HOST_IF, '-S', HOST_ADDR, '-G', targetMac(lab), '-r', '4000000', '-c', '1', '-C', empty, '-b', empty, '-O', 'csv', '-f', 'saddr', '-o', out, scanRange(addrs)], 120_000);
  const lines = existsSync(out) ? readFileSync(out, 'utf8').trim().split('\n').filter((l) => /^\d/.test(l)) : [];
  rmSync(dir, { recursive: true, force: true });
  if (r.status !== 0) {
    process.stderr.write(`bench: zmap exited with ${r.status}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}\n`);
    return undefined;
  }
  const unique = new Set(lines).size;
  return { pps: (addrs * PORTS) / Math.max(0.001, r.seconds - 1), seconds: r.seconds, exact: unique === addrs, detail: `${unique}/${addrs} open addresses`, cpuSeconds: r.cpuSeconds, maxRssKiB: r.maxRssKiB };
}

/**
 * masscan: the same 32 ports of the same addresses. masscan can hang after its scan until a packet
 * arrives on the adapter (../shared/PEERS.md): a UDP datagram to the target's link address every
 * 300 ms (answered with a port unreachable) wakes it. Killed by PID if it outlives its bound.
 */
async function masscanRun(lab: Lab, addrs: number): Promise<PeerRun> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-bench-masscan-'));
  const out = path.join(dir, 'out.txt');
  const tfile = path.join(dir, 'time');
  const argv = ['masscan', scanRange(addrs), '-p', `${PORT_LO}-${PORT_LO + PORTS - 1}`, '--rate', '4000000', '--adapter', HOST_IF, '--adapter-ip', HOST_ADDR, '--router-mac', targetMac(lab), '--wait', '1', '-oL', out];
  const t0 = performance.now();
  const child = spawn('/usr/bin/time', ['-f', '%U %S %M', '-o', tfile, ...argv], { stdio: 'ignore' });
  const waker = dgram.createSocket('udp4');
  const tick = setInterval(() => waker.send(Buffer.from('wake'), 9, TARGET_LINK), 300);
  const guard = setTimeout(() => {
    // GNU time does not pass signals on: end masscan itself, then time.
    for (const line of spawnSync('ps', ['-o', 'pid=', '--ppid', String(child.pid)], { encoding: 'utf8' }).stdout.split('\n')) {
      if (Number(line) > 0) process.kill(Number(line), 'SIGKILL');
    }
  }, 120_000);
  await new Promise<void>((r) => child.once('exit', () => r()));
  clearTimeout(guard);
  clearInterval(tick);
  waker.close();
  const seconds = (performance.now() - t0) / 1000;
  const [u, st, m] = existsSync(tfile) ? readFileSync(tfile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number) : [NaN, NaN, NaN];
  const lines = existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter((l) => l.startsWith('open')) : [];
  rmSync(dir, { recursive: true, force: true });
  const unique = new Set(lines.map((l) => l.split(' ').slice(2, 4).join(' '))).size;
  const want = addrs * OPEN.length;
  return { pps: (addrs * PORTS) / Math.max(0.001, seconds - 1), seconds, exact: unique === want, detail: `${unique}/${want} open pairs (rate: probes / (wall - wait))`, cpuSeconds: u + st, maxRssKiB: m };
}

/** nmap -sS -T5 of all 65,535 ports of one lab address. */
function nmapRun(): PeerRun {
  const r = timedRun(['nmap', '-sS', '-T5', '-n', '-Pn', '-p-', '-oG', '-', NMAP_HOST], 120_000);
  const open = (/Ports: (.*)$/m.exec(r.stdout)?.[1] ?? '').split(',').filter((p) => p.includes('/open/')).map((p) => Number(p.trim().split('/')[0]));
  const exact = open.length === OPEN.length && OPEN.every((p) => open.includes(p));
  return { pps: 65535 / r.seconds, seconds: r.seconds, exact, detail: `open ${open.join(',')}`, cpuSeconds: r.cpuSeconds, maxRssKiB: r.maxRssKiB };
}

function exact(s: SondeScan, addrs: number): boolean {
  const n = addrs * PORTS;
  return s.open === addrs * OPEN.length && s.wrongOpen === 0 && s.summary.closed === n - addrs * OPEN.length && s.summary.validated === n && s.summary.duplicates >= 0;
}

export async function synRate(opts: SynRateOptions): Promise<Results> {
  const out = new Results();
  if (process.getuid?.() !== 0) return out.line('syn_rate: skipped: needs root (network namespaces, raw sockets, nftables)');
  const addrs = opts.addrs ?? ADDRS;
  const tick = opts.progress ?? (() => undefined);
  const lab = await buildLab();
  const items: Array<string | Figure> = [];
  try {
    // Warm-up: resolves the lab neighbour and checks the lab answers as it should.
    const warm = await runChild(100_000, 256);
    if (!exact(warm, 256)) throw new Error(`lab not answering as expected: ${JSON.stringify(warm)}`);
    const sonde: SondeScan[] = [];
    const raw: SondeScan[] = [];
    const mmsg: SondeScan[] = [];
    const zmap: PeerRun[] = [];
    const masscan: PeerRun[] = [];
    const nmap: PeerRun[] = [];
    for (let run = 0; run < opts.runs; run++) {
      tick(`run ${run + 1}/${opts.runs}: sonde (3 send paths), zmap, masscan, nmap`, run / (opts.runs + 1));
      sonde.push(await runChild(opts.rate, addrs));
      mmsg.push(await runChild(opts.rate, addrs, 'mmsg'));
      raw.push(await runChild(opts.rate, addrs, 'raw'));
      const z = have('zmap') ? zmapRun(lab, addrs) : undefined;
      if (z) zmap.push(z);
      if (have('masscan')) masscan.push(await masscanRun(lab, addrs));
      if (have('nmap')) nmap.push(nmapRun());
    }
    // Ceiling: nothing answers (XDP drop on the target's veth).
    const ceiling: SondeScan[] = [];
    if (existsSync(XDP_OBJ)) {
      tick('ceiling: the target drops in XDP', opts.runs / (opts.runs + 1));
      lab.exec('t', ['ip', 'link', 'set', 'dev', TARGET_IF, 'xdpdrv', 'obj', XDP_OBJ, 'sec', 'xdp']);
      try {
        for (let run = 0; run < opts.runs; run++) ceiling.push(await runChild(opts.rate, addrs));
      } finally {
        lab.exec('t', ['ip', 'link', 'set', 'dev', TARGET_IF, 'xdpdrv', 'off'], { allowFail: true });
      }
    }
    const n = addrs * PORTS;
    const pps = (xs: SondeScan[]) => xs.map((s) => s.summary.packetsPerSecond);
    items.push(
      `lab: ${fmt(addrs)} addresses (AnyIP ${scanRange(addrs)}) × ${PORTS} ports (${OPEN.join(', ')} listen) = ${fmt(n)} SYN over veth; sonde --rate ${fmt(opts.rate)}, retries 1 (sent only to silent pairs), wait 1 s`,
      ({ name: 'sonde SYN scan', unit: 'SYN/s', runs: pps(sonde), peer: { name: 'zmap', runs: zmap.map((z) => z.pps) } }),
      ({ name: 'sonde SYN scan', unit: 'SYN/s', runs: pps(sonde), peer: { name: 'masscan', runs: masscan.map((z) => z.pps) } }),
      ({ name: 'sonde send path PACKET_TX_RING', unit: 'SYN/s', runs: pps(sonde), peer: { name: 'sendmmsg on a packet socket', runs: pps(mmsg) } }),
      ({ name: 'sonde send path PACKET_TX_RING', unit: 'SYN/s', runs: pps(sonde), peer: { name: 'sendmmsg on IP raw sockets', runs: pps(raw) } }),
      `sonde accuracy of the alternatives: packet sendmmsg ${mmsg.map((s) => (exact(s, addrs) ? 'exact' : 'WRONG')).join(', ')}; raw sendmmsg ${raw.map((s) => (exact(s, addrs) ? 'exact' : 'WRONG')).join(', ')}`,
      ({ name: 'sonde wall time', unit: 's', runs: sonde.map((s) => s.seconds), peer: { name: 'zmap', runs: zmap.map((z) => z.seconds) } }),
      `sonde accuracy: ${sonde.map((s) => `${exact(s, addrs) ? 'exact' : 'WRONG'} (open ${fmt(s.open)}, closed ${fmt(s.summary.closed)}, sent ${fmt(s.summary.sent)}, received ${fmt(s.summary.received)}, validated ${fmt(s.summary.validated)}, duplicates ${s.summary.duplicates}, foreign ${s.summary.foreign})`).join('; ')}`,
      `zmap accuracy: ${zmap.map((z) => `${z.exact ? 'exact' : 'WRONG'} (${z.detail})`).join('; ') || 'not installed'}`,
      `masscan accuracy: ${masscan.map((z) => `${z.exact ? 'exact' : 'WRONG'} (${z.detail})`).join('; ') || 'not installed'}`,
      ({ name: 'sonde CPU', unit: 's', runs: sonde.map((s) => s.cpuSeconds), peer: { name: 'zmap', runs: zmap.map((z) => z.cpuSeconds) } }),
      ({ name: 'sonde peak RSS', unit: 'MiB', runs: sonde.map((s) => s.maxRssKiB / 1024), peer: { name: 'zmap', runs: zmap.map((z) => z.maxRssKiB / 1024) } }),
      nmap.length
        ? `nmap -sS -T5 -p- ${NMAP_HOST}: median ${median(nmap.map((x) => x.seconds)).toFixed(2)} s (${fmt(median(nmap.map((x) => x.pps)))} ports/s), ${nmap.map((x) => (x.exact ? 'exact' : `WRONG (${x.detail})`)).join(', ')}; sonde does ${fmt(n)} probes in ${median(sonde.map((s) => s.seconds)).toFixed(2)} s`
        : 'nmap not installed',
      ceiling.length ? ({ name: 'ceiling (target drops in XDP, nothing answers)', unit: 'SYN/s', runs: pps(ceiling) }) : 'ceiling: build/bpf/xdp_drop.bpf.o missing',
    );
    if (sonde.some((s) => !exact(s, addrs))) items.push('sonde: WARNING: a run was not exact');
    for (const x of items) {
      if (typeof x === 'string') out.line(x);
      else out.fig(x);
    }
    return out;
  } finally {
    lab.close();
  }
}

// Child mode: one scan, result over IPC.
if (process.argv.includes('--sonde-scan')) {
  process.once('message', (m: { rate: number; addrs: number }) => {
    sondeScan(m.rate, m.addrs).then(
      (result) => process.send?.({ result }, () => process.exit(0)),
      (err: Error) => process.send?.({ error: err.stack ?? err.message }, () => process.exit(1)),
    );
  });
}
