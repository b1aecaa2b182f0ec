// The stream engine's datagram exchanges (native/stream/datagram.cc) against UDP servers started
// here: the answer matched by its leading bytes, others counted as foreign, refusals, answers cut
// at the capture size, sockets kept between clean exchanges and what a late datagram does then.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, test } from 'node:test';
import { StreamPool } from '../../src/native/stream';

const pool = new StreamPool();
const sockets: dgram.Socket[] = [];
after(() => {
  pool.close();
  for (const s of sockets) s.close();
});

// Loopback answers in microseconds: this deadline only bounds a loaded machine (sanitizers, busy cores).
const T = 10_000;

type Reply = (msg: Buffer, send: (b: Buffer) => void, from: dgram.RemoteInfo) => void;

/** A UDP server on `address` answering each datagram as `reply` says; the source ports it saw. */
async function udpServer(reply: Reply, address = '127.0.0.1'): Promise<{ port: number; sources: number[] }> {
  const s = dgram.createSocket(address.includes(':') ? 'udp6' : 'udp4');
  sockets.push(s);
  const sources: number[] = [];
  s.on('message', (msg, from) => {
    sources.push(from.port);
    reply(msg, (b) => s.send(b, from.port, from.address), from);
  });
  await new Promise<void>((r) => s.bind(0, address, r));
  return { port: s.address().port, sources };
}

const echo: Reply = (msg, send) => send(msg);
const req = (id: string, body = ' query') => Buffer.from(id + body);

test('a datagram exchange returns the matching answer, its size and timings', async () => {
  const { port } = await udpServer(echo);
  const r = await pool.probe({ address: '127.0.0.1', port, timeoutMs: T, request: req('ab'), datagram: { matchBytes: 2 } });
  assert.equal(r.errno, 0);
  assert.equal(r.phase, 'done');
  assert.equal(r.payload?.toString(), 'ab query');
  assert.equal(r.bodyBytes, 8);
  assert.equal(r.foreign, 0);
  assert.equal(r.head, '');
  assert.ok(r.localPort > 0);
  assert.ok(r.timings.processing >= r.timings.write, `processing ${r.timings.processing} >= write ${r.timings.write}`);
});

test('datagrams with other leading bytes are counted and passed over; a shorter one is the answer', async () => {
  const { port } = await udpServer((msg, send) => {
    send(Buffer.from('zz other'));
    send(Buffer.from('yy other'));
    send(msg.subarray(0, 1)); // one byte: cannot be told apart by the prefix, so it is handed up
  });
  const r = await pool.probe({ address: '127.0.0.1', port, timeoutMs: T, request: req('ab'), datagram: { matchBytes: 2 } });
  assert.equal(r.errno, 0);
  assert.equal(r.foreign, 2);
  assert.equal(r.payload?.toString(), 'a');
});

test('only foreign datagrams: the exchange times out in the processing phase with their count', async () => {
  const { port } = await udpServer((_msg, send) => send(Buffer.from('zz other')));
  const r = await pool.probe({ address: '127.0.0.1', port, timeoutMs: 300, request: req('ab'), datagram: { matchBytes: 2 } });
  assert.equal(r.code, 'ETIMEDOUT');
  assert.equal(r.phase, 'processing');
  assert.equal(r.foreign, 1);
  assert.equal(r.payload, undefined);
});

test('matchBytes 0 takes the first datagram', async () => {
  const { port } = await udpServer((_msg, send) => send(Buffer.from('anything')));
  const r = await pool.probe({ address: '127.0.0.1', port, timeoutMs: T, request: req('ab'), datagram: { matchBytes: 0 } });
  assert.equal(r.errno, 0);
  assert.equal(r.payload?.toString(), 'anything');
});

test('a closed port is refused at once (the ICMP port unreachable ends the wait)', async () => {
  const { port } = await udpServer(echo);
  // The server's port, closed: nothing listens there now.
  const s = sockets.pop() as dgram.Socket;
  await new Promise<void>((r) => s.close(() => r()));
  const r = await pool.probe({ address: '127.0.0.1', port, timeoutMs: T, request: req('ab'), datagram: { matchBytes: 2 } });
  assert.equal(r.code, 'ECONNREFUSED');
});

