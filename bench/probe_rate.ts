// Scenario: http_2xx and tcp_connect probes per second against a local nginx, fresh connection per
// probe, at the same concurrency for everyone: blackbox_exporter's /probe (the peer), sonde's
// /probe, and sonde's continuous mode (a task whose targets are due faster than it can probe).
// probe_count (bench/probe_count.ts) runs the same set-up for a fixed number of probes.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { get, metric, startDaemon, type RunningDaemon } from '../test/lab/daemon';
import { continuousConfig, continuousRate } from './lib/continuous';
import { Results } from './lib/figures';
import { loopbackAddresses, startBlackbox, startNginx, type Proc } from './lib/procs';
import type { Tick } from './lib/progress';
import { haveWrk, wrkFreshConnections, wrkProbe } from './lib/wrk';

export const MODULES = `modules:
  http_2xx:
    prober: http
    timeout: 5s
    http:
      preferred_ip_protocol: ip4
  tcp_connect:
    prober: tcp
    timeout: 5s
    tcp:
      preferred_ip_protocol: ip4
`;

export interface ProbeRateOptions {
  runs: number;
  seconds: number;
  concurrency: number;
  progress?: Tick;
}

// Targets are due every INTERVAL, so demand (targets / interval) stays above what any prober here
// reaches: the rate measured is sonde's capacity, not the plan's.
export const INTERVAL = 0.1;
export const TARGETS = 5000;

export interface ProbeCase {
  module: 'http_2xx' | 'tcp_connect';
  /** the /probe target */
  target: string;
  /** target i of the continuous task */
  continuousTarget: (i: number) => string;
}

/** nginx, blackbox_exporter and a sonde daemon with MODULES, and the two cases against that nginx. */
export interface ProbeLab {
  nginxPort: number;
  blackbox?: { port: number };
  sonde: RunningDaemon;
  cases: ProbeCase[];
  close(): Promise<void>;
}

export async function probeLab(): Promise<ProbeLab> {
  const nginx = await startNginx(TARGETS);
  const blackbox = await startBlackbox(MODULES);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-bench-'));
  writeFileSync(path.join(dir, 'modules.yml'), `${MODULES}tasks: []\n`);
  const procs: Proc[] = [nginx.proc, ...(blackbox ? [blackbox.proc] : [])];
  const sonde = await startDaemon(['--config', path.join(dir, 'modules.yml'), '--log.level', 'info']).catch((err: Error) => {
    for (const p of procs) p.stop();
    throw err;
  });
  const tcpAddrs = loopbackAddresses(TARGETS);
  return {
    nginxPort: nginx.port,
    blackbox,
    sonde,
    cases: [
      { module: 'http_2xx', target: `http://127.0.0.1:${nginx.port}/`, continuousTarget: (i) => `http://127.0.0.1:${nginx.port}/?t=${i}` },
      { module: 'tcp_connect', target: `127.0.0.1:${nginx.port}`, continuousTarget: (i) => `${tcpAddrs[i]}:${nginx.port}` },
    ],
    async close() {
      sonde.child.kill('SIGTERM');
      // Wait for it: a daemon left behind would load the next scenario's machine.
      await Promise.race([sonde.exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (sonde.child.exitCode === null) sonde.child.kill('SIGKILL');
      for (const p of procs) p.stop();
    },
  };
}

export const probePath = (c: ProbeCase) => `/probe?module=${c.module}&target=${encodeURIComponent(c.target)}`;

/** Which door sonde's /probe requests came through (src/api/gateway.ts): the figure is the gateway's only if these say so. */
export async function gatewayPaths(port: number): Promise<string> {
  const text = (await get(port, '/metrics')).text;
  return ['gateway', 'node'].map((p) => `${p} ${metric(text, `sonde_gateway_requests_total{path="${p}"}`) ?? 0}`).join(', ');
}

export async function probeRate(opts: ProbeRateOptions): Promise<Results> {
  const out = new Results();
  if (!haveWrk()) return out.line('probe_rate: skipped: wrk is not installed (npm run bench installs it as root)');
  const tick = opts.progress ?? (() => undefined);
  const lab = await probeLab();
  try {
    // Context for every ratio below: what this machine does for the same fresh-connection work
    // with no prober at all (PEERS.md's machine: 54,000/s).
    const ceiling: number[] = [];
    for (let run = 0; run < opts.runs; run++) {
      tick(`ceiling run ${run + 1}/${opts.runs}`, run / (opts.runs * 3));
      ceiling.push(wrkFreshConnections(`http://127.0.0.1:${lab.nginxPort}/`, opts.concurrency, opts.seconds));
    }
    out.fig({ name: `ceiling: wrk alone, fresh connection per request to the same nginx (c=${opts.concurrency})`, unit: 'requests/s', runs: ceiling });
    for (const [ci, c] of lab.cases.entries()) {
      const peer: number[] = [];
      const viaProbe: number[] = [];
      const continuous: number[] = [];
      let bad = 0;
      for (let run = 0; run < opts.runs; run++) {
        tick(`${c.module} run ${run + 1}/${opts.runs}`, (1 + ci + run / opts.runs) / 3);
        if (lab.blackbox) peer.push(wrkProbe(`http://127.0.0.1:${lab.blackbox.port}${probePath(c)}`, opts.concurrency, opts.seconds).okPerSecond);
        const s = wrkProbe(`http://127.0.0.1:${lab.sonde.port}${probePath(c)}`, opts.concurrency, opts.seconds);
        viaProbe.push(s.okPerSecond);
        bad += s.bad;
        continuous.push(await continuousRate(continuousConfig(MODULES, c.module, INTERVAL, c.continuousTarget, TARGETS), opts.concurrency, opts.seconds));
      }
      const peerFig = { name: 'blackbox_exporter /probe', runs: peer };
      out.fig({ name: `${c.module} sonde /probe (c=${opts.concurrency})`, unit: 'probes/s', runs: viaProbe, peer: peerFig });
      out.fig({ name: `${c.module} sonde continuous (in flight ${opts.concurrency})`, unit: 'probes/s', runs: continuous, peer: peerFig });
      out.line(`${c.module}: sonde /probe answers so far by path: ${await gatewayPaths(lab.sonde.port)}`);
      if (bad > 0) out.line(`${c.module}: WARNING: ${bad} sonde /probe answers were not probe_success 1`);
    }
  } finally {
    await lab.close();
  }
  return out;
}
