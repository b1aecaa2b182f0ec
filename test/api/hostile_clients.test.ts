// Hostile /probe clients cannot hold the daemon (issue 14): a client that leaves has its probe
// cancelled at once (sockets and slots freed), /probe over its bounds is refused with 503 while
// tasks keep their schedule, a request head that never completes is closed long before the idle
// timeout, and connections past the listener's bounds are closed. Through both front doors where
// both serve: the native gateway, and Node's server (SONDE_GATEWAY=0), also with the rich
// transport (SONDE_FAST_PATH=0: undici, no engine).
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { get, metric, startDaemon, type RunningDaemon } from '../lab/daemon';
import { fireAndForget, silentServer } from '../lab/silent_server';
import { until } from '../lab/wait';

/** A server that accepts and closes: a healthy tcp_connect target. */
async function healthyServer(): Promise<{ port: number; close: () => void }> {
  const srv = net.createServer((s) => {
    s.on('error', () => undefined);
    s.end();
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { port: (srv.address() as net.AddressInfo).port, close: () => srv.close() };
}

function config(healthyPort?: number): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-hostile-'));
  const file = path.join(dir, 'sonde.yml');
  let text = `modules:
  http_hang:
    prober: http
    timeout: 100s
    http:
      preferred_ip_protocol: ip4
  tcp_connect:
    prober: tcp
    tcp:
      preferred_ip_protocol: ip4
`;
  if (healthyPort !== undefined) {
    text += `tasks:
  - name: healthy
    module: tcp_connect
    targets: ["127.0.0.1:${healthyPort}"]
    interval: 500ms
    timeout: 500ms
`;
  }
  writeFileSync(file, text);
  return file;
}

/** Sends one /probe request on a raw connection (from `localAddress`), waiting for nothing. */
function rawProbe(port: number, query: string, localAddress = '127.0.0.1'): net.Socket {
  const s = net.connect({ port, host: '127.0.0.1', localAddress });
  s.on('error', () => undefined);
  s.write(`GET /probe?${query} HTTP/1.1\r\nHost: sonde\r\nX-Prometheus-Scrape-Timeout-Seconds: 300\r\n\r\n`);
  return s;
}

/** The status of the first answer on a raw connection, or 'closed' when it closed without one. */
function status(s: net.Socket): Promise<number | 'closed'> {
  return new Promise((resolve) => {
    let text = '';
    s.on('data', (d) => {
      text += d.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (m) resolve(Number(m[1]));
    });
    s.on('close', () => resolve('closed'));
  });
}

const daemons: RunningDaemon[] = [];
after(() => {
  for (const d of daemons) d.child.kill('SIGKILL');
});

async function daemon(args: string[], env: Record<string, string> = {}): Promise<RunningDaemon> {
  const d = await startDaemon(args, env);
  daemons.push(d);
  return d;
}

/** The sum of a series' values over the lines whose labels include every one of `labels`. */
function sum(text: string, name: string, labels: Record<string, string>): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

async function metricsText(d: RunningDaemon): Promise<string> {
  return (await get(d.port, '/metrics')).text;
}

const DOORS: Array<{ name: string; env: Record<string, string> }> = [
  { name: 'native gateway', env: {} },
  { name: "Node's server, engine transport", env: { SONDE_GATEWAY: '0' } },
  { name: "Node's server, undici transport", env: { SONDE_FAST_PATH: '0' } },
];

for (const door of DOORS) {
  test(`${door.name}: a /probe whose client leaves is cancelled at once, its socket and slot freed`, { timeout: 120_000 }, async () => {
    const hang = await silentServer();
    const N = 40;
    try {
      const d = await daemon(['--config', config()], door.env);
      const clients = Array.from({ length: N }, () => rawProbe(d.port, `module=http_hang&target=http://127.0.0.1:${hang.port}/`));
      // Every probe has reached the silent server: N sockets of the daemon's held open there.
      await until(`${N} probes connected to the silent server`, () => (hang.open() === N ? true : undefined));
      const inFlight = metric(await metricsText(d), 'sonde_probes_in_flight');
      assert.equal(inFlight, N, '/probe probes count in sonde_probes_in_flight');
      for (const c of clients) c.destroy();
      // The probes' timeout is 100 s: only cancellation closes their sockets within the bound.
      await until('every probe socket closed by cancellation', () => (hang.open() === 0 ? true : undefined), 30_000);
      const text = await until('cancellations counted', async () => {
        const t = await metricsText(d);
        return metric(t, 'sonde_probe_requests_cancelled_total') === N ? t : undefined;
      });
      assert.equal(metric(text, 'sonde_probes_in_flight'), 0);
      assert.equal(hang.seen(), N, 'a cancelled probe is not retried');
      // The daemon goes on answering.
      assert.equal((await get(d.port, '/-/healthy')).status, 200);
    } finally {
      hang.close();
    }
  });
}

for (const door of DOORS.slice(0, 2)) {
  test(`${door.name}: a fire-and-forget flood leaves no probe, slot or descriptor behind, and tasks keep succeeding`, { timeout: 240_000 }, async () => {
    const hang = await silentServer();
    const healthy = await healthyServer();
    try {
      const d = await daemon(['--config', config(healthy.port)], door.env);
      const fds = () => readdirSync(`/proc/${d.child.pid}/fd`).length;
      const runs = async (result: string) => sum(await metricsText(d), 'sonde_probes_total', { task: 'healthy', result });
      await until('the task has run', async () => ((await runs('success')) > 0 ? true : undefined));
      const baseline = fds();
      // 8,400 in the issue; 3,000 here, 100 at a time: each sent with a 300 s scrape timeout to a
      // server that never answers, its client gone as soon as the request is written.
      const q = `module=http_hang&target=http://127.0.0.1:${hang.port}/`;
      for (let batch = 0; batch < 30; batch++) await fireAndForget(d.port, q, 100);
      // Nothing is left holding a slot: the silent server's connections close, descriptors return.
      await until('the flood\'s probes all ended', async () => (hang.open() === 0 && metric(await metricsText(d), 'sonde_probes_in_flight') === 0 ? true : undefined), 60_000);
      await until('descriptors back near their baseline', () => (fds() <= baseline + 16 ? true : undefined), 60_000);
      const before = await runs('success');
      await until('the task ran on', async () => ((await runs('success')) >= before + 3 ? true : undefined));
      assert.equal(await runs('failure'), 0, 'no task probe failed during the flood');
      assert.equal((await get(d.port, '/-/healthy')).status, 200);
    } finally {
      hang.close();
      healthy.close();
    }
  });
}

test('/probe over its bound is answered 503 at once, counted, and tasks keep their schedule', { timeout: 120_000 }, async () => {
  const hang = await silentServer();
  const healthy = await healthyServer();
  try {
    const d = await daemon(['--config', config(healthy.port), '--probe.max-concurrent', '20', '--probe.max-concurrent-per-client', '15']);
    const runs = async (result: string) => sum(await metricsText(d), 'sonde_probes_total', { task: 'healthy', result });
    await until('the task has run', async () => ((await runs('success')) > 0 ? true : undefined));
    const q = `module=http_hang&target=http://127.0.0.1:${hang.port}/`;
    // 25 from one address (15 fit its bound), then 10 from another (5 fit the overall bound of 20).
    const refused = { first: 0, second: 0 };
    const first = Array.from({ length: 25 }, () => rawProbe(d.port, q, '127.0.0.1'));
    for (const s of first) void status(s).then((st) => st === 503 && refused.first++);
    await until('15 probes of the first client in flight, 10 refused', () => (hang.open() === 15 && refused.first === 10 ? true : undefined));
    const second = Array.from({ length: 10 }, () => rawProbe(d.port, q, '127.0.0.2'));
    for (const s of second) void status(s).then((st) => st === 503 && refused.second++);
    await until('20 probes in flight, 5 of the second client refused', () => (hang.open() === 20 && refused.second === 5 ? true : undefined));
    const text = await metricsText(d);
    assert.equal(metric(text, 'sonde_probe_requests_refused_total{reason="client"}'), 10);
    assert.equal(metric(text, 'sonde_probe_requests_refused_total{reason="overall"}'), 5);
    // While the 20 hang, the task runs on: several more runs, none failed.
    const before = await runs('success');
    await until('the task ran 5 more times during the flood', async () => ((await runs('success')) >= before + 5 ? true : undefined));
    assert.equal(await runs('failure'), 0, 'no task probe failed');
    for (const c of [...first, ...second]) c.destroy();
    await until('the held probes cancelled', () => (hang.open() === 0 ? true : undefined), 30_000);
  } finally {
    hang.close();
    healthy.close();
  }
});

test('the gateway closes a request head that does not complete in time, long before the idle timeout', { timeout: 120_000 }, async () => {
  const d = await daemon(['--config', config(), '--web.header-timeout', '1']);
  const s = net.connect({ port: d.port, host: '127.0.0.1' });
  s.on('error', () => undefined);
  s.write('GET /probe?module=tcp_connect&tar'); // slowloris: the rest never comes
  const closed = await new Promise<number>((resolve) => {
    const t0 = Date.now();
    s.on('close', () => resolve(Date.now() - t0));
  });
  // The idle timeout is 65 s: a close well before it is the header timeout's.
  assert.ok(closed < 40_000, `closed after ${closed} ms`);
  const text = await metricsText(d);
  assert.ok((metric(text, 'sonde_gateway_connections_closed_total{reason="header_timeout"}') ?? 0) >= 1);
});

test('the gateway closes connections past its bounds, overall and per client address', { timeout: 120_000 }, async () => {
  const d = await daemon(['--config', config(), '--web.max-connections', '50', '--web.max-connections-per-client', '30']);
  const socks: net.Socket[] = [];
  let closed = 0;
  const open = (localAddress: string) => {
    const s = net.connect({ port: d.port, host: '127.0.0.1', localAddress });
    s.on('error', () => undefined);
    s.on('close', () => closed++);
    socks.push(s);
  };
  try {
    for (let i = 0; i < 40; i++) open('127.0.0.1');
    await until('10 connections of the first client closed', () => (closed >= 10 ? true : undefined));
    for (let i = 0; i < 40; i++) open('127.0.0.2');
    await until('20 more closed: the overall bound', () => (closed >= 30 ? true : undefined));
    // Held, not closed: the 50 within the bounds stay open (the idle timeout is 65 s).
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(closed, 30, `closed: ${socks.filter((s) => s.destroyed).map((s) => `${s.localAddress}:${s.localPort}`).join(' ')}`);
    for (const s of socks) s.destroy();
    // Until the daemon has seen those closes, /metrics may itself be refused by the overall bound:
    // each refused attempt is one more refusal counted.
    let refusedFetches = 0;
    const t = await until('/metrics answered', async () => {
      try {
        return await metricsText(d);
      } catch {
        refusedFetches++;
        return undefined;
      }
    });
    assert.equal(metric(t, 'sonde_gateway_connections_closed_total{reason="limit"}'), 30 + refusedFetches);
  } finally {
    for (const s of socks) s.destroy();
  }
});

for (const door of DOORS.slice(0, 2)) {
  test(`${door.name}: 20,000 idle connections from one client hold at most its bound, and another client is still served`, { timeout: 240_000 }, async () => {
    const d = await daemon(['--config', config()], door.env);
    const socks: net.Socket[] = [];
    let closed = 0;
    try {
      // In batches, each connected before the next: a bounded load, not a race with the backlog.
      for (let batch = 0; batch < 40; batch++) {
        await Promise.all(
          Array.from(
            { length: 500 },
            () =>
              new Promise<void>((resolve) => {
                const s = net.connect({ port: d.port, host: '127.0.0.1' });
                s.on('error', () => undefined);
                s.once('connect', () => resolve());
                s.once('close', () => {
                  closed++;
                  resolve();
                });
                socks.push(s);
              }),
          ),
        );
      }
      // The default per-client bound is 1024: the rest are closed at once, not at the idle timeout.
      await until('all but 1024 closed', () => (closed >= 20_000 - 1024 ? true : undefined));
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(closed, 20_000 - 1024);
      // Another address is not locked out.
      const other = await new Promise<string>((resolve, reject) => {
        const s = net.connect({ port: d.port, host: '127.0.0.1', localAddress: '127.0.0.2' }, () => s.write('GET /-/healthy HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
        let text = '';
        s.on('data', (b) => (text += b.toString()));
        s.on('close', () => resolve(text));
        s.on('error', reject);
      });
      assert.match(other, /^HTTP\/1\.1 200/);
    } finally {
      for (const s of socks) s.destroy();
    }
  });
}

for (const door of DOORS.slice(0, 2)) {
  test(`${door.name}: a request head with bare LF line ends is answered 400 or closed at once, and the daemon serves on`, { timeout: 120_000 }, async () => {
    // A header timeout far longer than the bound below: a close within it is the parser's doing.
    const d = await daemon(['--config', config(), '--web.header-timeout', '60'], door.env);
    const t0 = Date.now();
    const outcome = await new Promise<string>((resolve) => {
      const s = net.connect({ port: d.port, host: '127.0.0.1' }, () => s.write('GET /probe?module=tcp_connect&target=127.0.0.1:9 HTTP/1.1\nHost: x\n\n'));
      let text = '';
      s.on('data', (b) => (text += b.toString('latin1')));
      s.on('error', () => undefined);
      s.on('close', () => resolve(text));
    });
    assert.ok(Date.now() - t0 < 30_000, `took ${Date.now() - t0} ms`);
    assert.ok(outcome === '' || /^HTTP\/1\.1 400/.test(outcome), JSON.stringify(outcome.slice(0, 80)));
    assert.equal((await get(d.port, '/-/healthy')).status, 200);
  });
}
