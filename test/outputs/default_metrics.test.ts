// prom-client's default metrics as sonde registers them (src/outputs/prom_client.ts): each metric
// file on its own, process_cpu_* without prom-client's file (it loads @opentelemetry/api). The same
// series, types and help as prom-client's own collectDefaultMetrics, and OpenTelemetry never loaded.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import * as promClient from 'prom-client';
import { collectDefaultMetrics, Registry } from '../../src/outputs/prom_client';

/** name, type and help of every metric a registry holds, sorted. */
async function shape(reg: promClient.Registry): Promise<string[]> {
  return (await reg.getMetricsAsJSON()).map((m) => `${m.name} ${m.type} ${m.help}`).sort();
}

test("the default metrics are prom-client's own, name by name", async () => {
  const ours = new Registry();
  collectDefaultMetrics({ register: ours });
  const theirs = new promClient.Registry();
  promClient.collectDefaultMetrics({ register: theirs });
  assert.deepEqual(await shape(ours), await shape(theirs));
  ours.clear();
  theirs.clear();
});

test('process_cpu_* count the CPU spent between scrapes, user + system = total', async () => {
  const reg = new Registry();
  collectDefaultMetrics({ register: reg });
  // Each scrape runs the collect once; the values are read from its text.
  const scrape = async () => {
    const text = await reg.metrics();
    const v = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    return { user: v('process_cpu_user_seconds_total'), system: v('process_cpu_system_seconds_total'), total: v('process_cpu_seconds_total') };
  };
  const c0 = process.cpuUsage();
  const first = await scrape();
  const c1 = process.cpuUsage();
  // Burn 100 ms of user CPU on this thread (bounded by 10 s of wall time on a loaded machine).
  const t0 = Date.now();
  let x = 0;
  while (process.cpuUsage(c1).user < 100_000 && Date.now() - t0 < 10_000) x += Math.sqrt(x + 1);
  assert.ok(x > 0);
  const c2 = process.cpuUsage();
  const second = await scrape();
  const c3 = process.cpuUsage();
  const grew = second.user - first.user;
  // The collects ran within c0..c1 and c2..c3: the growth lies between what those bracket.
  assert.ok(grew >= (c2.user - c1.user) / 1e6 - 1e-9 && grew <= (c3.user - c0.user) / 1e6 + 1e-9, `user CPU grew by ${grew} s`);
  assert.ok(grew >= 0.1 - 1e-9 || Date.now() - t0 >= 10_000);
  assert.ok(Math.abs(second.user + second.system - second.total) < 1e-6, `${second.user} + ${second.system} != ${second.total}`);
  reg.clear();
});

test('the daemon\'s metrics never load @opentelemetry/api', () => {
  const metrics = path.join(__dirname, '../../src/outputs/metrics.js');
  const out = execFileSync(process.execPath, ['-e', `require(${JSON.stringify(metrics)}); const r = require(${JSON.stringify(path.join(__dirname, '../../src/outputs/prom_client.js'))}); r.collectDefaultMetrics({ register: new r.Registry() }); console.log(Object.keys(require.cache).filter((k) => k.includes('@opentelemetry')).length)`], { encoding: 'utf8' });
  assert.equal(out.trim(), '0');
});
