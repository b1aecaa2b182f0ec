// The SYN scan engine (native/syn through src/native/syn.ts) in a lab namespace: a full 1-65535
// scan of the lab host over IPv4 and IPv6 reports exactly the right state of every port, each
// once; the rate is honoured within 5%; shards 0/3, 1/3, 2/3 (concurrent runs sharing the engine)
// cover the space exactly once; the nftables guard exists during a run and is gone after close.
import assert from 'node:assert/strict';
import { after } from 'node:test';
import { NativeSynEngineImpl } from '../../src/native/syn';
import type { ScanHit, ScanSpec, ScanSummary } from '../../src/native/syn_types';
import { sh } from '../lab/netns';
import { privilegedTest } from '../lab/privileged';
import { buildSynLab, TARGET4, TARGET6, type SynLab } from './synlab';

let lab: SynLab | undefined;
let engine: NativeSynEngineImpl | undefined;
async function getLab(): Promise<SynLab> {
  lab ??= await buildSynLab('sdsyn');
  return lab;
}
function getEngine(): NativeSynEngineImpl {
  engine ??= new NativeSynEngineImpl();
  return engine;
}
after(() => {
  engine?.close();
  lab?.close();
});

const TARGETS: ScanSpec['runs'] = [
  { family: 4, first: TARGET4, count: 1 },
  { family: 6, first: TARGET6, count: 1 },
];

async function scan(spec: ScanSpec): Promise<{ hits: ScanHit[]; summary: ScanSummary }> {
  const hits: ScanHit[] = [];
  const h = getEngine().scan(spec, { onHits: (x) => hits.push(...x) });
  const summary = await h.done;
  return { hits, summary };
}

function ownTable(): string {
  return `sonde_syn_${process.pid}`;
}

privilegedTest('a full 1-65535 scan over IPv4 and IPv6 reports every port of the lab host once, in the right state', async () => {
  const l = await getLab();
  const { hits, summary } = await scan({ runs: TARGETS, ports: [[1, 65535]], rate: 40_000, retries: 1, waitMs: 1500, allStates: true, maxRuntimeMs: 120_000 });
  assert.equal(summary.truncated, false);
  assert.equal(summary.total, 2 * 65535);
  assert.equal(hits.length, 2 * 65535, `hits ${hits.length}: ${JSON.stringify(summary)}`);
  const seen = new Set<string>();
  const wrong: string[] = [];
  for (const h of hits) {
    const key = `${h.address} ${h.port}`;
    assert.ok(!seen.has(key), `${key} reported twice`);
    seen.add(key);
    const fam = h.address === TARGET4 ? 4 : 6;
    const want = l.expect(fam, h.port);
    if (h.state !== want.state || h.reason !== want.reason || h.icmpCode !== want.icmpCode) {
      wrong.push(`${key}: ${h.state}/${h.reason}/${h.icmpCode} want ${want.state}/${want.reason}/${want.icmpCode}`);
    }
    if (h.reason === 'no-response') assert.equal(h.ttl, undefined);
    else assert.ok(h.ttl === 64 || h.ttl === 255, `${key} ttl ${h.ttl}`);
  }
  assert.deepEqual(wrong.slice(0, 20), []);
  const open = hits.filter((h) => h.state === 'open');
  assert.equal(open.length, l.truth.open4.length + l.truth.open6.length);
  for (const h of open) assert.ok(h.rtt !== undefined && h.rtt >= 0 && h.rtt < 60, `rtt ${h.rtt}`);
  // Counters: every answer validated; the silent ports got their retry; no foreign reply.
  assert.equal(summary.open, open.length);
  assert.equal(summary.filtered, 2 * (l.truth.dropped.length + 1));
  assert.equal(summary.closed, 2 * 65535 - summary.open - summary.filtered);
  assert.equal(summary.validated, 2 * 65535 - 2 * l.truth.dropped.length);
  assert.equal(summary.sent, 2 * 65535 + 2 * l.truth.dropped.length, 'one retry to each silent port');
  assert.equal(summary.foreign, 0);
  assert.ok(summary.received >= summary.validated, `received ${summary.received} < validated ${summary.validated}`);
  // The target keeps no half-open connection: every SYN-ACK got our RST.
  const synRecv = l.lab.exec('t', ['ss', '-Htn', 'state', 'syn-recv']).trim();
  assert.equal(synRecv, '', `half-open connections left on the target: ${synRecv}`);
});

