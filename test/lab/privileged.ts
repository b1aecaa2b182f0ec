// Gate for tests that need root (raw sockets, netns, eBPF). Outside CI without root they skip with
// the reason; in CI (CI=true, run as root) a privileged test that cannot run is a failure, never a skip.
import { test, type TestContext } from 'node:test';

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

export function privilegedTest(name: string, fn: (t: TestContext) => Promise<void> | void, timeoutMs = 120_000): void {
  if (isRoot()) {
    test(name, { timeout: timeoutMs }, fn);
  } else if (process.env.CI === 'true') {
    test(name, () => {
      throw new Error(`privileged test cannot run: CI must run as root (uid ${process.getuid?.()})`);
    });
  } else {
    test(name, { skip: 'needs root (raw sockets, network namespaces or eBPF); run as root to include it' }, () => undefined);
  }
}
