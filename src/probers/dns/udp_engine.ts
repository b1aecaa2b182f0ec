// A UDP query on the native stream engine (native/stream/datagram.cc): the socket, the send and
// the wait for the answer run on the engine's thread, off the JS thread (the send on loopback also
// runs the server's receive path in the sender's thread: a third of a JS-socket probe's cost).
// The engine takes the first datagram whose id (the first two bytes) is the query's, counting the
// others as foreign, as udpExchange ignores them; what the answer says is decided here.
import { engineProbe, remainingMs, streamFailure } from '../fast';
import type { CancelOwner, StreamPool } from '../../native/stream';
import { ProbeFailure } from '../errors';
import type { FlowRegistry } from '../types';
import type { Answer, Endpoint, Match } from './exchange';
import { oversizedAnswer } from './query';

export interface EngineUdp {
  stream: StreamPool;
  flows: FlowRegistry | undefined;
  owner: CancelOwner | undefined;
}

/** `query` to `ep` with an answer of at most `limit` bytes, before performance.now() reaches `until`. */
export async function engineUdpExchange(ep: Endpoint, query: Buffer, match: Match, limit: number, until: number, e: EngineUdp): Promise<Answer> {
  const what = `from ${ep.address}:${ep.port} over UDP`;
  const r = await engineProbe(
    e.stream,
    // Every field present from the start: one object shape for every probe.
    { address: ep.address, port: ep.port, timeoutMs: remainingMs(until), request: query, sourceAddress: ep.source, headerCapture: limit, datagram: { matchBytes: 2 }, sourcePort: undefined },
    e.flows,
    e.owner,
  );
  if (r.errno !== 0) {
    if (r.code === 'ETIMEDOUT') {
      if (r.foreign > 0) throw new ProbeFailure('dns_id_mismatch', `${r.foreign} answer(s) ${what} did not match the query (id or question), and no matching one came before the deadline`);
      throw new ProbeFailure('dns_timeout', `no answer ${what} before the deadline`);
    }
    throw streamFailure(r, `the query ${what}`) ?? new ProbeFailure('dns_timeout', `no answer ${what}`);
  }
  const raw = r.payload as Buffer;
  const big = oversizedAnswer(r.bodyBytes, limit, what);
  if (big) throw big;
  // The id matched (the engine's check); a query echoed back or another question is not an answer.
  const msg = match(raw);
  if (!msg) throw new ProbeFailure('dns_id_mismatch', `the answer ${what} has the query's id but is not an answer to its question`);
  const request = Math.max(0, r.timings.processing - r.timings.write);
  return { msg, connect: r.timings.connect, request };
}
