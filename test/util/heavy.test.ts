// The default daemon's idle RSS (issue 11: at most 60 MB) depends on what it loads: the packages of
// src/util/heavy.ts, its built-in TLS modules and the worker pool's piscina must stay unloaded
// until a module uses them.
// Checked in a fresh process, as `npm start` runs: the built-in config, probing, then the module list.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { HEAVY_BUILTINS, HEAVY_PACKAGES, lazy } from '../../src/util/heavy';

const DIST_SRC = path.resolve(__dirname, '..', '..', 'src');

const SCRIPT = `
const { Daemon } = require(${JSON.stringify(path.join(DIST_SRC, 'daemon.js'))});
const { silentLogger } = require(${JSON.stringify(path.join(DIST_SRC, 'log.js'))});
const d = new Daemon({ listen: { host: '127.0.0.1', port: 0 }, logger: silentLogger, ebpf: false, workers: 2 });
d.start().then(async () => {
  // The built-in tasks' first round (http, tcp, icmp on loopback) has run by now on a loaded machine too.
  await new Promise((r) => setTimeout(r, 3000));
  const loaded = Object.keys(require.cache).map((f) => /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(f)?.[1]).filter(Boolean);
  const builtins = process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice('NativeModule '.length));
  process.stdout.write(JSON.stringify({ packages: [...new Set(loaded)], builtins, workers: d.probeWorkers }));
  await d.stop();
  process.exit(0);
});
`;

test('the default daemon loads none of the heavy packages, nor node:tls or node:https, and starts no probe worker', { timeout: 120_000 }, () => {
  const out = JSON.parse(execFileSync(process.execPath, ['-e', SCRIPT], { encoding: 'utf8', timeout: 110_000 })) as { packages: string[]; builtins: string[]; workers: number };
  for (const p of [...HEAVY_PACKAGES, 'piscina']) assert.ok(!out.packages.includes(p), `${p} was loaded at start (loaded: ${out.packages.join(', ')})`);
  for (const m of HEAVY_BUILTINS) assert.ok(!out.builtins.includes(m), `node:${m} was loaded at start`);
  assert.equal(out.workers, 0, 'no probe of the built-in config needs a worker thread');
});

test('lazy: loads once, on the first call', () => {
  let calls = 0;
  const get = lazy(() => ++calls);
  assert.equal(calls, 0);
  assert.equal(get(), 1);
  assert.equal(get(), 1);
  assert.equal(calls, 1);
});
