// No false success through a TCP self-connect: a connect from port P to a closed local port P meets
// itself (simultaneous open, RFC 9293 3.5) and would pass for a listener. sonde never picks such a
// source port (src/probers/source_ports.ts) and both transports check the peer after connect.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { test } from 'node:test';
import { probeTCP } from '../../src/probers/tcp/probe';
import { SourcePorts, sourcePorts } from '../../src/probers/source_ports';
import type { FlowRegistry } from '../../src/probers/types';
import { Lab } from '../lab/netns';
import { privilegedTest } from '../lab/privileged';
import { testRuntime } from '../runtime';
import { probeContext, tcpModule } from './tcp_helpers';

/** Local ports in LISTEN state (/proc/net/tcp{,6}: state 0A), which a probe rightly finds open. */
function listeningPorts(): Set<number> {
  const ports = new Set<number>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[3] === '0A') ports.add(parseInt(f[1].split(':')[1], 16));
    }
  }
  return ports;
}

/** A port nobody listens on now: one the kernel gave a listener that is closed again. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test('SourcePorts never hands out the port it is asked to avoid', () => {
  const cases: Array<{ description: string; ports: SourcePorts; avoid: number; want: Array<number | undefined> }> = [
    { description: 'the avoided port is next: the one after it comes', ports: new SourcePorts(1000, 1002), avoid: 1000, want: [1001, 1002, undefined] },
    { description: 'the avoided port is not next: order unchanged', ports: new SourcePorts(1000, 1002), avoid: 1002, want: [1000, 1001, undefined] },
    { description: 'only the avoided port is left: none', ports: new SourcePorts(7, 7), avoid: 7, want: [undefined] },
  ];
  for (const c of cases) {
    const got = c.want.map(() => c.ports.take(c.avoid));
    assert.deepEqual(got, c.want, c.description);
  }
  // The skipped port was kept: without the avoidance it is handed out.
  const ports = new SourcePorts(1000, 1002);
  assert.equal(ports.take(1000), 1001);
  assert.deepEqual([ports.take(), ports.take(), ports.take()], [1002, 1000, undefined]);
});

test('the stream engine reports a self-connect as refused, not as an open port', async () => {
  const port = await closedPort();
  const r = await testRuntime.stream.probe({ address: '127.0.0.1', port, sourcePort: port, timeoutMs: 5000 });
  assert.equal(r.code, 'ECONNREFUSED', `a connect from ${port} to 127.0.0.1:${port} ended ${r.code || 'in success'}`);
});

test('tcp probes of the whole closed source-port range under load never succeed', { timeout: 300_000 }, async () => {
  // Port flows make the engine path bind sonde's own source ports, as with eBPF on.
  const flows: FlowRegistry = { addSocketFlow: () => 0, addPortFlow: () => 0, remove: () => undefined };
  const open = listeningPorts();
  // Line the destinations up with the ports the pool hands out next, the worst case for a
  // self-connect: the next take() returns first + 1.
  const first = sourcePorts.take();
  assert.ok(first !== undefined);
  sourcePorts.give(first);
  const { low, high } = sourcePorts;
  const count = high - low + 1;
  const ports = Array.from({ length: count }, (_, i) => low + ((first + 1 - low + i) % count));
  const successes: number[] = [];
  let done = 0;
  const concurrency = 128;
  const mod = tcpModule({ preferred_ip_protocol: 'ip4' }, 5);
  // Workers take ports in order, so the probes take source ports in the same order.
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let port = ports.shift(); port !== undefined; port = ports.shift()) {
        const r = await probeTCP(`127.0.0.1:${port}`, mod, probeContext(5, flows));
        done++;
        if (r.success) successes.push(port);
      }
    }),
  );
  const listening = listeningPorts();
  const false_ = successes.filter((p) => !open.has(p) && !listening.has(p));
  assert.equal(done, count);
  assert.deepEqual(false_, [], `${false_.length} closed ports reported open`);
});

privilegedTest('with a tiny ephemeral range, probes of its closed ports are refused on both transports', async () => {
  const lab = new Lab('sdself');
  try {
    lab.addNs('a');
    // Four ports: the kernel's own picks then often equal the destination port.
    lab.sysctl('a', 'net.ipv4.ip_local_port_range', '40000 40003');
    const child = path.join(__dirname, 'self_connect_child.js');
    const out = execFileSync('ip', ['netns', 'exec', lab.ns('a'), process.execPath, child, '40000', '40003', '50'], { encoding: 'utf8', timeout: 240_000 });
    const counts = JSON.parse(out.trim().split('\n').pop() ?? '{}') as Record<string, Record<string, number>>;
    for (const key of ['tcp/engine', 'tcp/node', 'http/engine', 'http/node']) {
      assert.deepEqual(counts[key], { refused: 200 }, `${key}: ${JSON.stringify(counts[key])}`);
    }
  } finally {
    lab.close();
  }
}, 300_000);