privilegedTest('the rate is honoured within 5% (engine counters and the interface count agree)', async () => {
  const l = await getLab();
  const rate = 8000;
  const ports = 24_000; // 3 s at the rate: long enough that a 20 ms burst is < 1%
  const before = l.txPackets();
  const started = process.hrtime.bigint();
  const { summary } = await scan({ runs: [TARGETS[0]], ports: [[1, ports]], rate, retries: 0, waitMs: 200, maxRuntimeMs: 60_000 });
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  const tx = l.txPackets() - before;
  assert.equal(summary.sent, ports);
  assert.ok(Math.abs(summary.packetsPerSecond - rate) / rate < 0.05, `engine: ${summary.packetsPerSecond.toFixed(0)} pps for ${rate}`);
  // The send phase cannot be shorter than the rate allows (an upper bound on the rate that load cannot break).
  assert.ok(wall >= (ports / rate) * 0.95, `wall ${wall.toFixed(2)} s for ${ports} at ${rate}/s`);
  // The interface saw the SYNs (and the RSTs to the open ports, neighbour discovery): no more, no fewer.
  assert.ok(tx >= ports && tx <= ports + 50, `veth tx ${tx} for ${ports} SYNs`);
});

privilegedTest('shards 0/3, 1/3, 2/3 of one seed, run at once on one engine, cover the space exactly once', async () => {
  await getLab();
  const base: ScanSpec = { runs: TARGETS, ports: [[1000, 2999]], rate: 20_000, retries: 0, waitMs: 1000, allStates: true, seed: 0x5eedn };
  const runs = await Promise.all([0, 1, 2].map((index) => scan({ ...base, shard: { index, count: 3 } })));
  const seen = new Map<string, number>();
  for (const [i, r] of runs.entries()) {
    assert.equal(r.summary.total, r.hits.length, `shard ${i}`);
    assert.ok(Math.abs(r.summary.total - 4000 / 3) <= 1, `shard ${i} total ${r.summary.total}`);
    assert.equal(r.summary.foreign, 0, `shard ${i}: replies of the other shards must not validate`);
    for (const h of r.hits) seen.set(`${h.address} ${h.port}`, (seen.get(`${h.address} ${h.port}`) ?? 0) + 1);
  }
  assert.equal(seen.size, 4000);
  assert.ok([...seen.values()].every((n) => n === 1));
});

privilegedTest('the nftables guard exists while a run uses its ports and is removed when the engine closes', async () => {
  await getLab();
  const hits: ScanHit[] = [];
  const e = getEngine();
  const h = e.scan({ runs: [TARGETS[0]], ports: [[1, 2000]], rate: 1000, waitMs: 100, retries: 0 }, { onHits: (x) => hits.push(...x) });
  const during = sh('nft', ['list', 'tables']);
  assert.match(during, new RegExp(`table inet ${ownTable()}\\b`));
  h.stop();
  const s = await h.done;
  assert.equal(s.truncated, true);
  assert.ok(s.sent < 2000, `stopped run sent ${s.sent}`);
  e.close();
  engine = undefined;
  assert.doesNotMatch(sh('nft', ['list', 'tables']), new RegExp(ownTable()));
});

privilegedTest('a scan refuses a source port range inside the kernel ephemeral range, and a bad spec, before sending', async () => {
  const e = getEngine();
  assert.throws(() => e.scan({ runs: [TARGETS[0]], ports: [[80, 80]], rate: 10, sourcePorts: [40000, 40999] }, { onHits: () => undefined }), /ephemeral range/);
  assert.throws(() => e.scan({ runs: [TARGETS[0]], ports: [[80, 70]], rate: 10 }, { onHits: () => undefined }), /port ranges/);
  assert.throws(() => e.scan({ runs: [TARGETS[0]], ports: [[80, 80]], rate: 0 }, { onHits: () => undefined }), /rate/);
});
