// One /probe request, whichever front door took it (Node's HTTP server in src/api/server.ts, the
// native gateway in src/api/gateway.ts): blackbox_exporter's parameters, admission (src/api/
// admission.ts), the probe through the normal runner (flow registration, deadline), cancellation
// when the client leaves, the one blackbox writer, one log line on failure.
import type { Logger } from 'pino';
import type { Config, Module } from '../config/types';
import { renderProbe } from '../outputs/blackbox';
import { debugOutput, probeLogBuffer } from '../outputs/blackbox/debug';
import type { ProbeRegistry as Registry } from '../outputs/blackbox/registry';
import { resultToJSON } from '../outputs/json';
import { ProbeFailure } from '../probers/errors';
import { withHostname } from '../probers/http/probe';
import type { FlowRegistry } from '../probers/types';
import type { ProbeResult } from '../result';
import type { Runtime } from '../runtime';
import type { ProbeRunner } from '../workers/runner';
import { runProbe } from '../schedule/run_probe';
import type { ResultHistory } from '../outputs/history';
import type { ProbeAdmission, RequestCancel } from './admission';
import { probeTimeout } from './probe_params';
import { ProbeDenied, TargetPolicy } from '../policy/check';
import { PolicyGate } from '../policy/gate';

export interface ProbeDeps {
  logger: Logger;
  config(): Config;
  flows: () => FlowRegistry | undefined;
  /** the daemon's engines */
  runtime: Runtime;
  /** aborts /probe requests in flight when the daemon stops */
  signal: AbortSignal;
  /** bounds on /probe probes at once, and the timeout limits */
  admission: ProbeAdmission;
  /** where each probe's debug text is kept for / and /logs (none kept when absent) */
  history?: ResultHistory;
  /** sees every /probe result (the daemon's rolling DNS server health) */
  observe?: (module: Module, result: ProbeResult) => void;
  /** the daemon's probe runner: TLS, body-rule and DoH probes on its worker threads (src/workers); absent: all here */
  probes?: ProbeRunner;
}

/** Who asks: the client's address, and what aborts the request when the client leaves. */
export interface Asker {
  client: string;
  cancel?: RequestCancel;
}

/** The query parameters /probe reads (null: absent). */
export interface ProbeParams {
  module: string | null;
  target: string | null;
  debug: boolean;
  hostname: string | null;
}

export interface ProbeAnswer {
  status: number;
  contentType: string;
  /** a short text (errors, debug); '' when `series` is the answer */
  body: string;
  /**
   * The probe's series, rendered by whoever sends them: straight into the gateway's batch of
   * answers (src/native/stream_gateway.ts), or to bytes for Node's server.
   */
  series?: Registry;
}

const TEXT = 'text/plain; charset=utf-8';

export function probeParams(q: URLSearchParams): ProbeParams {
  return { module: q.get('module'), target: q.get('target'), debug: q.get('debug') === 'true', hostname: q.get('hostname') };
}

export function probeParamsOfQuery(query: string): ProbeParams {
  return probeParams(new URLSearchParams(query));
}

function bad(body: string): ProbeAnswer {
  return { status: 400, contentType: TEXT, body };
}

