// A probe worker that fails on purpose, for the pool's tests: a batch with a target containing
// "crash" ends the thread, one containing "hang" blocks it for good; any other batch runs as the
// real worker runs it (same handler, same probers).
import { probeBatch as realBatch } from '../../src/workers/worker';
import type { BatchResults, ProbeBatch } from '../../src/workers/batch';

export async function probeBatch(batch: ProbeBatch): Promise<BatchResults> {
  if (batch.probes.some((p) => p.target.includes('crash'))) process.exit(3);
  if (batch.probes.some((p) => p.target.includes('hang'))) for (;;);
  return realBatch(batch);
}
