// Runs every row of every planned task on its task's interval, at the row's phase within the
// interval plus jitter, within the bounds (global, per task, per tenant, per destination host), and
// sheds by QoS class under overload. State is per task block in typed arrays (src/schedule/block.ts:
// rows on a ring in the order of their grid points) under a heap of blocks by their next due run.
// One timer for the whole scheduler. Every due run is accounted for: started, skipped with a cause,
// shed with a reason, or still waiting (counts: due = started + skipped + shed + queued).
// Tasks change one at a time (applyTasks): an unchanged task keeps its block, state and rhythm.
// The runner (what a run does) and the clock (when) come from outside: the daemon gives runProbe
// and the real clock, tests a fake of each (test/schedule/sched_harness.ts).
import { setMaxListeners } from 'node:events';
import { SCHEDULER_DEFAULTS } from '../config/defaults';
import type { SchedulerSettings, Tenant } from '../config/types';
import type { ProbeResult } from '../result';
import { RUNNING, SchedBlock, THROTTLED, WAITING } from './block';
import { realClock, type Clock, type TimerHandle } from './clock';
import { IndexedHeap } from './heap';
import { HostCounts, hostOf, Tenants } from './limits';
import { overloadLevel, shedAt, shedReason, type ShedReason } from './overload';
import type { SchedulerOptions, ScheduleCounts, SkipCause } from './types';
import { jobOf, rowMap, type Job, type TaskBlock } from './plan';

export type { JobRunner, RunGate, ScheduleCounts, SchedulerOptions, ShedReason, SkipCause } from './types';

/** How many waiting rows of one block a drain looks past when their hosts are full. */
const HOST_LOOKAHEAD = 64;
const BEST_EFFORT = 2;

export class Scheduler {
  private blocks: (SchedBlock | undefined)[] = [];
  private readonly byName = new Map<string, SchedBlock>();
  private blockDue = new Float64Array(16);
  private readonly top = new IndexedHeap(this.blockDue);
  private freeSlots: number[] = [];
  /** blocks with waiting runs, per QoS rank */
  private readonly active: SchedBlock[][] = [[], [], []];
  private readonly tenants: Tenants;
  private readonly hosts: HostCounts;
  private settings: SchedulerSettings;
  private maxInFlight: number;
  private timer: TimerHandle | undefined;
  private timerAt = Infinity;
  /** clock ms at which a throttled tenant may start a run again */
  private wake = Infinity;
  private stopping = false;
  private idle: (() => void) | undefined;
  private readonly abort = new AbortController();
  private readonly clock: Clock;
  /** made once: arming the timer makes no closure */
  private readonly onTimer = (): void => this.tick();
  private readonly random: () => number;
  inFlight = 0;
  queued = 0;
  readonly counts: ScheduleCounts = { due: 0, started: 0, skipped: { busy: 0, stall: 0, held: 0, reload: 0 }, shed: { queue: 0, lag: 0, engine: 0 } };

  constructor(private readonly opts: SchedulerOptions) {
    this.clock = opts.clock ?? realClock;
    this.random = () => this.clock.random();
    this.tenants = new Tenants(() => this.clock.now());
    this.settings = { ...SCHEDULER_DEFAULTS, ...opts.settings };
    this.maxInFlight = opts.maxInFlight ?? this.settings.max_in_flight;
    this.hosts = new HostCounts(this.settings.max_per_host);
    this.tenants.configure(opts.tenants);
    // Every probe in flight listens on this signal; thousands at once are normal, not a leak.
    setMaxListeners(0, this.abort.signal);
  }

  /** runs not started, whatever the cause */
  get skipped(): number {
    const s = this.counts.skipped;
    return s.busy + s.stall + s.held + s.reload;
  }

  get stalled(): number {
    return this.counts.skipped.stall;
  }

  /** A new `scheduler:` section and `tenants:` (a reload); --max-in-flight still wins. */
  configure(settings: Partial<SchedulerSettings> | undefined, tenants: ReadonlyMap<string, Tenant> | undefined): void {
    this.settings = { ...SCHEDULER_DEFAULTS, ...settings };
    this.maxInFlight = this.opts.maxInFlight ?? this.settings.max_in_flight;
    this.hosts.max = this.settings.max_per_host;
    this.tenants.configure(tenants);
    this.drain();
  }

  /** tenants known (configured or named by a task), with their throttled counts */
  tenantStates(): Iterable<{ name: string; throttled: number; inFlight: number }> {
    return this.tenants.all();
  }