/** Serves one /probe request; `scrapeTimeout` is the X-Prometheus-Scrape-Timeout-Seconds header. */
export async function serveProbe(deps: ProbeDeps, p: ProbeParams, scrapeTimeout: string | string[] | undefined, asker: Asker): Promise<ProbeAnswer> {
  // blackbox_exporter defaults the module to http_2xx and answers 400 with these texts.
  const moduleName = p.module || 'http_2xx';
  const base: Module | undefined = deps.config().modules.get(moduleName);
  if (!base) {
    deps.admission.unknownModule++;
    return bad(`Unknown module "${moduleName}"\n`);
  }
  const target = p.target;
  if (!target) return bad('Target parameter is missing\n');
  const timeout = probeTimeout(base, scrapeTimeout, deps.admission.limits);
  if (typeof timeout === 'string') return bad(`${timeout}\n`);
  let module = base;
  if (p.hostname && base.prober === 'http') {
    try {
      module = withHostname(base, p.hostname);
    } catch (err) {
      if (err instanceof ProbeFailure) return bad(`${err.message}\n`);
      throw err;
    }
  }
  const refusal = deps.admission.admit(asker.client, asker.cancel);
  if (refusal !== undefined) return { status: 503, contentType: TEXT, body: `${refusal}\n` };
  let result;
  // debug=true: the probe logs at debug level into its answer, as blackbox's scrape logger does.
  const logs = p.debug ? probeLogBuffer() : undefined;
  const logger = logs?.logger.child({ module: moduleName, target }) ?? deps.logger;
  logs?.logger.debug({ module: moduleName, target, probe: module.prober, timeout_seconds: timeout }, 'Beginning probe');
  try {
    // An await only when there is a policy to check: the common case stays one turn shorter.
    const policy = deps.config().probe_policy ? await policyGate(deps, target, module, timeout, asker) : undefined;
    if (policy && 'status' in policy) return policy;
    // On this thread: debug=true logs into the answer through this request's logger, and a policy's
    // gate (the addresses it checked, pinned) lives here; neither reaches a worker thread.
    result = deps.probes && !logs && !policy
      ? await deps.probes.run(target, module, timeout, asker.cancel ?? deps.signal, 'probe')
      : await runProbe(target, module, { timeoutSeconds: timeout, logger, runtime: deps.runtime, flows: deps.flows(), signal: asker.cancel ?? deps.signal, gate: policy, qos: 'probe' });
  } finally {
    deps.admission.release(asker.client, asker.cancel);
  }
  if (asker.cancel?.aborted) {
    // Nobody waits for this answer: count it, log it once, render nothing.
    deps.admission.cancelled++;
    deps.logger.debug({ target, module: module.name, client: asker.client }, 'probe cancelled: the client left');
    return { status: 499, contentType: TEXT, body: 'client closed request\n' };
  }
  deps.observe?.(module, result);
  if (!result.success) deps.logger.debug({ target, module: module.name, reason: result.reason, detail: result.message, attribution: result.attribution }, 'probe failed');
  result.timeoutSeconds = timeout;
  const reg = renderProbe(result, module);
  // Rendered when /logs asks: most probes' debug text is never read. The result alone is kept
  // (its series are rendered again then): less for the garbage collector to carry meanwhile.
  const done = result;
  deps.history?.add({ module: module.name, target, success: result.success, log: () => debugText(done, renderProbe(done, module)) });
  if (logs) {
    const fields = { module: moduleName, target, duration_seconds: result.durationSeconds, ...(result.success ? {} : { reason: result.reason, err: result.message }) };
    if (result.success) logs.logger.debug(fields, 'Probe succeeded');
    else logs.logger.error(fields, 'Probe failed');
    // sonde's result as JSON too: the facts behind the series (phases, hops, attribution).
    logs.logger.debug({ result: resultToJSON(result) }, 'Result');
    return { status: 200, contentType: TEXT, body: debugOutput(logs.text(), reg.metricsSync(), module) };
  }
  return { status: 200, contentType: reg.contentType, body: '', series: reg };
}

const POLICIES = new WeakMap<Config, TargetPolicy>();

/** How a refusal is counted and logged, wherever it happens (before the probe, or at a redirect in it). */
function countDenial(deps: ProbeDeps, target: string, module: Module, asker: Asker, err: ProbeDenied, during: boolean): void {
  deps.admission.denied.set(err.reason, (deps.admission.denied.get(err.reason) ?? 0) + 1);
  deps.logger.info({ target, module: module.name, client: asker.client, reason: err.reason, detail: err.message }, during ? 'probe stopped by probe_policy' : 'probe refused by probe_policy');
}

/**
 * The probe_policy's refusal of `target` as the answer (403), counted by reason; else the gate the
 * probe runs under (src/policy/gate.ts): pinned to the addresses checked here, every redirect checked.
 */
async function policyGate(deps: ProbeDeps, target: string, module: Module, timeoutSeconds: number, asker: Asker): Promise<ProbeAnswer | PolicyGate | undefined> {
  const cfg = deps.config();
  if (!cfg.probe_policy) return undefined;
  let policy = POLICIES.get(cfg);
  if (!policy) POLICIES.set(cfg, (policy = new TargetPolicy(cfg.probe_policy)));
  // The name is resolved within the probe's timeout, and not after its client left.
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutSeconds * 1000);
  const stop = () => ac.abort();
  asker.cancel?.addEventListener('abort', stop);
  try {
    const checked = await policy.check(target, module, deps.runtime, ac.signal);
    return new PolicyGate(policy, checked, (err) => countDenial(deps, target, module, asker, err, true));
  } catch (err) {
    if (!(err instanceof ProbeDenied)) throw err;
    countDenial(deps, target, module, asker, err, false);
    return { status: 403, contentType: TEXT, body: `probe refused by probe_policy (${err.reason}): ${err.message}\n` };
  } finally {
    clearTimeout(timer);
    asker.cancel?.removeEventListener('abort', stop);
  }
}

/** What &debug=true answers, and /logs shows of a probe. */
function debugText(result: ProbeResult, reg: { metricsSync(): string }): string {
  return `Result:\n${JSON.stringify(resultToJSON(result), null, 2)}\n\nMetrics that would have been returned:\n${reg.metricsSync()}`;
}
