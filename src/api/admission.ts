// Admission of /probe requests, whichever front door took them: a bound on probes running at once
// overall and per client address, so that no client (a flood, a misconfigured Prometheus) can take
// the engines' slots and descriptors that scheduled tasks need. Over a bound a request is refused
// at once (503) and counted; a request whose client left is cancelled and counted.

export interface ProbeLimits {
  /** /probe probes running at once, over every client */
  maxConcurrent: number;
  /** /probe probes running at once for one client address */
  maxPerClient: number;
  /** the longest timeout a /probe client may ask for (X-Prometheus-Scrape-Timeout-Seconds), seconds */
  maxTimeoutSeconds: number;
  /** subtracted from the scrape timeout, as blackbox_exporter's --timeout-offset */
  timeoutOffsetSeconds: number;
}

export const DEFAULT_PROBE_LIMITS: Readonly<ProbeLimits> = {
  // Half of one stream engine's 4096 slots: scheduled tasks keep the rest whatever /probe does.
  maxConcurrent: 2048,
  maxPerClient: 1024,
  // blackbox_exporter's timeout when Prometheus sends no header.
  maxTimeoutSeconds: 120,
  timeoutOffsetSeconds: 0.5,
};

export type RefusalReason = 'overall' | 'client';

export class ProbeAdmission {
  /** /probe probes running now */
  inFlight = 0;
  readonly refused: Record<RefusalReason, number> = { overall: 0, client: 0 };
  /** probes cancelled because their client left */
  cancelled = 0;
  /** requests naming a module the config lacks (blackbox_module_unknown_total) */
  unknownModule = 0;
  /** requests the probe policy refused, by reason (sonde_probe_denied_total) */
  readonly denied = new Map<string, number>();
  private readonly perClient = new Map<string, number>();
  /**
   * the requests in flight that can be cancelled (cancelAll at shutdown), each knowing its place
   * (RequestCancel.activeAt): a Set's table grew and shrank with every batch of answers
   */
  private readonly active: RequestCancel[] = [];

  constructor(readonly limits: Readonly<ProbeLimits>) {}

  /** Takes a place for a probe of `client`; returns the refusal's text when over a bound. */
  admit(client: string, cancel?: RequestCancel): string | undefined {
    if (this.inFlight >= this.limits.maxConcurrent) {
      this.refused.overall++;
      return `Too many concurrent /probe requests (at most ${this.limits.maxConcurrent}); try again later`;
    }
    const mine = this.perClient.get(client) ?? 0;
    if (mine >= this.limits.maxPerClient) {
      this.refused.client++;
      return `Too many concurrent /probe requests from ${client} (at most ${this.limits.maxPerClient}); try again later`;
    }
    this.perClient.set(client, mine + 1);
    this.inFlight++;
    if (cancel && cancel.activeAt < 0) {
      cancel.activeAt = this.active.length;
      this.active.push(cancel);
    }
    return undefined;
  }

  /** Cancels every request in flight (the daemon stops). */
  cancelAll(): void {
    for (const c of [...this.active]) c.abort();
  }

  release(client: string, cancel?: RequestCancel): void {
    if (cancel && cancel.activeAt >= 0) {
      const last = this.active.pop() as RequestCancel;
      if (last !== cancel) {
        this.active[cancel.activeAt] = last;
        last.activeAt = cancel.activeAt;
      }
      cancel.activeAt = -1;
    }
    const mine = this.perClient.get(client) ?? 0;
    if (mine <= 1) this.perClient.delete(client);
    else this.perClient.set(client, mine - 1);
    this.inFlight--;
  }
}

/**
 * The cancellation of one /probe request: what runProbe listens on (as an AbortSignal) when the
 * client may leave. Lighter than an AbortController per request, which the gateway would pay on
 * every answer for the rare client that leaves.
 */
export class RequestCancel {
  aborted = false;
  /** its place among ProbeAdmission's requests in flight; -1 when not admitted */
  activeAt = -1;
  private listeners: (() => void)[] | undefined;

  addEventListener(_type: 'abort', fn: () => void): void {
    if (this.aborted) return;
    (this.listeners ??= []).push(fn);
  }

  removeEventListener(_type: 'abort', fn: () => void): void {
    const l = this.listeners;
    if (!l) return;
    const i = l.indexOf(fn);
    if (i >= 0) l.splice(i, 1);
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const l = this.listeners;
    this.listeners = undefined;
    if (l) for (const fn of l) fn();
  }
}
