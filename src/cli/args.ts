// A small, strict argument parser: every flag is declared, unknown flags and missing values are
// usage errors (exit 2) with a message naming the flag.
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface FlagSpec {
  /** takes a value (string) or is a boolean switch */
  value: boolean;
  /** other spellings, e.g. "-c" */
  aliases?: string[];
}

export interface Parsed {
  /** each flag's last value */
  flags: Record<string, string | boolean | undefined>;
  /** every value of each valued flag, in order (blackbox's repeatable flags: --web.listen-address) */
  lists: Record<string, string[]>;
  positional: string[];
}

export function parseArgs(argv: string[], spec: Record<string, FlagSpec>): Parsed {
  const byName = new Map<string, string>();
  for (const [name, s] of Object.entries(spec)) {
    byName.set(`--${name}`, name);
    for (const a of s.aliases ?? []) byName.set(a, name);
  }
  const flags: Parsed['flags'] = {};
  const lists: Parsed['lists'] = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const key = eq > 0 ? arg.slice(0, eq) : arg;
    const name = byName.get(key);
    if (!name) throw new UsageError(`unknown flag ${key}`);
    if (spec[name].value) {
      const v = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (v === undefined) throw new UsageError(`flag ${key} needs a value`);
      flags[name] = v;
      (lists[name] ??= []).push(v);
    } else {
      if (eq > 0) throw new UsageError(`flag ${key} takes no value`);
      flags[name] = true;
    }
  }
  return { flags, lists, positional };
}

/** A positive number of seconds from a flag, e.g. "-i 0.5". */
export function secondsFlag(v: string | boolean | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isFinite(n) || n <= 0) throw new UsageError(`${name}: got ${JSON.stringify(v)}, expected a positive number of seconds`);
  return n;
}

export function intFlag(v: string | boolean | undefined, name: string, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isInteger(n) || n < min || n > max) throw new UsageError(`${name}: got ${JSON.stringify(v)}, expected an integer from ${min} to ${max}`);
  return n;
}
