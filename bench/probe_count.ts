// Scenario probe_count (issue 11, scenario 4): a fixed number of probes (100,000 by default) of
// http_2xx and of tcp_connect against the local nginx of probe_rate, at the same concurrency for
// everyone: blackbox_exporter's /probe (the peer) and sonde's /probe, both driven by wrk until the
// count is answered, and sonde's continuous mode until as many probes succeeded; wrk alone with a
// fresh connection per request is the ceiling. Rates are probes over the time the count took.
import { continuousConfig, continuousCount } from './lib/continuous';
import { Results } from './lib/figures';
import type { Tick } from './lib/progress';
import { fmt } from './lib/stats';
import { haveWrk, wrkFreshConnections, wrkProbeCount } from './lib/wrk';
import { gatewayPaths, INTERVAL, MODULES, probeLab, probePath, TARGETS } from './probe_rate';

export interface ProbeCountOptions {
  runs: number;
  /** probes per module and prober */
  count: number;
  concurrency: number;
  progress?: Tick;
}

// A bound for one count: 100,000 probes at blackbox's ~3,300/s take 30 s; 20x slower is a failure.
const maxSeconds = (count: number) => Math.max(60, count / 150);

export async function probeCount(opts: ProbeCountOptions): Promise<Results> {
  const out = new Results();
  if (!haveWrk()) return out.line('probe_count: skipped: wrk is not installed (npm run bench installs it as root)');
  const tick = opts.progress ?? (() => undefined);
  const lab = await probeLab();
  try {
    const ceiling: number[] = [];
    for (let run = 0; run < opts.runs; run++) ceiling.push(wrkFreshConnections(`http://127.0.0.1:${lab.nginxPort}/`, opts.concurrency, 2));
    out.fig({ name: `ceiling: wrk alone, fresh connection per request (c=${opts.concurrency}, 2 s)`, unit: 'requests/s', runs: ceiling });
    const steps = lab.cases.length * opts.runs;
    for (const [ci, c] of lab.cases.entries()) {
      const peer: number[] = [];
      const viaProbe: number[] = [];
      const continuous: number[] = [];
      let bad = 0;
      let short = 0;
      for (let run = 0; run < opts.runs; run++) {
        const at = (ci * opts.runs + run) / steps;
        const url = (port: number) => `http://127.0.0.1:${port}${probePath(c)}`;
        if (lab.blackbox) {
          tick(`${c.module} ${fmt(opts.count)} probes, run ${run + 1}/${opts.runs}: blackbox_exporter`, at);
          const b = await wrkProbeCount(url(lab.blackbox.port), opts.concurrency, opts.count, maxSeconds(opts.count));
          if (b.ok < opts.count) short++;
          peer.push(b.okPerSecond);
        }
        tick(`${c.module} ${fmt(opts.count)} probes, run ${run + 1}/${opts.runs}: sonde /probe`, at + 1 / (3 * steps));
        const s = await wrkProbeCount(url(lab.sonde.port), opts.concurrency, opts.count, maxSeconds(opts.count));
        if (s.ok < opts.count) short++;
        bad += s.bad;
        viaProbe.push(s.okPerSecond);
        tick(`${c.module} ${fmt(opts.count)} probes, run ${run + 1}/${opts.runs}: sonde continuous`, at + 2 / (3 * steps));
        const k = await continuousCount(continuousConfig(MODULES, c.module, INTERVAL, c.continuousTarget, TARGETS), opts.concurrency, opts.count, maxSeconds(opts.count));
        if (k.probes < opts.count) short++;
        continuous.push(k.rate);
      }
      const peerFig = { name: 'blackbox_exporter /probe', runs: peer };
      out.fig({ name: `${c.module} ${fmt(opts.count)} probes, sonde /probe (c=${opts.concurrency})`, unit: 'probes/s', runs: viaProbe, peer: peerFig });
      out.fig({ name: `${c.module} ${fmt(opts.count)} probes, sonde continuous (in flight ${opts.concurrency})`, unit: 'probes/s', runs: continuous, peer: peerFig });
      out.line(`${c.module}: sonde /probe answers so far by path: ${await gatewayPaths(lab.sonde.port)}`);
      if (bad > 0) out.line(`${c.module}: WARNING: ${bad} sonde /probe answers were not probe_success 1`);
      if (short > 0) out.line(`${c.module}: WARNING: ${short} runs ended at their time bound before ${fmt(opts.count)} probes were answered`);
    }
  } finally {
    await lab.close();
  }
  return out;
}
