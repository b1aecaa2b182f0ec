// Modules that load but cannot run. A blackbox.yml of the 0.23 era must load unchanged (its example
// has an http_with_proxy module), so a key sonde cannot honour yet is not refused by the decoder;
// instead every use of such a module is refused with the reason: a task naming it fails at load
// (schema_tasks.ts), a probe with it (/probe, `sonde probe`) fails with reason "config"
// (run_probe.ts). Nothing is silently ignored.
import type { Module } from './types';

/** Why `m` cannot run, naming the key from the module's own path, or undefined when it can. */
export function moduleRefusal(m: Pick<Module, 'prober' | 'http'>): string | undefined {
  if (m.prober === 'http' && m.http.proxy_url !== undefined) {
    return 'http.proxy_url: proxies are not supported yet (issue 12); remove the key to probe directly';
  }
  return undefined;
}
