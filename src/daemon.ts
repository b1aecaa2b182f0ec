// The long-running daemon: config → plan → scheduler → results → outputs, one HTTP listener,
// reload on SIGHUP or POST /-/reload, graceful stop on SIGTERM, sd_notify for Type=notify units.
import { createHash } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { readFileSync } from 'node:fs';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { DEFAULT_PROBE_LIMITS, ProbeAdmission, type ProbeLimits } from './api/admission';
import { gatewayCounts } from './api/gateway';
import { startServer } from './api/server';
import { addressText, type ListenOn } from './api/listen';
import { BpfFlowRegistry } from './attribution';
import { builtinConfig } from './config/builtin';
import { loadConfigFile } from './config/load';
import type { Config, Task } from './config/types';
import { Breakers } from './health/breaker';
import { taskView } from './api/tasks';
import { ApiTasks } from './tasks/api_tasks';
import { TargetsWatcher } from './config/targets_watch';
import { DNSServerWindow } from './health/dns_servers';
import { TaskLifecycle } from './health/lifecycle';
import { HealthStage } from './health/stage';
import { openDropTracer, type DropTracer } from './native/bpf';
import { IdleReducer, releaseStartupMemory } from './native/memory';
import { sdNotify } from './native/notify';
import type { GatewayLimits } from './native/stream';
import { registerBpfMetrics } from './outputs/bpf_metrics';
import { registerDNSServerMetrics } from './outputs/dns_server_metrics';
import { registerGatewayMetrics, registerProbeRequestMetrics } from './outputs/gateway_metrics';
import { registerEngineQosMetrics } from './outputs/engine_qos_metrics';
import { registerLifecycleMetrics } from './outputs/lifecycle_metrics';
import { ResultHistory } from './outputs/history';
import { LatestResults } from './outputs/latest';
import { logResult, logTransition } from './outputs/log';
import { TaskMetrics } from './outputs/metrics';
import { registerSchedulerMetrics } from './outputs/sched_metrics';
import { LagMonitor } from './schedule/overload';
import { diffTasks, moduleOf, planTask, sameTask, type TaskBlock } from './schedule/plan';
import { Scheduler } from './schedule/scheduler';
import { engineQos, icmpTableLog2, Runtime } from './runtime';
import type { LogFormat } from './log';
import { defaultWorkers, ProbeRunner } from './workers/runner';
import { VERSION } from './version';
import { WebConfigSource } from './web/source';

export interface DaemonOptions {
  configFile?: string;
  /** where to listen: addresses and systemd fds (one or more) */
  listen: ListenOn | ListenOn[];
  /** --web.config.file: TLS and basic auth in front of every listener */
  webConfigFile?: string;
  /** --web.route-prefix, normalised ("/" or "/PREFIX/") */
  routePrefix?: string;
  /** --web.external-url: where "/" redirects under a route prefix */
  externalURL?: string;
  /** --history.limit: /probe results kept for / and /logs */
  historyLimit?: number;
  /** --web.enable-diagnostics: /debug/pprof/ (CPU profile, heap snapshot, runtime stats) */
  diagnostics?: boolean;
  /** --config.enable-auto-reload: check the config file this often and reload it when it changed */
  autoReloadSeconds?: number;
  logger: Logger;
  /** how long in-flight probes may run on after SIGTERM */
  stopGraceMs?: number;
  /** --probes.max-in-flight: overrides the config's scheduler.max_in_flight */
  maxInFlight?: number;
  /** load the eBPF drop tracer to attribute lost probes (default true; without privileges it says why once) */
  ebpf?: boolean;
  /** interfaces to attach the XDP observer to (replies seen at the NIC before the stack) */
  xdpInterfaces?: string[];
  /** bounds of the eBPF flow map and ring buffer */
  ebpfLimits?: { maxFlows: number; ringBytes: number };
  /** bounds on /probe probes and their timeouts (default DEFAULT_PROBE_LIMITS) */
  probeLimits?: ProbeLimits;
  /** bounds on the listener's connections (default DEFAULT_LISTENER_LIMITS) */
  listenerLimits?: GatewayLimits;
  /**
   * --workers: threads for TLS, body-rule and DoH probes (0: all on the main thread). Unset: defaultWorkers(),
   * used only while eBPF attribution is off (src/workers/runner.ts attributeOnMain).
   */
  workers?: number;
  /** the log format, for the workers' own loggers */
  logFormat?: LogFormat;
  /** --tasks.state-file: where tasks made through the API are kept across restarts (absent: not kept) */
  tasksStateFile?: string;
  /** --targets.reload-interval: how often targets files are checked for changes (default 10 s; 0: never) */
  targetsReloadSeconds?: number;
}

