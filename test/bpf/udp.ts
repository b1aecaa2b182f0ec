// UDP exchanges made with kernel sockets from the probe host (root netns), each registered as a probe
// flow so the tracer matches its packets. Bounded in time; never throws on loss (loss is the point).
import dgram from 'node:dgram';
import type { BpfFlowRegistry } from '../../src/attribution/registry';
import type { Attribution } from '../../src/result';
import { PROBE_ADDR, TARGET_ADDR } from '../lab/faultlab';
import { waitFor } from '../lab/wait';

export interface Exchange {
  id: number;
  localPort: number;
  received: number;
  sendError?: string;
}

export interface ExchangeOptions {
  port: number;
  timeoutMs: number;
  /** replies to wait for before returning early */
  expect?: number;
  /** close the socket this long after sending (the reply then finds no socket) */
  closeAfterMs?: number;
  /** SO_RCVBUF for the socket */
  rcvbuf?: number;
  /** block the JS thread this long once the request is sent (the socket is not read meanwhile) */
  blockMs?: number;
}

function blockThread(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export async function udpExchange(registry: BpfFlowRegistry, o: ExchangeOptions): Promise<Exchange> {
  const sock = dgram.createSocket({ type: 'udp4', ...(o.rcvbuf ? { recvBufferSize: o.rcvbuf } : {}) });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, PROBE_ADDR, () => resolve());
  });
  const localPort = sock.address().port;
  const id = registry.addSocketFlow({ protocol: 'udp', local: PROBE_ADDR, localPort, remote: TARGET_ADDR, remotePort: o.port });
  const out: Exchange = { id, localPort, received: 0 };
  let open = true;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, o.timeoutMs);
    function done(): void {
      clearTimeout(timer);
      resolve();
    }
    sock.on('error', (err) => (out.sendError = (err as NodeJS.ErrnoException).code ?? err.message));
    sock.on('message', () => {
      out.received++;
      if (o.expect !== undefined && out.received >= o.expect) done();
    });
    sock.send(Buffer.from('sonde-probe'), o.port, TARGET_ADDR, (err) => {
      if (err) out.sendError = (err as NodeJS.ErrnoException).code ?? err.message;
      if (o.blockMs) blockThread(o.blockMs);
      if (o.closeAfterMs !== undefined) {
        setTimeout(() => {
          open = false;
          sock.close();
        }, o.closeAfterMs);
      }
    });
  });
  if (open) sock.close();
  return out;
}

/**
 * The attribution of a flow once its loss has been accounted for: the reply (and the drop that
 * frees it) can reach the probe host late on a loaded machine, so explain() is polled until
 * `settled` holds, bounded; the last answer is returned either way, for the test to assert on.
 */
export async function explainWhen(registry: BpfFlowRegistry, id: number, settled: (a: Attribution) => boolean, timeoutMs = 30_000): Promise<Attribution> {
  let last: Attribution = { verdict: 'unknown' };
  await waitFor(
    async () => {
      [last] = await registry.explain(id);
      return settled(last);
    },
    timeoutMs,
    50,
  );
  return last;
}