test('an answer larger than headerCapture is cut there and its full size reported', async () => {
  const { port } = await udpServer((msg, send) => send(Buffer.concat([msg, Buffer.alloc(1000, 0x41)])));
  const r = await pool.probe({ address: '127.0.0.1', port, timeoutMs: T, request: req('ab'), headerCapture: 100, datagram: { matchBytes: 2 } });
  assert.equal(r.errno, 0);
  assert.equal(r.payload?.length, 100);
  assert.equal(r.bodyBytes, 1008);
});

test('a caller\'s port is bound, kept after a clean exchange, and a late duplicate does not reach the next exchange', async () => {
  const { port, sources } = await udpServer((msg, send) => {
    send(msg);
    setTimeout(() => send(msg), 20); // a duplicate of the answer, after the exchange ended
  });
  const sourcePort = 23000 + (process.pid % 500);
  const a = await pool.probe({ address: '127.0.0.1', port, timeoutMs: T, request: req('ab'), sourcePort, datagram: { matchBytes: 2 } });
  assert.equal(a.errno, 0);
  assert.equal(a.localPort, sourcePort);
  await new Promise((r) => setTimeout(r, 100)); // the duplicate is queued on the kept socket by now
  const b = await pool.probe({ address: '127.0.0.1', port, timeoutMs: T, request: req('cd'), sourcePort, datagram: { matchBytes: 2 } });
  assert.equal(b.errno, 0);
  assert.equal(b.payload?.toString(), 'cd query');
  assert.equal(b.foreign, 0, 'the kept socket was emptied before the exchange');
  assert.deepEqual(sources, [sourcePort, sourcePort]);
  assert.ok(pool.counters().completed >= 2);
});

test('a kept socket is connected anew to each exchange\'s destination', async () => {
  const one = await udpServer((msg, send) => send(Buffer.concat([msg, Buffer.from(' one')])));
  const two = await udpServer((msg, send) => send(Buffer.concat([msg, Buffer.from(' two')])));
  const sourcePort = 23600 + (process.pid % 300);
  const a = await pool.probe({ address: '127.0.0.1', port: one.port, timeoutMs: T, request: req('ab'), sourcePort, datagram: { matchBytes: 2 } });
  const b = await pool.probe({ address: '127.0.0.1', port: two.port, timeoutMs: T, request: req('cd'), sourcePort, datagram: { matchBytes: 2 } });
  assert.equal(a.payload?.toString(), 'ab query one');
  assert.equal(b.payload?.toString(), 'cd query two');
});

test('many exchanges in flight, without a caller\'s port (kept sockets per family)', async () => {
  const { port } = await udpServer(echo);
  const rs = await Promise.all(
    Array.from({ length: 500 }, (_, i) => pool.probe({ address: '127.0.0.1', port, timeoutMs: T, request: req(String.fromCharCode(65 + (i % 26), 97 + (i % 26)), ` ${i}`), datagram: { matchBytes: 2 } })),
  );
  // Each exchange has its own socket (and port): every answer reaches the exchange that asked.
  rs.forEach((r, i) => {
    assert.equal(r.errno, 0, `exchange ${i}: ${r.code}`);
    assert.equal(r.payload?.toString().split(' ')[1], String(i));
  });
});

test('IPv6 on ::1', async () => {
  const { port } = await udpServer(echo, '::1');
  const r = await pool.probe({ address: '::1', port, timeoutMs: T, request: req('ab'), datagram: { matchBytes: 2 } });
  assert.equal(r.errno, 0);
  assert.equal(r.payload?.toString(), 'ab query');
});

test('a datagram exchange without request bytes is refused at submission', async () => {
  await assert.rejects(pool.probe({ address: '127.0.0.1', port: 53, timeoutMs: T, request: Buffer.alloc(0), datagram: { matchBytes: 2 } }), /datagram needs 1 to 65507 request bytes/);
});