/** How often targets files are checked for a change by default (seconds). */
export const DEFAULT_TARGETS_RELOAD_SECONDS = 10;

/** Connections the listener holds: enough for any Prometheus fleet, too few for a flood to matter. */
export const DEFAULT_LISTENER_LIMITS: Readonly<GatewayLimits> = { maxConnections: 4096, maxPerClient: 1024, headerTimeoutMs: 10_000 };

export class Daemon {
  private config!: Config;
  private servers: http.Server[] = [];
  private addresses: AddressInfo[] = [];
  private readonly health = new HealthStage({ onListenerError: (err) => this.opts.logger.error({ err }, 'a health transition listener failed') });
  /** /probe admission: its probes count in sonde_probes_in_flight with the tasks' */
  private readonly admission: ProbeAdmission;
  private readonly metrics = new TaskMetrics(VERSION, this.health, () => this.inFlight());
  private readonly latest = new LatestResults(this.health);
  /** each task's Pending/Running/Failed/Paused, from the health stage */
  private readonly lifecycle = new TaskLifecycle(this.health);
  /** DNS servers' rolling health, from the dns probes of tasks and /probe */
  private readonly dnsServers = new DNSServerWindow();
  private readonly scheduler: Scheduler;
  /** per-target circuit breakers of tasks with `breaker:` */
  private readonly breakers: Breakers;
  /** the tasks as planned now, by name: what a reload or an API change is diffed against */
  private readonly plan = new Map<string, TaskBlock>();
  private lag?: LagMonitor;
  /** the engines of every probe this daemon runs (tasks and /probe) */
  private readonly runtime: Runtime;
  /** where each task probe runs: a worker thread (src/workers) or this one */
  private readonly probes: ProbeRunner;
  private readonly stopAbort = new AbortController();
  private watchdog?: NodeJS.Timeout;
  // An idle daemon allocates too little for V8 ever to collect its young and old generations: given back each IDLE_REDUCE_MS.
  private readonly idleReducer = new IdleReducer(() => this.inFlight() > 0);
  private autoReload?: NodeJS.Timeout;
  private stopped?: Promise<void>;
  private tracer: DropTracer | null = null;
  private flows?: BpfFlowRegistry;
  private isReady = false;
  /** tasks made through PUT /api/v1/tasks, merged with the file's at every load */
  private readonly apiTasks: ApiTasks;
  /** targets_files re-read on change, the affected tasks applied alone */
  private readonly targetsWatch: TargetsWatcher;

