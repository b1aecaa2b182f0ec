// The TCP prober against loopback servers the tests run: connect, refused, banners, dialogues
// with capture substitution, timeouts versus EOF, IPv6, flows, and the /probe series of each.
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { after, before, test } from 'node:test';
import { probeTCP } from '../../src/probers/tcp/probe';
import type { FlowRegistry } from '../../src/probers/types';
import { listen, metric, onLines, probeContext, probeText, tcpModule } from './tcp_helpers';

type Closer = () => Promise<void>;
const closers: Closer[] = [];
after(async () => {
  for (const c of closers) await c();
});

/** A loopback server running `handler` per connection; returns its port. */
async function serve(handler: (c: net.Socket) => void, host = '127.0.0.1'): Promise<number> {
  const server = net.createServer((c) => {
    c.on('error', () => undefined);
    handler(c);
  });
  const { port, close } = await listen(server, host);
  closers.push(close);
  return port;
}

let silentPort = 0;
before(async () => {
  silentPort = await serve(() => undefined);
});

test('a listening port is a success with the resolve series and probe_failed_due_to_regex 0', async () => {
  const mod = tcpModule();
  const r = await probeTCP(`127.0.0.1:${silentPort}`, mod, probeContext(2));
  assert.equal(r.success, true, r.message);
  assert.equal(r.reason, undefined);
  assert.equal(r.address, '127.0.0.1');
  assert.ok(r.phases.connect > 0 && r.phases.connect < 1, `connect phase ${r.phases.connect}`);
  const text = await probeText(r, mod);
  assert.equal(metric(text, 'probe_success'), 1);
  assert.equal(metric(text, 'probe_ip_protocol'), 4);
  assert.equal(metric(text, 'probe_ip_addr_hash'), 3668918509, 'FNV-1a of the bytes 7f000001, as blackbox_exporter 0.23 reports');
  assert.equal(metric(text, 'probe_failed_due_to_regex'), 0);
  assert.equal(metric(text, 'probe_ssl_earliest_cert_expiry'), undefined, 'no TLS series without TLS');
});

test('a closed port is refused, still with the regex gauge at 0', async () => {
  const probeServer = net.createServer();
  const { port, close } = await listen(probeServer, '127.0.0.1');
  await close();
  const mod = tcpModule();
  const r = await probeTCP(`127.0.0.1:${port}`, mod, probeContext(2));
  assert.equal(r.success, false);
  assert.equal(r.reason, 'refused');
  const text = await probeText(r, mod);
  assert.equal(metric(text, 'probe_success'), 0);
  assert.equal(metric(text, 'probe_failed_due_to_regex'), 0);
  assert.equal(metric(text, 'sonde_probe_failure_reason', { reason: 'refused' }), 1);
});

test('an IPv6 target in brackets is probed over ::1', async () => {
  const port = await serve(() => undefined, '::1');
  const mod = tcpModule({ preferred_ip_protocol: 'ip6', ip_protocol_fallback: false });
  const r = await probeTCP(`[::1]:${port}`, mod, probeContext(2));
  assert.equal(r.success, true, r.message);
  const text = await probeText(r, mod);
  assert.equal(metric(text, 'probe_ip_protocol'), 6);
  assert.equal(metric(text, 'probe_ip_addr_hash'), 1751717746, 'FNV-1a of the 16 bytes of ::1');
});

test('targets without a usable port fail with reason config, without throwing', async () => {
  for (const target of ['127.0.0.1', '::1:80', '127.0.0.1:http', '127.0.0.1:70000', '[::1]']) {
    const r = await probeTCP(target, tcpModule(), probeContext(1));
    assert.equal(r.success, false, target);
    assert.equal(r.reason, 'config', `${target}: ${r.message}`);
  }
});

