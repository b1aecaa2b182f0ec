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