  constructor(private readonly opts: DaemonOptions) {
    this.admission = new ProbeAdmission(opts.probeLimits ?? DEFAULT_PROBE_LIMITS);
    // The ICMP table sized for the probes this daemon lets run at once, not for the CLI's million-echo bursts.
    this.runtime = new Runtime({ icmpCapacityLog2: icmpTableLog2((opts.maxInFlight ?? 4096) + (opts.probeLimits ?? DEFAULT_PROBE_LIMITS).maxConcurrent) });
    this.apiTasks = new ApiTasks({
      stateFile: opts.tasksStateFile,
      logger: opts.logger,
      change: (upsert, remove) => this.changeTasks(upsert, remove),
      view: (task) => taskView(task, this.lifecycle.status(task.name), true),
    });
    // Every /probe in flight listens on this signal; thousands at once are normal, not a leak.
    setMaxListeners(0, this.stopAbort.signal);
    registerBpfMetrics(this.metrics.registry, () => this.tracer);
    registerProbeRequestMetrics(this.metrics.registry, this.admission, () => gatewayCounts().gone);
    registerDNSServerMetrics(this.metrics.registry, this.dnsServers);
    this.health.subscribe((t) => logTransition(opts.logger, t));
    // flows read at each run: the registry may appear after the runner is made (eBPF loads at start)
    this.probes = new ProbeRunner({ workers: opts.workers ?? defaultWorkers(), attributeOnMain: opts.workers === undefined, logger: opts.logger, logFormat: opts.logFormat, runtime: this.runtime, flows: () => this.flows });
    registerLifecycleMetrics(this.metrics.registry, this.lifecycle);
    registerEngineQosMetrics(this.metrics.registry, this.runtime);
    this.targetsWatch = new TargetsWatcher({ logger: opts.logger, registry: this.metrics.registry, config: () => this.config, change: (u, r) => this.changeTasks(u, r) });
    // A task's first state (at start, every task Pending) at debug: thousands of tasks, thousands of lines.
    this.lifecycle.subscribe((task, from, to, reason) => opts.logger[from === undefined ? 'debug' : 'info']({ task: task.name, from, to, reason }, 'task state'));
    this.breakers = new Breakers(this.health, { onTransition: (block, _row, from, to) => this.metrics.recordBreaker(block.task, from, to) });
    this.scheduler = new Scheduler({
      logger: opts.logger,
      maxInFlight: opts.maxInFlight,
      gate: this.breakers,
      lag: () => this.lag?.lag() ?? 0,
      // /probe requests are a class of their own, admitted ahead of best_effort tasks
      external: () => this.admission.inFlight,
      onShed: (job, reason) => this.metrics.recordShed(job.task, reason),
      runner: (job, signal) => this.probes.run(job.target, job.module, job.task.timeout, signal, job.task.qos ?? 'standard'),
      onSkip: (job, count, cause) => this.metrics.recordSkip(job.task.name, count, cause),
      onResult: (job, result) => {
        this.health.record(job, result);
        this.lifecycle.record(job, result);
        this.dnsServers.record(job.module, result);
        this.metrics.record(job, result);
        this.latest.record(job, result);
        logResult(opts.logger, job, result);
      },
    });
    registerSchedulerMetrics(this.metrics.registry, () => this.scheduler, this.breakers);
  }

  /** The address actually bound (port 0 picks a free one). */
  get listening(): AddressInfo | undefined {
    return this.addresses[0];
  }

  /** Probe worker threads running now: 0 until a probe needs one (src/workers) and after stop. */
  get probeWorkers(): number {
    return this.probes.pool?.running ?? 0;
  }

  /** Every address bound, in the order asked. */
  get listeningAll(): readonly AddressInfo[] {
    return this.addresses;
  }

  /** The file's config (or the built-in one) with the API's tasks merged in. */
  private loadConfig(): Config {
    return this.apiTasks.merge(this.loadFileConfig());
  }

  private loadFileConfig(): Config {
    if (this.opts.configFile) return loadConfigFile(this.opts.configFile);
    const a = this.addresses[0];
    // A wildcard bind is reached over loopback; "::" takes IPv4 too (dual-stack, as Node binds it).
    const host = a.address === '::' || a.address === '0.0.0.0' ? '127.0.0.1' : a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return builtinConfig(`${host}:${a.port}`);
  }

  /** A new config: only the tasks that differ from the plan (by name and content) are touched. */
  private apply(config: Config): void {
    const { upsert, remove } = diffTasks(this.plan, config);
    const blocks = upsert.map((t) => planTask(t, moduleOf(config.modules, t)));
    this.config = config;
    this.scheduler.configure(config.scheduler, config.tenants);
    this.runtime.setEngineQos(engineQos(config.scheduler));
    this.changeBlocks(blocks, remove);
    this.metrics.reloadOk.set(1);
    this.metrics.reloadTime.set(Date.now() / 1000);
  }

  /**
   * Tasks created or changed and tasks removed at run time (PUT/DELETE /api/v1/tasks), validated by
   * the caller: a task equal to the one planned is left alone, a changed one restarts on its grid
   * (the targets it kept keep their state), a removed one stops and its series go. O(changed targets).
   */
  changeTasks(upsert: Task[], remove: string[]): void {
    const changed = upsert.filter((t) => {
      const b = this.plan.get(t.name);
      return b === undefined || !sameTask(b, t, this.config.modules.get(t.module));
    });
    const blocks = changed.map((t) => planTask(t, moduleOf(this.config.modules, t)));
    const gone = new Set([...remove, ...upsert.map((t) => t.name)]);
    this.config = { ...this.config, tasks: [...this.config.tasks.filter((t) => !gone.has(t.name)), ...upsert] };
    this.changeBlocks(blocks, remove.filter((n) => this.plan.has(n)));
  }

