// The DNS server health score (one formula, src/probers/dns/health_score.ts) and `sonde dns-health`
// against the hostile responder: a server that fails EDNS scores lower than one that answers.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { healthScore, speedScore } from '../../src/probers/dns/health_score';
import { runSonde } from '../lab/cli';
import { startResponder, type Responder } from './dns_responder';

test('speed: 1 up to 10 ms, 0.5 at 100 ms, 0 from 1 s', () => {
  assert.equal(speedScore(0.001), 1);
  assert.equal(speedScore(0.01), 1);
  assert.ok(Math.abs(speedScore(0.1) - 0.5) < 1e-9);
  assert.equal(speedScore(1), 0);
  assert.equal(speedScore(30), 0);
});

const CASES: Array<{ desc: string; h: Parameters<typeof healthScore>[0]; want: number }> = [
  { desc: 'nothing answered is 0 whatever else', h: { answered: 0, p95Latency: 0.001, edns: 1, encrypted: 1 }, want: 0 },
  { desc: 'everything passed, fast', h: { answered: 1, p95Latency: 0.002, edns: 1, encrypted: 1 }, want: 100 },
  { desc: 'everything passed at 100 ms: the speed part halves', h: { answered: 1, p95Latency: 0.1, edns: 1, encrypted: 1 }, want: 90 },
  { desc: 'EDNS broken (no EDNS check passed)', h: { answered: 1, p95Latency: 0.002, edns: 0, encrypted: 1 }, want: 85 },
  { desc: 'no encrypted checks asked: weights rescaled, not a penalty', h: { answered: 1, p95Latency: 0.002, edns: 1 }, want: 100 },
  { desc: 'only UDP or TCP answered, EDNS 2 of 3, no DoT/DoH asked', h: { answered: 0.5, p95Latency: 0.002, edns: 2 / 3 }, want: Math.round((100 * (0.25 + 0.2 + 0.1)) / 0.85) },
  { desc: 'DoT and DoH both failed', h: { answered: 1, p95Latency: 0.002, edns: 1, encrypted: 0 }, want: 85 },
];
for (const c of CASES) test(`health score: ${c.desc}`, () => assert.equal(healthScore(c.h), c.want));

let srv: Responder;
before(async () => {
  srv = await startResponder();
});
after(() => srv.close());

test('sonde dns-health: a server that answers FORMERR to EDNS fails the EDNS checks and scores lower', async () => {
  const good = await runSonde(['dns-health', `127.0.0.1:${srv.port}`, '--name', 'ok.test', '--no-encrypted', '--json']);
  const bad = await runSonde(['dns-health', `127.0.0.1:${srv.port}`, '--name', 'formerredns.test', '--no-encrypted', '--json']);
  assert.equal(good.code, 0, good.stderr);
  assert.equal(bad.code, 0, bad.stderr);
  const [g] = JSON.parse(good.stdout) as Array<{ score: number; checks: Array<{ check: string; ok: boolean }>; ecsScope?: number }>;
  const [b] = JSON.parse(bad.stdout) as Array<typeof g>;
  const okOf = (h: typeof g) => Object.fromEntries(h.checks.map((c) => [c.check, c.ok]));
  // The responder answers EDNS version 1 like version 0 (no BADVERS): that check fails on both.
  assert.deepEqual(okOf(g), { udp: true, tcp: true, edns0: true, edns1: false, edns_unknown_option: true, ecs: true, do: true });
  assert.deepEqual(okOf(b), { udp: true, tcp: true, edns0: false, edns1: false, edns_unknown_option: false, ecs: false, do: false });
  assert.equal(g.ecsScope, 20);
  assert.ok(b.score < g.score, `${b.score} < ${g.score}`);
});

test('sonde dns-health: silence over UDP fails every UDP check, the table names each; a closed port scores 0 and exits 1', async () => {
  const r = await runSonde(['dns-health', `127.0.0.1:${srv.port}`, '--name', 'silent.test', '--no-encrypted', '--timeout', '0.3']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^ {2}tcp +ok /m);
  for (const check of ['udp', 'edns0', 'edns1', 'edns_unknown_option', 'ecs', 'do']) assert.match(r.stdout, new RegExp(`^  ${check} +FAIL .*dns_timeout`, 'm'));
  const closed = await runSonde(['dns-health', '127.0.0.1:1', '--no-encrypted', '--timeout', '1']);
  assert.equal(closed.code, 1, closed.stderr);
  assert.match(closed.stdout, /score 0\/100/);
  assert.match(closed.stdout, /^ {2}udp +FAIL .*refused/m);
});

test('sonde dns-health: usage errors exit 2', async () => {
  assert.equal((await runSonde(['dns-health'])).code, 2);
  assert.equal((await runSonde(['dns-health', 'x@127.0.0.1'])).code, 2);
  assert.equal((await runSonde(['dns-health', '127.0.0.1', '--type', 'NOPE'])).code, 2);
});
