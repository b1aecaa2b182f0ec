// `sonde scan` output on a fake SYN engine: rows stream as the engine hands hits over (ndjson, the
// JSON array, csv, "Discovered open port" lines), the nmap-like table and -oG lines at the end,
// the summary, and --then verdicts printed with each hit.
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { parseScanArgs, type ScanArgs } from '../../src/cli/scan_args';
import { planScan } from '../../src/cli/scan_plan';
import { runScan } from '../../src/cli/scan_run';
import { testRuntime } from '../runtime';
import { FakeSynEngine, openOn, type Truth } from './fake_engine';

function sink(): { stream: PassThrough & NodeJS.WriteStream; text: () => string; writes: string[] } {
  const stream = new PassThrough() as PassThrough & NodeJS.WriteStream;
  const writes: string[] = [];
  stream.on('data', (d: Buffer) => writes.push(d.toString()));
  return { stream, text: () => writes.join(''), writes };
}

async function scan(argv: string[], truth: Truth) {
  const args = parseScanArgs(argv) as ScanArgs;
  const plan = await planScan(args);
  const engine = new FakeSynEngine(truth);
  const out = sink();
  const err = sink();
  const res = await runScan(engine, plan, args, { stdout: out.stream, stderr: err.stream, runtime: testRuntime, command: `sonde scan ${argv.join(' ')}` });
  return { ...res, engine, stdout: out.text(), stderr: err.text(), writes: out.writes };
}

const OPEN: Array<[string, number]> = [
  ['127.0.0.1', 22],
  ['127.0.0.2', 80],
  ['::1', 443],
];

test('--ndjson: one object a line, open ports only, streamed in the engine\'s batches; summary on stderr', async () => {
  const r = await scan(['127.0.0.1-127.0.0.3', '::1', '-p', '22,80,443', '--rate', '1000', '--ndjson'], openOn(OPEN));
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(
    lines.map((l) => `${l.ip as string}:${l.port as number}`).sort(),
    ['127.0.0.1:22', '127.0.0.2:80', '::1:443'],
  );
  assert.deepEqual(Object.keys(lines[0]), ['ip', 'port', 'state', 'reason', 'ttl', 'rtt']);
  assert.deepEqual([lines[0].state, lines[0].reason, lines[0].ttl, lines[0].rtt], ['open', 'syn-ack', 64, 0.0001]);
  assert.ok(r.writes.length >= 2, 'rows are written as batches arrive, not once at the end');
  assert.match(r.stderr, /sonde scan: 4 addresses, 12 \(address, port\) pairs; 12 SYNs sent/);
  assert.match(r.stderr, /open 3, closed 9, filtered 0/);
  assert.deepEqual(r.engine.specs[0].runs, [
    { family: 4, first: '127.0.0.1', count: 3 },
    { family: 6, first: '::1', count: 1 },
  ]);
});

test('--all-states --csv: every port with a header; --json: one array', async () => {
  const csv = await scan(['127.0.0.1', '-p', '22-23', '--rate', '10', '--all-states', '--csv'], openOn(OPEN));
  assert.deepEqual(csv.stdout.trim().split('\n').sort(), ['127.0.0.1,22,open,syn-ack,64,0.0001,', '127.0.0.1,23,closed,reset,64,0.0001,', 'ip,port,state,reason,ttl,rtt,icmp_code'].sort());
  assert.ok(csv.stdout.startsWith('ip,port,state'));
  const json = await scan(['127.0.0.1', '127.0.0.2', '-p', '22,80', '--rate', '10', '--json'], openOn(OPEN));
  const arr = JSON.parse(json.stdout) as Array<{ ip: string; port: number }>;
  assert.deepEqual(arr.map((a) => `${a.ip}:${a.port}`).sort(), ['127.0.0.1:22', '127.0.0.2:80']);
  const none = await scan(['127.0.0.3', '-p', '22', '--rate', '10', '--json'], openOn(OPEN));
  assert.deepEqual(JSON.parse(none.stdout), []);
});

test('the default view: "Discovered open port" lines, then PORT STATE REASON per host and the summary', async () => {
  const r = await scan(['127.0.0.1', '127.0.0.2', '-p', '22,80', '--rate', '10', '--all-states'], openOn(OPEN));
  assert.match(r.stdout, /^Discovered open port 22\/tcp on 127\.0\.0\.1$/m);
  assert.doesNotMatch(r.stdout, /Discovered \w+ port 80\/tcp on 127\.0\.0\.1/, 'closed ports wait for the table');
  const table = r.stdout.slice(r.stdout.indexOf('sonde scan report for 127.0.0.1'));
  assert.match(table, /sonde scan report for 127\.0\.0\.1\nPORT +STATE +REASON\n22\/tcp +open +syn-ack ttl 64\n80\/tcp +closed +reset ttl 64\n/);
  assert.match(table, /sonde scan report for 127\.0\.0\.2\n/);
  assert.match(r.stdout, /open 2, closed 2, filtered 0/);
  assert.equal(r.stderr, '', 'no progress line on a stderr that is not a terminal');
});

