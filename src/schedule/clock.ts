// What makes the scheduler depend on time: the wall clock, one-shot timers and the random source
// of jitter. Passed in, so that tests drive it by hand (test/schedule/fake_clock.ts) and a worker
// thread or a tenant can bring its own.

/** A timer as the clock returns it; only the clock that made it can read it. */
export type TimerHandle = unknown;

export interface Clock {
  /** unix ms */
  now(): number;
  /** calls `fn` once, `ms` from now (at the earliest) */
  setTimer(fn: () => void, ms: number): TimerHandle;
  /** cancels a timer not yet fired; a fired or cleared one is ignored */
  clearTimer(handle: TimerHandle): void;
  /** uniform in [0, 1): the jitter of each run */
  random(): number;
}

// Node fires a setTimeout longer than this at once (TimeoutOverflowWarning): cap it, the caller re-arms.
const MAX_TIMER_MS = 2 ** 31 - 1;

export const realClock: Clock = {
  now: Date.now,
  setTimer: (fn, ms) => setTimeout(fn, Math.min(Math.max(0, ms), MAX_TIMER_MS)),
  clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
  random: Math.random,
};
