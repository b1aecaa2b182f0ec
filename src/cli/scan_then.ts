// `sonde scan --then MODULE`: each open port, as it is found, goes to a prober module (tcp_connect,
// banner, tls, http_2xx, or any of the config's) through the registry and the runner `sonde probe`
// uses, at most `parallel` at once; a hit is printed once its probe has a verdict.
import type { Module } from '../config/types';
import { silentLogger } from '../log';
import type { ScanHit } from '../native/syn_types';
import type { FlowRegistry } from '../probers/types';
import type { ProbeResult } from '../result';
import type { Runtime } from '../runtime';
import { runProbe } from '../schedule/run_probe';

/** The target a module's prober takes for an open port: HOST:PORT, or a URL for http (https on 443 and 8443). */
export function thenTarget(module: Module, address: string, port: number): string {
  const host = address.includes(':') ? `[${address}]` : address;
  if (module.prober === 'http') return `${port === 443 || port === 8443 ? 'https' : 'http'}://${host}:${port}/`;
  return `${host}:${port}`;
}

/** Probers --then can hand an open port to (those whose target is a host and port). */
export const THEN_PROBERS: ReadonlySet<string> = new Set(['tcp', 'http']);

export class ThenRunner {
  private running = 0;
  private readonly queue: Array<{ hit: ScanHit; done: (r: ProbeResult) => void }> = [];
  private readonly idle: Array<() => void> = [];
  private readonly abort = new AbortController();

  constructor(
    private readonly module: Module,
    private readonly runtime: Runtime,
    private readonly opts: { parallel: number; timeoutSeconds: number; flows?: FlowRegistry },
  ) {}

  /** Probes the hit's port when a slot is free; `done` gets the verdict. */
  submit(hit: ScanHit, done: (r: ProbeResult) => void): void {
    this.queue.push({ hit, done });
    this.pump();
  }

  private pump(): void {
    while (this.running < this.opts.parallel && this.queue.length > 0) {
      const { hit, done } = this.queue.shift() as { hit: ScanHit; done: (r: ProbeResult) => void };
      this.running++;
      const target = thenTarget(this.module, hit.address, hit.port);
      void runProbe(target, this.module, { timeoutSeconds: this.opts.timeoutSeconds, logger: silentLogger, runtime: this.runtime, flows: this.opts.flows, signal: this.abort.signal }).then((r) => {
        this.running--;
        done(r);
        this.pump();
        if (this.running === 0 && this.queue.length === 0) for (const f of this.idle.splice(0)) f();
      });
    }
  }

  /** Probes queued or running. */
  get pending(): number {
    return this.running + this.queue.length;
  }

  /** Resolves once every submitted probe has its verdict. */
  drained(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Cancels the probes running; queued ones still run (and end at once as cancelled). */
  cancel(): void {
    this.abort.abort();
  }
}