  /** The planned block of a task now, undefined: none. */
  planned(name: string): TaskBlock | undefined {
    return this.byName.get(name)?.plan;
  }

  /**
   * Tasks added or changed (planned blocks) and tasks removed (names). A block already planned is
   * left alone; a changed task restarts on its grid: a target it kept at the same interval keeps its
   * next run time, a run of the old task waiting for a slot is skipped ('reload'), one in flight
   * finishes. Costs O(rows of the blocks given), nothing for the other tasks.
   */
  applyTasks(upsert: readonly TaskBlock[], remove: readonly string[] = []): void {
    const now = this.clock.now();
    for (const name of remove) {
      const b = this.byName.get(name);
      if (b) this.drop(b);
    }
    for (const plan of upsert) {
      const old = this.byName.get(plan.task.name);
      if (old?.plan === plan) continue;
      const b = new SchedBlock(plan, this.tenants.get(plan.task.tenant));
      // A paused task's rows did not move on: it restarts from the grid point after now.
      const map = old && !old.plan.task.paused && old.period === b.period ? rowMap(old.plan, plan) : undefined;
      const kept = map ? (old as SchedBlock).anchorsByRow() : undefined;
      const anchors = new Float64Array(b.size);
      for (let r = 0; r < b.size; r++) {
        const was = map ? map[r] : -1;
        anchors[r] = was >= 0 ? (kept as Float64Array)[was] : b.nextAnchor(r, now);
      }
      if (old) this.drop(old);
      this.add(b, anchors);
    }
    this.arm();
  }

  /** The whole plan: blocks not given are removed, blocks already planned untouched. */
  setTasks(blocks: readonly TaskBlock[]): void {
    const names = new Set(blocks.map((b) => b.task.name));
    this.applyTasks(
      blocks,
      [...this.byName.keys()].filter((n) => !names.has(n)),
    );
  }

  /** `anchors`: each row's next grid point, by row. */
  private add(b: SchedBlock, anchors: Float64Array): void {
    this.byName.set(b.plan.task.name, b);
    const slot = this.freeSlots.pop() ?? this.blocks.length;
    if (slot >= this.blockDue.length) {
      const keys = new Float64Array(this.blockDue.length * 2);
      keys.set(this.blockDue);
      this.blockDue = keys;
      this.top.grow(keys.length, keys);
    }
    b.slot = slot;
    this.blocks[slot] = b;
    if (b.plan.task.paused || b.size === 0) return; // planned, state kept, no run
    b.place(anchors);
    this.blockDue[slot] = b.nextDue();
    this.top.push(slot);
  }

  private drop(b: SchedBlock): void {
    b.removed = true;
    this.byName.delete(b.plan.task.name);
    this.top.remove(b.slot);
    this.blocks[b.slot] = undefined;
    this.freeSlots.push(b.slot);
    this.queued -= b.qLen;
    b.drainQueue((p) => {
      b.state[p] &= ~(WAITING | THROTTLED);
      this.skip(b, b.rowAt(p), 1, 'reload');
    });
  }

  start(): void {
    this.arm();
  }

  private arm(): void {
    if (this.stopping) return;
    const slot = this.top.peek();
    const at = Math.min(slot < 0 ? Infinity : this.blockDue[slot], this.wake);
    if (at === this.timerAt && this.timer !== undefined) return;
    this.disarm();
    if (at === Infinity) return;
    this.timerAt = at;
    this.timer = this.clock.setTimer(this.onTimer, Math.max(0, at - this.clock.now()));
  }

  private disarm(): void {
    if (this.timer === undefined) return;
    this.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }

  private tick(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    this.wake = Infinity;
    const now = this.clock.now();
    const lag = this.opts.lag?.() ?? 0;
    for (let slot = this.top.peek(); slot >= 0 && this.blockDue[slot] <= now; slot = this.top.peek()) {
      const b = this.blocks[slot] as SchedBlock;
      for (let p = b.takeDue(now, this.random); p >= 0; p = b.takeDue(now, this.random)) this.dueRow(b, p, now, lag);
      if (b.skippedAhead) {
        b.skippedAhead = false;
        b.resync();
      }
      this.blockDue[slot] = b.nextDue();
      this.top.update(slot);
    }
    this.drain();
    this.arm();
  }

