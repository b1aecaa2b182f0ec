// `npm run bench [-- SCENARIO...]`: runs each scenario with its peers in the same run and prints
// one line per figure (median, spread, ratio to the peer). Every load is bounded in time.
import { dnsRate } from './dns_rate';
import { icmpRate } from './icmp_rate';
import { ebpfOverhead } from './ebpf_overhead';
import { probeRate } from './probe_rate';
import { schedScale } from './sched_scale';
import { soak } from './soak';
import { synRate } from './syn_rate';

type Scenario = () => Promise<string[]>;

// Run only when named: `npm run bench -- soak` (an hour by default).
const ON_REQUEST = new Set(['soak']);

const SCENARIOS: Record<string, Scenario> = {
  probe_rate: () => probeRate({ runs: Number(process.env.BENCH_RUNS ?? 3), seconds: Number(process.env.BENCH_SECONDS ?? 5), concurrency: 64 }),
  dns_rate: () => dnsRate({ runs: Number(process.env.BENCH_RUNS ?? 3), seconds: Number(process.env.BENCH_SECONDS ?? 5), concurrency: 64 }),
  icmp_rate: () => icmpRate({ runs: Number(process.env.BENCH_RUNS ?? 3), probes: Number(process.env.BENCH_ICMP_PROBES ?? 1_000_000), targets: 250 }),
  ebpf_overhead: () =>
    ebpfOverhead({ runs: Number(process.env.BENCH_RUNS ?? 3), icmpProbes: 50_000, tcpSeconds: Number(process.env.BENCH_SECONDS ?? 3), concurrency: 128, xdpEvents: process.env.BENCH_XDP_EVENTS === '1' }),
  syn_rate: () => synRate({ runs: Number(process.env.BENCH_RUNS ?? 3), rate: Number(process.env.BENCH_SYN_RATE ?? 3_000_000) }),
  sched_scale: () =>
    schedScale({ runs: Number(process.env.BENCH_RUNS ?? 3), targets: Number(process.env.BENCH_SCHED_TARGETS ?? 1_000_000), seconds: Number(process.env.BENCH_SECONDS ?? 10) }),
  soak: () => soak({ seconds: Number(process.env.BENCH_SOAK_SECONDS ?? 3600), floodRate: Number(process.env.BENCH_SOAK_FLOOD_RATE ?? 300) }),
};

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  for (const name of wanted) if (!SCENARIOS[name]) throw new Error(`unknown scenario ${name}; known: ${Object.keys(SCENARIOS).join(', ')}`);
  for (const [name, run] of Object.entries(SCENARIOS)) {
    if (wanted.length > 0 ? !wanted.includes(name) : ON_REQUEST.has(name)) continue;
    process.stdout.write(`== ${name}\n`);
    for (const line of await run()) process.stdout.write(`${line}\n`);
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
