// What a scan covers: targets as typed (addresses, CIDRs, ranges, host names, files of them) become
// address intervals; the excludes are taken out; what is left must lie inside the allow list, or
// the scan is refused before any packet, naming the target. The result is the AddressRun[] the
// SYN engine takes (src/native/syn_types.ts).
import type { IpProtocol } from '../config/types';
import type { AddressRun } from '../native/syn_types';
import { resolveTarget, SYSTEM_RESOLVER, type Resolver } from '../probers/resolve';
import { isHostName } from '../cli/targets';
import { AddressSet, AddressSyntaxError, DualSet, formatInterval, fromBigInt, looksLikeAddressSpec, parseAddressSpec, type Family, type Interval } from './addrset';
import type { SpecSource } from './spec_file';

/** A scan that must not start: outside the allow list, too large, or no target left. Exit code 2. */
export class ScanRefusal extends Error {
  readonly code = 'ERR_SCAN_REFUSED';
  constructor(message: string) {
    super(message);
    this.name = 'ScanRefusal';
  }
}

/** One target as typed, with the addresses it stands for. */
export interface TargetEntry {
  spec: string;
  origin: string;
  family: Family;
  interval: Interval;
  /** the name it was resolved from, for a host name */
  name?: string;
}

/** Addresses one scan may cover (an IPv4 /0: the engine's index is addresses × ports). */
export const MAX_SCAN_ADDRESSES = 2 ** 32;

function where(s: SpecSource): string {
  return s.origin === 'command line' ? '' : ` (${s.origin})`;
}

/**
 * Turns specs into entries: address syntax at once, host names through the project's resolver (the
 * hosts file and localhost names first, never a lookup for a string that is not a name), the
 * first address of the preferred family as nmap takes it.
 */
export async function resolveTargetSpecs(specs: readonly SpecSource[], opts: { preferred?: IpProtocol; resolver?: Resolver; signal?: AbortSignal } = {}): Promise<TargetEntry[]> {
  const out: TargetEntry[] = [];
  const signal = opts.signal ?? new AbortController().signal;
  for (const s of specs) {
    const bare = s.spec.startsWith('[') && s.spec.endsWith(']') ? s.spec.slice(1, -1) : s.spec;
    if (looksLikeAddressSpec(bare) || !isHostName(bare)) {
      try {
        const { family, interval } = parseAddressSpec(bare);
        out.push({ spec: s.spec, origin: s.origin, family, interval });
      } catch (err) {
        if (err instanceof AddressSyntaxError) throw new AddressSyntaxError(`target ${err.message}${where(s)}; expected an address, CIDR, range FIRST-LAST or host name`, s.spec);
        throw err;
      }
      continue;
    }
    let address: string;
    try {
      address = (await resolveTarget(bare, opts.preferred ?? 'ip4', true, { signal }, opts.resolver ?? SYSTEM_RESOLVER)).addresses[0];
    } catch (err) {
      throw new ScanRefusal(`target ${JSON.stringify(s.spec)}${where(s)}: ${(err as Error).message}`);
    }
    const { family, interval } = parseAddressSpec(address);
    out.push({ spec: s.spec, origin: s.origin, family, interval, name: bare });
  }
  return out;
}

export interface ScanTargets {
  runs: AddressRun[];
  /** addresses in the runs */
  addresses: number;
  /** addresses of the targets the excludes took out */
  excluded: number;
}

/** Splits an interval into runs of at most 2**32 addresses (the contract's bound per run). */
function runsOf(iv: Interval, family: Family, out: AddressRun[]): void {
  const max = BigInt(MAX_SCAN_ADDRESSES);
  for (let lo = iv.lo; lo <= iv.hi; lo += max) {
    const n = iv.hi - lo + 1n;
    out.push({ family, first: fromBigInt(lo, family), count: Number(n < max ? n : max) });
  }
}

/**
 * Targets minus excludes, checked against the allow list: any address left outside it refuses the
 * whole scan, naming the target as typed and the first address outside.
 */
export function planTargets(entries: readonly TargetEntry[], excludes: DualSet, allow: DualSet, allowText: readonly string[]): ScanTargets {
  if (entries.length === 0) throw new ScanRefusal('no target given (TARGET..., -iL FILE or @FILE)');
  const wanted = new DualSet();
  for (const e of entries) {
    for (const left of excludes.of(e.family).missing(e.interval)) {
      const outside = allow.of(e.family).missing(left);
      if (outside.length > 0) {
        const what = e.name ? `${JSON.stringify(e.spec)} (${fromBigInt(e.interval.lo, e.family)})` : JSON.stringify(e.spec);
        const from = e.origin === 'command line' ? '' : ` from ${e.origin}`;
        throw new ScanRefusal(
          `target ${what}${from} is outside the allowed ranges (scan.allow: ${allowText.join(', ') || 'none'}): ${formatInterval(outside[0], e.family)} is not allowed; add it to scan.allow in the config or exclude it`,
        );
      }
    }
    wanted.of(e.family).add(e.interval);
  }
  const runs: AddressRun[] = [];
  let addresses = 0n;
  let excluded = 0n;
  for (const fam of [4, 6] as const) {
    const all: AddressSet = wanted.of(fam);
    const left = all.subtract(excludes.of(fam));
    excluded += all.size - left.size;
    addresses += left.size;
    if (addresses > BigInt(MAX_SCAN_ADDRESSES)) throw new ScanRefusal(`the targets hold more than ${MAX_SCAN_ADDRESSES} addresses after the excludes; scan them in parts`);
    for (const iv of left.list()) runsOf(iv, fam, runs);
  }
  if (runs.length === 0) throw new ScanRefusal('every target is excluded: nothing left to scan');
  return { runs, addresses: Number(addresses), excluded: Number(excluded) };
}