  /** The run at ring position `p` of `b` is due: start or queue it, or account for why not; then place its next run. */
  private dueRow(b: SchedBlock, p: number, now: number, lag: number): void {
    this.counts.due++;
    const st = b.state[p];
    if ((st & (WAITING | RUNNING)) !== 0) this.skip(b, b.rowAt(p), 1, 'busy');
    else if (this.opts.gate && !this.opts.gate.admit(b.plan, b.rowAt(p), now)) this.skip(b, b.rowAt(p), 1, 'held');
    else {
      const { shed_queue, shed_lag } = this.settings;
      if (shedAt(overloadLevel(this.queued, shed_queue, lag, shed_lag), b.rank)) this.shed(b, b.rowAt(p), shedReason(this.queued, shed_queue, lag, shed_lag));
      else if (!this.startNow(b, p, now)) {
        b.state[p] = st | WAITING;
        b.enqueue(p);
        this.queued++;
        if (!b.active) {
          b.active = true;
          this.active[b.rank].push(b);
        }
      }
    }
    // The following run comes from the grid, not from now, so that delays don't accumulate;
    // after a long stall (event loop blocked, suspend) it skips ahead rather than bursting, and
    // the grid points it jumps over are runs skipped, so that the counts still add up.
    const following = b.anchor[p] + b.period;
    if (following > now) b.anchor[p] = following;
    else {
      const r = b.rowAt(p);
      const next = b.nextAnchor(r, now + 1);
      const missed = Math.round((next - following) / b.period);
      if (missed > 0) {
        b.skippedAhead = true;
        this.counts.due += missed;
        this.skip(b, r, missed, 'stall');
      }
      b.anchor[p] = next;
    }
  }

  /**
   * The fast path of a due run: nothing waits anywhere (so no run of a higher class is passed over)
   * and under half of the global bound is in flight (so a run of a higher class due later in this
   * tick still finds a slot, unless one tick brings more runs than half the bound): it starts at
   * once if its own bounds allow, without the queue, the active lists and the drain. Otherwise it
   * waits and drain() starts it in class order, as before. Half of the 1 us a run cost went there.
   */
  private startNow(b: SchedBlock, p: number, now: number): boolean {
    if (this.queued !== 0 || this.inFlight >= this.maxInFlight >> 1) return false;
    if (b.rank === BEST_EFFORT && this.inFlight + (this.opts.external?.() ?? 0) >= this.maxInFlight >> 1) return false;
    if (b.maxConcurrency > 0 && b.inFlight >= b.maxConcurrency) return false;
    if (b.tenant.limits !== undefined && b.tenant.blockedUntil(now) !== 0) return false; // the queue counts the throttle
    let host = '';
    if (this.hosts.max > 0) {
      host = hostOf(b.plan.targets[b.rowAt(p)]);
      if (!this.hosts.fits(host)) return false;
    }
    this.launch(b, p, host);
    return true;
  }

  private skip(b: SchedBlock, r: number, count: number, cause: SkipCause): void {
    this.counts.skipped[cause] += count;
    this.opts.onSkip?.(jobOf(b.plan, r), count, cause);
  }

  private shed(b: SchedBlock, r: number, reason: ShedReason, job?: Job): void {
    this.counts.shed[reason]++;
    this.opts.onShed?.(job ?? jobOf(b.plan, r), reason);
  }

  /** Starts waiting runs while the bounds allow: critical first, best_effort last, round robin within a class. */
  private drain(): void {
    // Nothing waits (the common case: each settled probe drains): no list to walk.
    if (this.stopping || this.queued === 0) return;
    const now = this.clock.now();
    const lag = this.opts.lag?.() ?? 0;
    const { shed_queue, shed_lag } = this.settings;
    const level = overloadLevel(this.queued, shed_queue, lag, shed_lag);
    for (let rank = 0; rank < this.active.length; rank++) {
      const list = this.active[rank];
      if (list.length === 0) continue;
      if (shedAt(level, rank)) {
        const reason = shedReason(this.queued, shed_queue, lag, shed_lag);
        for (const b of list) this.shedQueue(b, reason);
        this.compact(list);
        continue;
      }
      const full = this.roundRobin(list, rank, now);
      this.compact(list);
      if (full) return;
    }
  }

  /** One run per block per pass, until no block can start one; true: the global bound is reached. */
  private roundRobin(list: SchedBlock[], rank: number, now: number): boolean {
    for (let progress = true; progress; ) {
      progress = false;
      for (let i = 0; i < list.length; i++) {
        if (this.inFlight + (rank === BEST_EFFORT ? (this.opts.external?.() ?? 0) : 0) >= this.maxInFlight) return true;
        const b = list[i];
        if (b.qLen > 0 && !b.removed && this.launchNext(b, now)) progress = true;
      }
    }
    return false;
  }

