// Replies that come back after the probe's socket is gone (issue 4): a TCP connect that gave up before
// its SYN-ACK came back is a local NO_SOCKET drop, and `sonde drops` shows such drops live.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { after, before } from 'node:test';
import { BpfFlowRegistry } from '../../src/attribution/registry';
import type { DropsSummary } from '../../src/cli/drops';
import { DropTracer } from '../../src/native/bpf';
import { SONDE_BIN } from '../lab/daemon';
import { FaultLab, PORTS, PROBE_ADDR, TARGET_ADDR } from '../lab/faultlab';
import { isRoot, privilegedTest } from '../lab/privileged';
import { explainWhen, udpExchange } from './udp';

let lab: FaultLab;

before(async () => {
  if (!isRoot()) return;
  lab = new FaultLab('sdlat');
  await lab.start();
});

after(() => lab?.close());

privilegedTest('a TCP connect that gave up before its SYN-ACK came back: the late SYN-ACK is a local NO_SOCKET drop', async () => {
  const tracer = DropTracer.open({ localNetns: 'self' });
  const registry = new BpfFlowRegistry(tracer);
  try {
    for (let i = 0; i < 2; i++) {
      // The router drops every SYN-ACK of the target while the client connects; the client gives up,
      // then the rule goes, and the target's next retransmission (after 1, 2, 4... s: RFC 6298 2.1,
      // tcp_synack_retries) reaches a host with no socket for it. Only the order matters, not the time.
      lab.dropInRouter(`ip saddr ${TARGET_ADDR} tcp sport ${PORTS.tcp} tcp flags & (syn | ack) == syn | ack`);
      const sock = net.connect({ host: TARGET_ADDR, port: PORTS.tcp, localAddress: PROBE_ADDR });
      sock.on('error', () => undefined);
      await new Promise((resolve) => process.nextTick(resolve));
      const id = registry.addSocketFlow({ protocol: 'tcp', local: PROBE_ADDR, localPort: sock.localPort ?? 0, remote: TARGET_ADDR, remotePort: PORTS.tcp });
      assert.ok(id > 0, 'flow registered');
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(sock.connecting, true, 'no SYN-ACK yet');
      sock.destroy();
      lab.clearRules();
      const a = await explainWhen(registry, id, (x) => x.verdict === 'local_drop');
      assert.deepEqual({ verdict: a.verdict, reason: a.reason, direction: a.direction }, { verdict: 'local_drop', reason: 'NO_SOCKET', direction: 'ingress' });
      assert.match(a.location ?? '', /^tcp_v4_rcv\+0x/);
      const synAck = registry.events(id).find((e) => e.kind === 'drop');
      assert.equal(synAck?.tcpFlags, 0x12, 'the dropped packet is the SYN-ACK');
      registry.remove(id);
    }
  } finally {
    lab.clearRules();
    tracer.stop();
  }
});

privilegedTest('sonde drops --json --duration 2 reports the NO_SOCKET drops the test provokes', async () => {
  const child = spawn(process.execPath, [SONDE_BIN, 'drops', '--json', '--duration', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const kill = setTimeout(() => child.kill('SIGKILL'), 60_000);
  // A reply to a socket closed 20 ms after sending, every 200 ms for as long as the command runs
  // (loading takes a moment, longer on a loaded machine, so the first few may come before it listens;
  // bounded: at most 300 exchanges).
  const noTracer = new BpfFlowRegistry(null);
  let provoked = 0;
  const provoke = (async () => {
    for (let i = 0; i < 300 && child.exitCode === null; i++) {
      await udpExchange(noTracer, { port: PORTS.delayedEcho, timeoutMs: 200, closeAfterMs: 20 });
      provoked++;
    }
  })();
  const code = await exited;
  clearTimeout(kill);
  await provoke;
  assert.equal(code, 0, stderr);
  const summary = JSON.parse(stdout) as DropsSummary;
  assert.equal(summary.scope, 'local-netns');
  const row = summary.drops.find((d) => d.reason === 'NO_SOCKET' && d.direction === 'ingress' && /^__?udp4_lib_rcv|udp/.test(d.location));
  assert.ok(row, `a NO_SOCKET row (after ${provoked} late replies): ${JSON.stringify(summary.drops)}`);
  assert.ok(row.count >= 1 && row.count <= provoked);
  assert.ok(summary.durationSeconds >= 2 && summary.durationSeconds < 10, `listened ${summary.durationSeconds} s for --duration 2`);
  assert.ok(summary.programs.some((p) => p.name.includes('kfree_skb') && p.runCnt > 0), 'the tracer ran');
});
