// Waiting in tests without timing assumptions: poll a condition until it holds, under a bound
// generous enough for a loaded 2-core machine with sanitizers (the bound is a safety net, never
// the expected duration: a condition that holds returns at the next poll).
import { setTimeout as sleep } from 'node:timers/promises';

export { sleep };

/** Polls `pred` every `stepMs` until it holds or `timeoutMs` passed; returns whether it held. */
export async function waitFor(pred: () => boolean | Promise<boolean>, timeoutMs = 30_000, stepMs = 20): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await pred()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(stepMs);
  }
}

/** Polls `fn` every 100 ms until it gives a value (not undefined) and returns it; throws after `timeoutMs`. */
export async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}