  private changeBlocks(blocks: TaskBlock[], remove: string[]): void {
    for (const name of remove) this.plan.delete(name);
    for (const b of blocks) this.plan.set(b.task.name, b);
    // Health first: the stages after it read its rows; the scheduler last, when all are ready.
    this.health.applyTasks(blocks, remove);
    this.breakers.applyTasks(blocks, remove);
    this.metrics.applyTasks(blocks, remove);
    this.latest.applyTasks(blocks, remove);
    this.lifecycle.changeTasks(
      blocks.map((b) => b.task),
      remove,
    );
    this.scheduler.applyTasks(blocks, remove);
    this.targetsWatch.setTasks(this.config.tasks);
  }

  /** Loads the config (a bad file throws ConfigError), listens, starts probing, tells systemd READY=1. */
  async start(): Promise<void> {
    const early = this.opts.configFile ? this.loadConfig() : undefined;
    const web = this.opts.webConfigFile ? new WebConfigSource(this.opts.webConfigFile, this.opts.logger) : undefined;
    this.startTracer();
    const { servers, addresses, gateway } = await startServer(
      {
        logger: this.opts.logger,
        metrics: this.metrics,
        latest: this.latest,
        config: () => this.config,
        ready: () => this.isReady,
        reload: () => this.reload(),
        flows: () => this.flows,
        runtime: this.runtime,
        probes: this.probes,
        signal: this.stopAbort.signal,
        admission: this.admission,
        observe: (module, result) => this.dnsServers.record(module, result),
        listenerLimits: this.opts.listenerLimits ?? DEFAULT_LISTENER_LIMITS,
        routePrefix: this.opts.routePrefix,
        externalURL: this.opts.externalURL,
        history: new ResultHistory(this.opts.historyLimit),
        diagnostics: this.opts.diagnostics,
        tasks: { config: () => this.config, lifecycle: this.lifecycle, changes: this.apiTasks },
      },
      Array.isArray(this.opts.listen) ? this.opts.listen : [this.opts.listen],
      {},
      web,
    );
    this.servers = servers;
    if (gateway) registerGatewayMetrics(this.metrics.registry);
    this.addresses = addresses;
    this.apply(early ?? this.loadConfig());
    this.lag = new LagMonitor();
    this.scheduler.start();
    this.isReady = true;
    const where = addresses.map(addressText).join(', ');
    this.opts.logger.info({ listen: where, config: this.config.source, tasks: this.config.tasks.length }, 'sonde is running');
    sdNotify({ READY: '1', STATUS: `probing ${this.config.tasks.length} tasks, listening on ${where}`, MAINPID: String(process.pid) });
    this.startWatchdog();
    this.startAutoReload();
    const every = this.opts.targetsReloadSeconds ?? DEFAULT_TARGETS_RELOAD_SECONDS;
    if (every > 0) this.targetsWatch.start(every * 1000);
    // Start-up's grown young generation and freed C heap, given back now rather than by V8's memory
    // reducer ~8 s later (issue 11: idle RSS 83 -> 75 MB); one full GC of a few tens of ms, once.
    // And the pages of node's dynamic-linking tables that start-up read (~7 MB, src/native/memory.ts).
    const released = releaseStartupMemory();
    this.opts.logger.debug({ link_table_bytes: released.linkTableBytes, error: released.linkTableError }, 'start-up memory released');
    this.idleReducer.start();
  }

  /**
   * --config.enable-auto-reload: the file's bytes are compared every interval and a change that
   * held for an interval reloads it (blackbox 0.25+); a bad edit keeps the running config, as any
   * reload does.
   */
  private startAutoReload(): void {
    const file = this.opts.configFile;
    const every = this.opts.autoReloadSeconds;
    if (!file || !every) return;
    const digest = () => {
      try {
        return createHash('sha256').update(readFileSync(file)).digest('hex');
      } catch {
        return 'unreadable';
      }
    };
    let seen = digest();
    let pending: string | undefined;
    this.autoReload = setInterval(() => {
      const now = digest();
      // A change is taken once it held for a whole interval: an editor's write in progress (the
      // file truncated, then written) must not be loaded half-written.
      if (now === seen || now !== pending) {
        pending = now === seen ? undefined : now;
        return;
      }
      seen = now;
      pending = undefined;
      void this.reload();
    }, every * 1000);
    this.autoReload.unref();
  }

