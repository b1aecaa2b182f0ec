// From `sonde scan` flags to what the engine is given, with every refusal before any packet: the
// config (its scan: allow and exclude, its modules for --then), the --exclude file, the targets
// resolved and checked against scan.allow, and the ScanSpec.
import { builtinConfig } from '../config/builtin';
import { loadConfigFile, loadConfigString } from '../config/load';
import { scanSettings } from '../config/schema_scan';
import type { Config, Module } from '../config/types';
import type { ScanSpec } from '../native/syn_types';
import { DualSet } from '../scan/addrset';
import { readSpecFile } from '../scan/spec_file';
import { planTargets, resolveTargetSpecs, type ScanTargets } from '../scan/targets';
import { UsageError } from './args';
import type { ScanArgs } from './scan_args';
import { THEN_PROBERS } from './scan_then';

// Modules --then may name without a config: the built-in ones of `sonde probe` and two for scans.
// banner: the first line a service sends (ssh, smtp, ftp), as probe_expect_info's banner label.
const SCAN_MODULES = `
modules:
  banner:
    prober: tcp
    timeout: 5s
    tcp:
      query_response:
        - expect: "^(.+)$"
          labels:
            - name: banner
              value: "\${1}"
  tls:
    prober: tcp
    timeout: 5s
    tcp:
      tls: true
      tls_config:
        insecure_skip_verify: true
`;

/**
 * The config a scan runs with: the file's (or none: the default scan: section, loopback only), its
 * modules with the built-in ones it does not define, so `--then tcp_connect` works with a config
 * that only says what may be scanned.
 */
export function scanConfig(file: string | undefined): Config {
  const builtin = builtinConfig('127.0.0.1:9925');
  for (const [name, m] of loadConfigString(SCAN_MODULES, '<built-in>').modules) builtin.modules.set(name, m);
  if (file === undefined) return builtin;
  const config = loadConfigFile(file);
  for (const [name, m] of builtin.modules) if (!config.modules.has(name)) config.modules.set(name, m);
  return config;
}

export interface ScanPlan {
  spec: ScanSpec;
  targets: ScanTargets;
  config: Config;
  /** --then's module */
  then?: Module;
}

function thenModule(config: Config, name: string | undefined): Module | undefined {
  if (name === undefined) return undefined;
  const m = config.modules.get(name);
  const usable = [...config.modules.values()].filter((x) => THEN_PROBERS.has(x.prober)).map((x) => x.name);
  if (!m) throw new UsageError(`--then: got ${JSON.stringify(name)}, expected a module of the config: ${usable.join(', ')}`);
  if (!THEN_PROBERS.has(m.prober)) throw new UsageError(`--then: module ${name} is a ${m.prober} module; an open port goes to a tcp or http module (${usable.join(', ')})`);
  return m;
}

/** Everything checked, nothing sent. Throws UsageError, ConfigError, SpecFileError, AddressSyntaxError or ScanRefusal. */
export async function planScan(args: ScanArgs, signal?: AbortSignal): Promise<ScanPlan> {
  const config = scanConfig(args.config);
  const then = thenModule(config, args.then);
  const settings = scanSettings(config);
  const excludes = excludesFrom(args.excludeFile, settings.exclude);
  const allow = DualSet.from(settings.allow);
  const entries = await resolveTargetSpecs(args.targets, { preferred: args.family === 6 ? 'ip6' : 'ip4', signal });
  const targets = planTargets(entries, excludes, allow, settings.allow);
  const spec: ScanSpec = {
    runs: targets.runs,
    ports: args.ports,
    rate: args.rate,
    retries: args.retries,
    waitMs: args.waitMs,
    shard: args.shard,
    seed: args.seed,
    source4: args.source4,
    source6: args.source6,
    sourcePorts: args.sourcePorts,
    maxRuntimeMs: args.maxRuntimeMs,
    // --explain needs the silent ports from the engine; closed ones stay hidden without --all-states.
    allStates: args.allStates || args.explain,
  };
  return { spec, targets, config, then };
}

/** The config's excludes and those of an --exclude file, each bad line named with its file and line. */
function excludesFrom(file: string | undefined, fromConfig: readonly string[]): DualSet {
  const set = DualSet.from(fromConfig);
  if (file === undefined) return set;
  for (const s of readSpecFile(file, '--exclude')) {
    try {
      const one = DualSet.from([s.spec]);
      set.v4.addAll(one.v4.list());
      set.v6.addAll(one.v6.list());
    } catch (err) {
      throw new UsageError(`--exclude ${s.origin}: ${(err as Error).message}`);
    }
  }
  return set;
}
