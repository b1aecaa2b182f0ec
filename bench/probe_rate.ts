// Scenario: http_2xx and tcp_connect probes per second against a local nginx, fresh connection per
// probe, at the same concurrency for everyone: blackbox_exporter's /probe (the peer), sonde's
// /probe, and sonde's continuous mode (a task whose targets are due faster than it can probe).
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { get, metric, startDaemon } from '../test/lab/daemon';
import { continuousConfig, continuousRate } from './lib/continuous';
import { loopbackAddresses, startBlackbox, startNginx } from './lib/procs';
import { report, type Figure } from './lib/stats';
import { haveWrk, wrkFreshConnections, wrkProbe } from './lib/wrk';

const MODULES = `modules:
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
}

// Targets are due every INTERVAL, so demand (targets / interval) stays above what any prober here
// reaches: the rate measured is sonde's capacity, not the plan's.
const INTERVAL = 0.1;
const HTTP_TARGETS = 5000;
const TCP_TARGETS = 5000;

async function gatewayPaths(port: number): Promise<string> {
  const text = (await get(port, '/metrics')).text;
  return ['gateway', 'node'].map((p) => `${p} ${metric(text, `sonde_gateway_requests_total{path="${p}"}`) ?? 0}`).join(', ');
}

export async function probeRate(opts: ProbeRateOptions): Promise<string[]> {
  if (!haveWrk()) return ['probe_rate: skipped: wrk is not installed (npm run bench installs it as root)'];
  const nginx = await startNginx(TCP_TARGETS);
  const blackbox = await startBlackbox(MODULES);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-bench-'));
  writeFileSync(path.join(dir, 'modules.yml'), `${MODULES}tasks: []\n`);
  const sonde = await startDaemon(['--config', path.join(dir, 'modules.yml'), '--log.level', 'info']);
  const lines: string[] = [];
  const tcpAddrs = loopbackAddresses(TCP_TARGETS);
  try {
    // Context for every ratio below: what this machine does for the same fresh-connection work
    // with no prober at all (PEERS.md's machine: 54,000/s).
    const ceiling: number[] = [];
    for (let run = 0; run < opts.runs; run++) ceiling.push(wrkFreshConnections(`http://127.0.0.1:${nginx.port}/`, opts.concurrency, opts.seconds));
    lines.push(report({ name: `ceiling: wrk alone, fresh connection per request to the same nginx (c=${opts.concurrency})`, unit: 'requests/s', runs: ceiling }));
    const cases = [
      { module: 'http_2xx', target: `http://127.0.0.1:${nginx.port}/`, continuousTarget: (i: number) => `http://127.0.0.1:${nginx.port}/?t=${i}`, targets: HTTP_TARGETS },
      { module: 'tcp_connect', target: `127.0.0.1:${nginx.port}`, continuousTarget: (i: number) => `${tcpAddrs[i]}:${nginx.port}`, targets: TCP_TARGETS },
    ];
    for (const c of cases) {
      const q = `/probe?module=${c.module}&target=${encodeURIComponent(c.target)}`;
      const peer: number[] = [];
      const viaProbe: number[] = [];
      const continuous: number[] = [];
      let bad = 0;
      for (let run = 0; run < opts.runs; run++) {
        if (blackbox) {
          const r = wrkProbe(`http://127.0.0.1:${blackbox.port}${q}`, opts.concurrency, opts.seconds);
          peer.push(r.okPerSecond);
        }
        const s = wrkProbe(`http://127.0.0.1:${sonde.port}${q}`, opts.concurrency, opts.seconds);
        viaProbe.push(s.okPerSecond);
        bad += s.bad;
        continuous.push(await continuousRate(continuousConfig(MODULES, c.module, INTERVAL, c.continuousTarget, c.targets), opts.concurrency, opts.seconds));
      }
      const paths = await gatewayPaths(sonde.port);
      const peerFig = { name: 'blackbox_exporter /probe', runs: peer };
      const figs: Figure[] = [
        { name: `${c.module} sonde /probe (c=${opts.concurrency})`, unit: 'probes/s', runs: viaProbe, peer: peerFig },
        { name: `${c.module} sonde continuous (in flight ${opts.concurrency})`, unit: 'probes/s', runs: continuous, peer: peerFig },
      ];
      lines.push(...figs.map(report));
      // Which door sonde's /probe requests came through (src/api/gateway.ts): the figure is the gateway's only if these say so.
      lines.push(`${c.module}: sonde /probe answers so far by path: ${paths}`);
      if (bad > 0) lines.push(`${c.module}: WARNING: ${bad} sonde /probe answers were not probe_success 1`);
    }
  } finally {
    sonde.child.kill('SIGTERM');
    // Wait for it: a daemon left behind would load the next scenario's machine.
    await Promise.race([sonde.exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (sonde.child.exitCode === null) sonde.child.kill('SIGKILL');
    blackbox?.proc.stop();
    nginx.proc.stop();
  }
  return lines;
}