  /** eBPF attribution: optional; without it probing goes on and attribution is `unknown`. */
  private startTracer(): void {
    if (this.opts.ebpf === false) return;
    this.tracer = openDropTracer({ ...this.opts.ebpfLimits }, (msg) => this.opts.logger.warn(`${msg}; probing goes on, loss attribution is "unknown"`));
    if (!this.tracer) return;
    for (const iface of this.opts.xdpInterfaces ?? []) {
      try {
        this.tracer.attachXdp(iface);
      } catch (err) {
        this.opts.logger.warn({ iface, error: (err as Error).message }, 'cannot attach the XDP observer; replies are not seen at the NIC');
      }
    }
    this.flows = new BpfFlowRegistry(this.tracer);
    this.opts.logger.info({ xdp: this.opts.xdpInterfaces ?? [] }, 'eBPF drop tracer attached');
  }

  private startWatchdog(): void {
    const usec = Number(process.env.WATCHDOG_USEC);
    const pid = process.env.WATCHDOG_PID;
    if (!usec || (pid && Number(pid) !== process.pid)) return;
    // systemd recommends pinging at half the interval (sd_watchdog_enabled(3)).
    this.watchdog = setInterval(() => sdNotify({ WATCHDOG: '1' }), Math.max(usec / 2000, 100));
    this.watchdog.unref();
  }

  /** Swaps in a new config; a bad one keeps the old running and sets the reload gauge to 0. */
  async reload(): Promise<{ ok: boolean; error?: string }> {
    // MONOTONIC_USEC is CLOCK_MONOTONIC, which is what process.hrtime reads on Linux (sd_notify(3)).
    sdNotify({ RELOADING: '1', MONOTONIC_USEC: String(process.hrtime.bigint() / 1000n) });
    try {
      this.apply(this.loadConfig());
      this.opts.logger.info({ config: this.config.source, tasks: this.config.tasks.length }, 'configuration reloaded');
      sdNotify({ READY: '1', STATUS: `probing ${this.config.tasks.length} tasks` });
      return { ok: true };
    } catch (err) {
      this.metrics.reloadOk.set(0);
      const error = (err as Error).message;
      this.opts.logger.error({ error }, 'configuration reload failed; the previous configuration stays in force');
      sdNotify({ READY: '1', STATUS: 'reload failed; running the previous configuration' });
      return { ok: false, error };
    }
  }

  /** probes running now: the tasks' and /probe's (sonde_probes_in_flight) */
  private inFlight(): number {
    return this.scheduler.inFlight + this.admission.inFlight;
  }

  /** STOPPING=1, no new probes, in-flight ones finish (or are aborted after the grace), then close. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.isReady = false;
      sdNotify({ STOPPING: '1', STATUS: 'stopping' });
      clearInterval(this.watchdog);
      this.idleReducer.stop();
      clearInterval(this.autoReload);
      this.targetsWatch.stop();
      const grace = this.opts.stopGraceMs ?? 5000;
      this.opts.logger.info({ in_flight: this.scheduler.inFlight, grace_ms: grace }, 'stopping');
      await this.scheduler.stop(grace);
      this.lag?.close();
      this.stopAbort.abort();
      this.admission.cancelAll();
      this.tracer?.stop();
      await Promise.all(
        this.servers.map(
          (server) =>
            new Promise<void>((resolve) => {
              server.close(() => resolve());
              server.closeIdleConnections();
              setTimeout(() => server.closeAllConnections(), 1000).unref();
            }),
        ),
      );
      // The worker threads end, then the engines, the gateway's listener and connections with them (no probe is left in flight).
      await this.probes.close();
      this.runtime.close();
      this.opts.logger.info('stopped');
    })();
    return this.stopped;
  }

  /** Wires SIGHUP to reload and SIGTERM/SIGINT to a graceful stop. */
  handleSignals(onStopped: () => void): void {
    process.on('SIGHUP', () => void this.reload());
    const stop = () => void this.stop().then(onStopped);
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  }
}