test('an SSH banner matches and its capture becomes a probe_expect_info label', async () => {
  const port = await serve((c) => c.write('SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n'));
  const mod = tcpModule({
    query_response: [{ expect: /^SSH-2\.0-([^ ]+)/, starttls: false, labels: [{ name: 'version', value: '${1}' }] }],
  });
  const r = await probeTCP(`127.0.0.1:${port}`, mod, probeContext(2));
  assert.equal(r.success, true, r.message);
  assert.ok(r.phases.dialogue > 0);
  const text = await probeText(r, mod);
  assert.equal(metric(text, 'probe_expect_info', { version: 'OpenSSH_9.2p1' }), 1);
  assert.equal(metric(text, 'probe_failed_due_to_regex'), 0);
});

test('a peer that closes before the expected line is expect_mismatch with probe_failed_due_to_regex 1', async () => {
  const port = await serve((c) => c.end('220 not what you want\r\nanother line'));
  const mod = tcpModule({ query_response: [{ expect: /^SSH-2\.0-/, starttls: false, labels: [] }] });
  const r = await probeTCP(`127.0.0.1:${port}`, mod, probeContext(2));
  assert.equal(r.success, false);
  assert.equal(r.reason, 'expect_mismatch');
  assert.equal(metric(await probeText(r, mod), 'probe_failed_due_to_regex'), 1);
});

test('the last line is matched even without a newline before EOF, as bufio.Scanner does', async () => {
  const port = await serve((c) => c.end('SSH-2.0-tail'));
  const mod = tcpModule({ query_response: [{ expect: /^SSH-2\.0-tail$/, starttls: false, labels: [] }] });
  const r = await probeTCP(`127.0.0.1:${port}`, mod, probeContext(2));
  assert.equal(r.success, true, r.message);
});

// blackbox: a read that hits the deadline is a scanner error, which returns before the regex
// gauge is set to 1; so a silent peer is a timeout with probe_failed_due_to_regex 0 (checked
// against blackbox_exporter 0.23's debug output).
test('a peer that never sends the banner times out at the deadline with the regex gauge at 0', async () => {
  const port = await serve((c) => c.write('junk line\n'));
  const mod = tcpModule({ query_response: [{ expect: /^SSH-2\.0-/, starttls: false, labels: [] }] }, 0.5);
  const started = Date.now();
  const r = await probeTCP(`127.0.0.1:${port}`, mod, probeContext(0.5));
  const took = (Date.now() - started) / 1000;
  assert.equal(r.success, false);
  assert.equal(r.reason, 'timeout', r.message);
  assert.ok(took >= 0.45 && took < 1.5, `returned after ${took} s`);
  assert.ok(r.durationSeconds >= 0.45 && r.durationSeconds < 1.5);
  assert.equal(metric(await probeText(r, mod), 'probe_failed_due_to_regex'), 0);
});

test("an IRC dialogue sends, then answers PING with the captured token (blackbox's irc_banner)", async () => {
  const got: string[] = [];
  const port = await serve((c) =>
    onLines(c, (line) => {
      got.push(line);
      if (line.startsWith('USER ')) c.write(':irc.test NOTICE * :hello\r\nPING :abc123\r\n');
      if (line === 'PONG abc123') c.write(':irc.test 001 prober :Welcome\r\n');
    }),
  );
  const mod = tcpModule({
    query_response: [
      { send: 'NICK prober', starttls: false, labels: [] },
      { send: 'USER prober prober prober :prober', starttls: false, labels: [] },
      { expect: /PING :([^ ]+)/, send: 'PONG ${1}', starttls: false, labels: [] },
      { expect: /^:[^ ]+ 001/, starttls: false, labels: [] },
    ],
  });
  const r = await probeTCP(`127.0.0.1:${port}`, mod, probeContext(2));
  assert.equal(r.success, true, r.message);
  assert.deepEqual(got, ['NICK prober', 'USER prober prober prober :prober', 'PONG abc123']);
});

