// What serveProbe needs in a test: the config given, no eBPF, the test runtime, default bounds.
import { DEFAULT_PROBE_LIMITS, ProbeAdmission } from '../../src/api/admission';
import type { ProbeDeps } from '../../src/api/probe_handler';
import type { Config } from '../../src/config/types';
import { silentLogger } from '../../src/log';
import { testRuntime } from '../runtime';

export function testProbeDeps(config: Config): ProbeDeps {
  return { logger: silentLogger, config: () => config, flows: () => undefined, runtime: testRuntime, signal: new AbortController().signal, admission: new ProbeAdmission(DEFAULT_PROBE_LIMITS) };
}
