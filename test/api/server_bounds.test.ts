// The Node listener's bounds: a request head that never ends is answered (408) and closed within
// seconds, not after keep-alive's 65 s; connections are capped; a POST /-/reload whose request
// Node refuses (400) does not reload.
import { DEFAULT_PROBE_LIMITS, ProbeAdmission } from '../../src/api/admission';
import { DEFAULT_LISTENER_LIMITS } from '../../src/daemon';
import assert from 'node:assert/strict';
import type http from 'node:http';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { after, before, test } from 'node:test';
import { LISTENER_BOUNDS, startServer } from '../../src/api/server';
import { HealthStage } from '../../src/health/stage';
import { silentLogger } from '../../src/log';
import { LatestResults } from '../../src/outputs/latest';
import { TaskMetrics } from '../../src/outputs/metrics';
import { waitFor } from '../lab/wait';
import { testRuntime } from '../runtime';

const MAX_CONNECTIONS = 8;
let server: http.Server;
let port = 0;
let reloads = 0;

before(async () => {
  // The Node listener itself (the gateway hands it every non-/probe connection in the daemon).
  process.env.SONDE_GATEWAY = '0';
  const s = await startServer(
    {
      logger: silentLogger,
      metrics: new TaskMetrics('test', new HealthStage()),
      latest: new LatestResults(),
      config: () => ({ source: 'test', modules: new Map(), tasks: [] }),
      ready: () => true,
      reload: async () => {
        reloads++;
        return { ok: true };
      },
      flows: () => undefined,
      runtime: testRuntime,
      signal: new AbortController().signal,
      admission: new ProbeAdmission(DEFAULT_PROBE_LIMITS),
      listenerLimits: DEFAULT_LISTENER_LIMITS,
    },
    [{ host: '127.0.0.1', port: 0 }],
    { ...LISTENER_BOUNDS, maxConnections: MAX_CONNECTIONS },
  );
  server = s.servers[0];
  port = s.addresses[0].port;
});
after(() => server.close());

/** Sends `bytes` on a fresh connection; resolves with what came back once the server closed it. */
function exchange(bytes: string): Promise<{ answer: string; seconds: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let answer = '';
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => (answer += d));
    sock.on('error', reject);
    sock.on('close', () => resolve({ answer, seconds: (performance.now() - t0) / 1000 }));
    sock.write(bytes);
  });
}

test('a request head without its blank line is answered 408 and closed within seconds', { timeout: 60_000 }, async () => {
  const { answer, seconds } = await exchange('GET /-/healthy HTTP/1.1\r\nHost: sonde\r\n');
  assert.match(answer, /^HTTP\/1\.1 408 /);
  // headersTimeout (5 s) plus Node's check interval (1 s), with room for a loaded machine; keep-alive would be 65 s.
  assert.ok(seconds < 30, `closed after ${seconds.toFixed(1)} s`);
});

test('a connection that sends nothing is closed within seconds', { timeout: 60_000 }, async () => {
  const { seconds } = await exchange('');
  assert.ok(seconds < 30, `closed after ${seconds.toFixed(1)} s`);
});

test(`connections beyond the cap (${MAX_CONNECTIONS}) are closed at once, and served again when below it`, { timeout: 60_000 }, async () => {
  const held: net.Socket[] = [];
  try {
    for (let i = 0; i < MAX_CONNECTIONS; i++) {
      const s = net.connect(port, '127.0.0.1');
      s.on('error', () => undefined);
      held.push(s);
      await new Promise((resolve) => s.once('connect', resolve));
    }
    assert.ok(await waitFor(() => new Promise<boolean>((resolve) => server.getConnections((_e, n) => resolve(n >= MAX_CONNECTIONS)))));
    const over = await exchange('GET /-/healthy HTTP/1.1\r\nHost: sonde\r\n\r\n');
    assert.equal(over.answer, '', 'the connection over the cap was served');
  } finally {
    for (const s of held) s.destroy();
  }
  assert.ok(await waitFor(() => new Promise<boolean>((resolve) => server.getConnections((_e, n) => resolve(n === 0)))));
  const again = await exchange('GET /-/healthy HTTP/1.1\r\nHost: sonde\r\nConnection: close\r\n\r\n');
  assert.match(again.answer, /^HTTP\/1\.1 200 /);
});

test('POST /-/reload reloads only when the whole request was read', { timeout: 60_000 }, async () => {
  const cases = [
    { description: 'a malformed chunked body (Node answers 400)', request: 'POST /-/reload HTTP/1.1\r\nHost: sonde\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', status: 400, reloads: 0 },
    { description: 'a body cut short by the client', request: 'POST /-/reload HTTP/1.1\r\nHost: sonde\r\nContent-Length: 100\r\n\r\nabc', status: 0, reloads: 0, half: true },
    { description: 'an empty POST', request: 'POST /-/reload HTTP/1.1\r\nHost: sonde\r\nContent-Length: 0\r\nConnection: close\r\n\r\n', status: 200, reloads: 1 },
    { description: 'a small body', request: 'POST /-/reload HTTP/1.1\r\nHost: sonde\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}', status: 200, reloads: 1 },
  ];
  for (const c of cases) {
    const before = reloads;
    let answer: string;
    if (c.half) {
      // The client sends part of the body, then goes.
      answer = await new Promise<string>((resolve) => {
        const sock = net.connect(port, '127.0.0.1', () => sock.write(c.request, () => setTimeout(() => sock.destroy(), 200)));
        sock.on('error', () => undefined);
        sock.on('close', () => resolve(''));
      });
    } else {
      answer = (await exchange(c.request)).answer;
    }
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);
    assert.equal(status, c.status, `${c.description}: ${JSON.stringify(answer)}`);
    // A reload that was wrongly started would have counted by the time the answer came.
    assert.equal(reloads - before, c.reloads, c.description);
  }
});
