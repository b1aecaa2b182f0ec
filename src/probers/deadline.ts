// A probe's deadline as an AbortSignal plus teardown: aborted when the probe's deadline passes or
// its context is aborted (the /probe client left, the daemon stops), with the reason of whatever
// phase was running. For probers whose sockets end through one signal (unix, grpc, websocket).
import { performance } from 'node:perf_hooks';
import { ProbeFailure } from './errors';
import type { ProbeContext } from './types';

export class Deadline {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private readonly onAbort = (): void => this.expire();
  /** the phase running now, named in the timeout's message */
  phase = 'connect';
  /** set once the deadline passed: the cause, whatever error the torn-down socket reports */
  timedOut: ProbeFailure | undefined;

  constructor(private readonly ctx: ProbeContext) {
    ctx.signal.addEventListener('abort', this.onAbort, { once: true });
    this.timer = setTimeout(this.onAbort, Math.max(0, ctx.deadline - performance.now()));
    if (ctx.signal.aborted) this.expire();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  private expire(): void {
    if (this.timedOut) return;
    const reason = this.phase === 'connect' ? 'connect_timeout' : this.phase === 'resolve' ? 'dns_timeout' : 'timeout';
    this.timedOut = new ProbeFailure(reason, `the deadline passed during the ${this.phase} phase`);
    this.controller.abort(this.timedOut);
  }

  close(): void {
    clearTimeout(this.timer);
    this.ctx.signal.removeEventListener('abort', this.onAbort);
  }
}
