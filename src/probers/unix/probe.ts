// The unix prober, as blackbox main's prober/unix.go: dial a stream socket by path (with TLS from
// the first byte when `tls` is set), then the tcp prober's query_response dialogue over it.
import * as net from 'node:net';
import { performance } from 'node:perf_hooks';
import { defaultUnix } from '../../config/defaults';
import type { Module } from '../../config/types';
import type { ProbeResult } from '../../result';
import { Deadline } from '../deadline';
import { failResult, ProbeFailure } from '../errors';
import { runDialogue } from '../tcp/dialogue';
import { LineReader } from '../tcp/lines';
import { handshake, tlsClientOptions } from '../tcp/tls';
import { tlsFactsFromSocket } from '../tls_facts';
import type { ProbeContext, Prober } from '../types';

async function dial(path: string, signal: AbortSignal): Promise<net.Socket> {
  const sock = net.connect({ path, signal });
  sock.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', (err: NodeJS.ErrnoException) => {
      // blackbox names permission errors apart: the socket exists, the probe user may not use it.
      if (err.code === 'EACCES' || err.code === 'EPERM') reject(new ProbeFailure('refused', `permission denied connecting to unix socket ${path}: ${err.message}`));
      else if (err.code === 'ENOENT') reject(new ProbeFailure('refused', `no unix socket at ${path}`));
      else reject(err);
    });
  });
  return sock;
}

export const probeUnix: Prober = async (target: string, module: Module, ctx: ProbeContext) => {
  const start = performance.now();
  const unix = module.unix ?? defaultUnix();
  const result: ProbeResult = { target, module: module.name, prober: 'unix', success: false, startedAt: Date.now(), durationSeconds: 0, phases: {}, tcp: { failedDueToRegex: false } };
  const deadline = new Deadline(ctx);
  const layers: net.Socket[] = [];
  let mark = performance.now();
  const enter = (phase: string) => {
    const now = performance.now();
    result.phases[deadline.phase] = (result.phases[deadline.phase] ?? 0) + (now - mark) / 1000;
    deadline.phase = phase;
    mark = now;
  };
  const startTLS = async (): Promise<net.Socket> => {
    enter('tls');
    // No host to verify against: server_name says which name the certificate must carry.
    const { socket, done } = handshake(layers[layers.length - 1], await tlsClientOptions(unix.tls_config, unix.tls_config.server_name ?? ''));
    layers.push(socket);
    deadline.signal.addEventListener('abort', () => socket.destroy(deadline.timedOut), { once: true });
    await done;
    result.tls = tlsFactsFromSocket(socket);
    enter('dialogue');
    return socket;
  };
  try {
    let sock = await dial(target, deadline.signal);
    layers.push(sock);
    if (unix.tls) sock = await startTLS();
    else enter('dialogue');
    let reader = new LineReader(sock);
    await runDialogue(
      unix.query_response,
      {
        readLine: () => reader.readLine(),
        readBytes: (n) => reader.readBytes(n),
        write: (data, encoding) => new Promise((resolve, reject) => sock.write(data, encoding, (err) => (err ? reject(err) : resolve()))),
        startTLS: async () => {
          reader.detach();
          sock = await startTLS();
          reader = new LineReader(sock);
        },
      },
      result.tcp!,
    );
    result.success = true;
  } catch (err) {
    failResult(result, deadline.timedOut ?? err);
  } finally {
    enter('done');
    delete result.phases.done;
    deadline.close();
    // Outermost first (see tcp/probe.ts destroyLayers: a TLS layer over a destroyed socket crashes Node 20).
    for (let i = layers.length - 1; i >= 0; i--) layers[i].destroy();
    result.durationSeconds = (performance.now() - start) / 1000;
  }
  return result;
};
