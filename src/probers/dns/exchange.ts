// One query and its answer over UDP on Node sockets (the native engine's is udp_engine.ts, the
// streams' stream.ts), and what every exchange gives: its timing as blackbox splits it (connect:
// until the socket can carry the query, TLS handshake included; request: the query written -> its
// answer read) and the answers that are not ours. A UDP socket is connected, as miekg/dns dials
// it: the kernel drops datagrams from any other address and port (so an answer from the wrong
// source is never taken), and a closed port is `refused` at once; it comes from a pool
// (udp_pool.ts), one probe on it at a time.
import { performance } from 'node:perf_hooks';
import { ProbeFailure } from '../errors';
import type { TLSFacts } from '../../result';
import type { FlowRegistry } from '../types';
import type { UdpPool } from './udp_pool';
import { oversizedAnswer } from './query';
import type { Message } from './wire';

export interface Endpoint {
  address: string;
  port: number;
  family: 4 | 6;
  source?: string;
}

/** Decodes an answer: the message, or undefined when it is not the answer to our query (id, question). Throws dns_malformed. */
export type Match = (raw: Buffer) => Message | undefined;

export interface Answer {
  msg: Message;
  /** seconds: until the socket could carry the query */
  connect: number;
  /** seconds: the query written -> the answer read */
  request: number;
  /** the handshake of a DoT exchange (absent when resumed: no certificate was sent) */
  tls?: TLSFacts;
  /** DoT: whether the server resumed the offered session */
  tlsResumed?: boolean;
}

/** The reason an exchange ends with when `signal` aborts: its own reason, or dns_id_mismatch when only others' answers came. */
export function abortReason(signal: AbortSignal, mismatches: number, what: string): Error {
  const base = signal.reason instanceof ProbeFailure ? signal.reason : new ProbeFailure('dns_timeout', `no answer ${what} before the deadline`);
  if (mismatches === 0 || base.reason !== 'dns_timeout') return base;
  return new ProbeFailure('dns_id_mismatch', `${mismatches} answer(s) ${what} did not match the query (id or question), and no matching one came before the deadline`);
}

/** One query on a pooled connected socket (udp_pool.ts); the socket goes back only after its answer. */
export async function udpExchange(ep: Endpoint, query: Buffer, match: Match, limit: number, signal: AbortSignal, flows: FlowRegistry | undefined, pool: UdpPool): Promise<Answer> {
  const start = performance.now();
  if (signal.aborted) throw abortReason(signal, 0, `from ${ep.address}:${ep.port} over UDP`);
  const ps = await pool.take(ep);
  const connected = performance.now();
  // Port flows when the registry has them (the socket's port is this probe's alone while it holds it), else the 5-tuple.
  const flowId = flows?.addPortFlow
    ? flows.addPortFlow('udp', ps.localPort)
    : flows?.addSocketFlow({ protocol: 'udp', local: ps.localAddress, localPort: ps.localPort, remote: ep.address, remotePort: ep.port });
  let mismatches = 0;
  return new Promise<Answer>((resolve, reject) => {
    let sent = 0;
    const done = (err: Error | undefined, answer?: Answer) => {
      signal.removeEventListener('abort', onAbort);
      if (flowId !== undefined && flowId > 0) flows?.remove(flowId);
      // A socket whose exchange did not end in its answer may still get one late: never reused.
      if (answer) pool.give(ps);
      else pool.discard(ps);
      if (err) reject(err);
      else if (answer) resolve(answer);
    };
    const onAbort = () => done(abortReason(signal, mismatches, `from ${ep.address}:${ep.port} over UDP`));
    signal.addEventListener('abort', onAbort, { once: true });
    ps.user = {
      error: (err) => done(err),
      message: (raw) => {
        let msg: Message | undefined;
        const big = oversizedAnswer(raw.length, limit, `from ${ep.address}:${ep.port} over UDP`);
        if (big) return done(big);
        try {
          msg = match(raw);
        } catch (err) {
          return done(err as Error);
        }
        if (!msg) {
          mismatches++;
          return;
        }
        done(undefined, { msg, connect: (connected - start) / 1000, request: (performance.now() - sent) / 1000 });
      },
    };
    sent = performance.now();
    ps.sock.send(query, (err) => err && ps.user && done(err));
  });
}
