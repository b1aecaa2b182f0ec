// A clock driven by hand: time moves only in advance() or stall(), timers fire in order of due time
// (then of setting), and the microtasks each firing queues (a runner's promise resolving, the
// scheduler's .then) run before the next firing, so tests observe one deterministic order.
import type { Clock, TimerHandle } from '../../src/schedule/clock';

interface FakeTimer {
  id: number;
  due: number;
  fn: () => void;
}

// A test that arms timers in a loop without end must fail, not hang.
const MAX_FIRINGS_PER_STEP = 1_000_000;

/** Lets every queued microtask (and those they queue) run: setImmediate comes after all of them. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class FakeClock implements Clock {
  private t: number;
  private seq = 0;
  private timers: FakeTimer[] = [];

  /** `random` deals the jitter; the default is no jitter at all */
  constructor(
    start = 1_700_000_000_000,
    public random: () => number = () => 0,
  ) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimer(fn: () => void, ms: number): TimerHandle {
    const id = ++this.seq;
    this.timers.push({ id, due: this.t + Math.max(0, ms), fn });
    return id;
  }

  clearTimer(handle: TimerHandle): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  /** timers not yet fired */
  get pending(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`, firing each timer due on the way at its due time, in order. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await this.fireUntil(end, true);
    this.t = end;
    await settle();
  }

  /**
   * Jumps `ms` ahead without firing anything on the way, as a blocked event loop or a suspended
   * host does; then the timers now overdue fire, late, in order.
   */
  async stall(ms: number): Promise<void> {
    this.t += ms;
    await this.fireUntil(this.t, false);
  }

  private async fireUntil(end: number, onTime: boolean): Promise<void> {
    await settle();
    for (let n = 0; ; n++) {
      if (n > MAX_FIRINGS_PER_STEP) throw new Error(`more than ${MAX_FIRINGS_PER_STEP} timers fired before ${end}`);
      const next = this.earliest();
      if (!next || next.due > end) return;
      this.timers.splice(this.timers.indexOf(next), 1);
      if (onTime) this.t = Math.max(this.t, next.due);
      next.fn();
      await settle();
    }
  }

  private earliest(): FakeTimer | undefined {
    let best: FakeTimer | undefined;
    for (const t of this.timers) if (!best || t.due < best.due || (t.due === best.due && t.id < best.id)) best = t;
    return best;
  }
}