  private compact(list: SchedBlock[]): void {
    let j = 0;
    for (const b of list) {
      if (b.qLen > 0 && !b.removed) list[j++] = b;
      else b.active = false;
    }
    list.length = j;
  }

  private shedQueue(b: SchedBlock, reason: ShedReason): void {
    this.queued -= b.qLen;
    b.drainQueue((p) => {
      b.state[p] &= ~(WAITING | THROTTLED);
      this.shed(b, b.rowAt(p), reason);
    });
  }

  /** Starts the first waiting run of `b` that its task, tenant and host bounds allow. */
  private launchNext(b: SchedBlock, now: number): boolean {
    if (b.maxConcurrency > 0 && b.inFlight >= b.maxConcurrency) return false;
    const until = b.tenant.blockedUntil(now);
    if (until !== 0) {
      if (until < this.wake) this.wake = until;
      const p = b.head();
      if ((b.state[p] & THROTTLED) === 0) {
        b.state[p] |= THROTTLED;
        b.tenant.throttled++;
        this.opts.onThrottle?.(b.tenant.name);
      }
      return false;
    }
    if (this.hosts.max <= 0) {
      this.queued--;
      this.launch(b, b.dequeue(), '');
      return true;
    }
    // A host at its bound: the rows behind it (other hosts) go first; it keeps its turn later.
    for (let tries = Math.min(b.qLen, HOST_LOOKAHEAD); tries > 0; tries--) {
      const p = b.dequeue();
      const host = hostOf(b.plan.targets[b.rowAt(p)]);
      if (this.hosts.fits(host)) {
        this.queued--;
        this.launch(b, p, host);
        return true;
      }
      b.enqueue(p);
    }
    return false;
  }

  /** Starts the run at ring position `p` of `b`. */
  private launch(b: SchedBlock, p: number, host: string): void {
    const r = b.rowAt(p);
    b.state[p] = (b.state[p] & ~(WAITING | THROTTLED)) | RUNNING;
    b.inFlight++;
    b.tenant.take();
    if (host !== '') this.hosts.take(host);
    this.inFlight++;
    this.counts.started++;
    const job = jobOf(b.plan, r);
    let started: Promise<ProbeResult>;
    try {
      started = this.opts.runner(job, this.abort.signal);
    } catch (err) {
      started = Promise.reject(err); // a runner that throws is a bug: same path as one that rejects
    }
    started.then(
      (result) => {
        // The slot goes to the next probe before the result is written out: a fast-path probe
        // reaches the engine synchronously, so it starts while the outputs of this batch run.
        this.settle(b, p, host);
        // Shed by an engine under overload: counted as shed, not a result of the target (its
        // health and breaker never see it), as a run the scheduler sheds itself.
        if (result.reason === 'shed') return this.shed(b, r, 'engine', job);
        try {
          this.opts.onResult(job, result);
        } catch (err) {
          this.opts.logger.error({ err, task: job.task.name, target: job.target }, 'result output failed');
        }
      },
      (err: unknown) => {
        this.settle(b, p, host); // runners never reject; a bug there must not leak the slot
        this.opts.logger.error({ err, task: job.task.name, target: job.target }, 'probe runner failed');
      },
    );
  }

  private settle(b: SchedBlock, p: number, host: string): void {
    b.state[p] &= ~RUNNING;
    b.inFlight--;
    b.tenant.inFlight--;
    if (host !== '') this.hosts.release(host);
    this.inFlight--;
    if (this.inFlight === 0) this.idle?.();
    this.drain();
    if (!this.stopping) this.arm(); // a tenant's bucket may now need a wake-up
  }

  /**
   * Stops starting probes and waits for those in flight; after `graceMs` the remaining ones are
   * aborted (they still report a result). Resolves when none are left.
   */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    this.disarm();
    for (const b of [...this.byName.values()]) {
      this.top.remove(b.slot);
      b.drainQueue((p) => (b.state[p] &= ~(WAITING | THROTTLED)));
    }
    this.queued = 0;
    if (this.inFlight === 0) return;
    const all = new Promise<void>((resolve) => (this.idle = resolve));
    const grace = this.clock.setTimer(() => this.abort.abort(), graceMs);
    await all;
    this.clock.clearTimer(grace);
  }
}