test('named captures expand as ${name} in send', async () => {
  const got: string[] = [];
  const port = await serve((c) => {
    c.write('TOKEN id=42\n');
    onLines(c, (line) => {
      got.push(line);
      c.write('OK\n');
    });
  });
  const mod = tcpModule({
    query_response: [
      { expect: /^TOKEN id=(?<id>\d+)/, send: 'ACK ${id} $$5', starttls: false, labels: [] },
      { expect: /^OK$/, starttls: false, labels: [] },
    ],
  });
  const r = await probeTCP(`127.0.0.1:${port}`, mod, probeContext(2));
  assert.equal(r.success, true, r.message);
  assert.deepEqual(got, ['ACK 42 $5']);
});

test('a flow is registered with the connection 5-tuple and removed when the probe ends', async () => {
  const added: Array<{ protocol: string; local: string; localPort: number; remote: string; remotePort: number }> = [];
  const removed: number[] = [];
  const flows: FlowRegistry = {
    addSocketFlow: (f) => (added.push(f), 7),
    remove: (id) => removed.push(id),
  };
  const r = await probeTCP(`127.0.0.1:${silentPort}`, tcpModule(), probeContext(2, flows));
  assert.equal(r.success, true, r.message);
  assert.equal(added.length, 1);
  assert.equal(added[0].protocol, 'tcp');
  assert.equal(added[0].remote, '127.0.0.1');
  assert.equal(added[0].remotePort, silentPort);
  assert.ok(added[0].localPort > 0);
  assert.deepEqual(removed, [7]);
});

test('source_ip_address sets the local address of the connection', async () => {
  let peer = '';
  const port = await serve((c) => {
    peer = c.remoteAddress ?? '';
  });
  // reset_on_close off: with an RST the server may see the connection gone before it reads the peer.
  const r = await probeTCP(`127.0.0.1:${port}`, tcpModule({ source_ip_address: '127.0.0.2', reset_on_close: false }), probeContext(2));
  assert.equal(r.success, true, r.message);
  for (let i = 0; i < 500 && peer === ''; i++) await new Promise((res) => setTimeout(res, 10));
  assert.equal(peer, '127.0.0.2');
});

test('a connect-only probe ends with RST under reset_on_close (the default), with FIN without it', async () => {
  const ends: string[] = [];
  const port = await serve((c) => {
    c.on('error', (err: NodeJS.ErrnoException) => ends.push(err.code ?? 'error'));
    c.on('end', () => ends.push('FIN'));
    c.resume();
  });
  const waitEnd = async (n: number) => {
    for (let i = 0; i < 500 && ends.length < n; i++) await new Promise((res) => setTimeout(res, 10));
  };
  assert.equal((await probeTCP(`127.0.0.1:${port}`, tcpModule(), probeContext(2))).success, true);
  await waitEnd(1);
  assert.deepEqual(ends, ['ECONNRESET']);
  assert.equal((await probeTCP(`127.0.0.1:${port}`, tcpModule({ reset_on_close: false }), probeContext(2))).success, true);
  await waitEnd(2);
  assert.deepEqual(ends, ['ECONNRESET', 'FIN']);
});

test('a probe whose signal is already aborted returns a timeout result', async () => {
  const ctx = probeContext(2);
  const ac = new AbortController();
  ac.abort();
  const r = await probeTCP(`127.0.0.1:${silentPort}`, tcpModule(), { ...ctx, signal: ac.signal });
  assert.equal(r.success, false);
  assert.equal(r.reason, 'timeout', r.message);
});

test('a peer that resets the connection during the dialogue is reason reset, regex gauge 0', async () => {
  const port = await serve((c) => {
    c.write('hello\n');
    setTimeout(() => c.resetAndDestroy(), 20);
  });
  const mod = tcpModule({ query_response: [{ expect: /^SSH-2\.0-/, starttls: false, labels: [] }] });
  const r = await probeTCP(`127.0.0.1:${port}`, mod, probeContext(2));
  assert.equal(r.success, false);
  assert.equal(r.reason, 'reset', r.message);
  assert.equal(metric(await probeText(r, mod), 'probe_failed_due_to_regex'), 0);
});