test('the default view with --all-states: more than 25 ports in one closed or filtered state are one "Not shown" line, as nmap', async () => {
  const r = await scan(['127.0.0.1', '-p', '1-100', '--rate', '10', '--all-states'], openOn([['127.0.0.1', 22]]));
  assert.match(r.stdout, /sonde scan report for 127\.0\.0\.1\nNot shown: 99 closed tcp ports \(reset\)\nPORT +STATE +REASON\n22\/tcp +open +syn-ack ttl 64\n\n/);
});

test('-oG: nmap grepable lines per host, to a file or stdout', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-scan-'));
  const file = path.join(dir, 'out.gnmap');
  const r = await scan(['127.0.0.1-127.0.0.3', '-p', '22,80', '--rate', '10', '-oG', file, '--ndjson'], openOn(OPEN));
  const g = readFileSync(file, 'utf8');
  assert.match(g, /^# sonde \S+ scan initiated .* as: sonde scan 127\.0\.0\.1-127\.0\.0\.3/);
  assert.match(g, /^Host: 127\.0\.0\.1 \(\)\tPorts: 22\/open\/tcp\/\/ssh\/\/\/$/m);
  assert.match(g, /^Host: 127\.0\.0\.2 \(\)\tPorts: 80\/open\/tcp\/\/http\/\/\/$/m);
  assert.doesNotMatch(g, /Host: 127\.0\.0\.3/);
  assert.match(g, /^# sonde done at .* -- 3 IP addresses \(2 hosts with reported ports\) scanned in [\d.]+ seconds$/m);
  assert.equal(r.stdout.trim().split('\n').length, 2, 'ndjson on stdout alongside');
  const toStdout = await scan(['127.0.0.1', '-p', '22', '--rate', '10', '-oG', '-'], openOn(OPEN));
  assert.match(toStdout.stdout, /Host: 127\.0\.0\.1 \(\)\tPorts: 22\/open\/tcp\/\/ssh\/\/\//);
});

test('the spec carries every flag: rate, retries, wait, shard, seed, sources, max runtime', async () => {
  const r = await scan(
    ['127.0.0.1', '-p-', '--rate', '2k', '--retries', '3', '--wait', '0.5', '--shard', '1/3', '--seed', '0x2a', '--source-ip', '127.0.0.9,::1', '--source-port', '40000-40100', '--max-runtime', '1.5', '--ndjson'],
    () => ({ state: 'closed', reason: 'reset' }),
  );
  const s = r.engine.specs[0];
  assert.deepEqual(s.ports, [[1, 65535]]);
  assert.deepEqual(
    [s.rate, s.retries, s.waitMs, s.shard, s.seed, s.source4, s.source6, s.sourcePorts, s.maxRuntimeMs, s.allStates],
    [2000, 3, 500, { index: 1, count: 3 }, 42n, '127.0.0.9', '::1', [40000, 40100], 1500, false],
  );
  assert.equal(r.stdout, '');
});

test('--then MODULE: each open port goes to the prober, its verdict printed with the hit', async () => {
  const server = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as AddressInfo).port;
  try {
    const truth = openOn([
      ['127.0.0.1', port],
      ['127.0.0.1', 1],
    ]);
    const r = await scan(['127.0.0.1', '-p', `1,${port}`, '--rate', '10', '--ndjson', '--then', 'http_2xx', '--then-parallel', '1'], truth);
    const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { port: number; then: { success: boolean; reason: string | null; duration: number; http?: { status_code?: number } } });
    const byPort = new Map(rows.map((x) => [x.port, x.then]));
    assert.equal(byPort.get(port)?.success, true);
    assert.ok((byPort.get(port)?.duration ?? 0) > 0);
    // Port 1 says open here (the fake engine) but nothing listens: the prober tells the truth.
    assert.deepEqual([byPort.get(1)?.success, byPort.get(1)?.reason], [false, 'refused']);
    const human = await scan(['127.0.0.1', '-p', `${port}`, '--rate', '10', '--then', 'tcp_connect'], truth);
    assert.match(human.stdout, new RegExp(`Discovered open port ${port}/tcp on 127\\.0\\.0\\.1: tcp_connect success in `));
    assert.match(human.stdout, new RegExp(`${port}/tcp +open +syn-ack ttl 64 +tcp_connect success`));
  } finally {
    server.close();
  }
});
