// Names answered without a DNS query, as Go's resolver (and so blackbox_exporter) answers them:
// the hosts file (hosts(5)), read by sonde itself so that a name found there never reaches the
// network's DNS server whatever family is asked (glibc's getaddrinfo asks DNS for an AAAA that the
// file lacks), and the special-use localhost names of RFC 6761 §6.3.
import { readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';

/** Lower-case name without its trailing dot → addresses in file order. */
export type HostsTable = ReadonlyMap<string, readonly string[]>;

/** DNS names compare case-insensitively (RFC 4343), and "name." is the same name as "name". */
export function canonicalName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/**
 * hosts(5): "address name [aliases...]" per line, '#' to the end of a line is a comment, fields are
 * separated by blanks. A line whose first field is not an IPv4 or IPv6 address is skipped, as glibc
 * and Go skip it; a name listed on several lines gets the addresses of all of them, in order.
 */
export function parseHosts(text: string): Map<string, string[]> {
  const table = new Map<string, string[]>();
  for (const raw of text.split('\n')) {
    const hash = raw.indexOf('#');
    const fields = (hash === -1 ? raw : raw.slice(0, hash)).split(/[ \t\r]+/).filter((f) => f !== '');
    if (fields.length < 2 || isIP(fields[0]) === 0) continue;
    const address = fields[0];
    for (const name of fields.slice(1)) {
      const key = canonicalName(name);
      const list = table.get(key);
      if (list === undefined) table.set(key, [address]);
      else if (!list.includes(address)) list.push(address);
    }
  }
  return table;
}

/** RFC 6761 §6.3: "localhost." and every name under it are the loopback, never asked of DNS. */
export function isLocalhostName(name: string): boolean {
  const n = canonicalName(name);
  return n === 'localhost' || n.endsWith('.localhost');
}

/** The loopback addresses of RFC 6761 §6.3, IPv6 first (the default preferred_ip_protocol). */
export const LOOPBACK_ADDRESSES: readonly string[] = ['::1', '127.0.0.1'];

/**
 * One hosts file, parsed once and re-read when its modification time or size changes. Like Go's
 * net package it looks at the file at most once per `maxAgeMs`, so a busy prober does not stat it
 * on every probe. A missing or unreadable file is an empty table (looked at again later).
 */
export class HostsFile {
  private table: HostsTable = new Map();
  private mtimeMs = -1;
  private size = -1;
  private checkedAt = -Infinity;

  constructor(
    readonly path = '/etc/hosts',
    private readonly maxAgeMs = 5000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** The addresses the file gives `name`, or undefined when the file does not list it. */
  lookup(name: string): readonly string[] | undefined {
    this.refresh();
    return this.table.get(canonicalName(name));
  }

  private refresh(): void {
    const now = this.now();
    if (now - this.checkedAt < this.maxAgeMs) return;
    this.checkedAt = now;
    let st: { mtimeMs: number; size: number };
    try {
      st = statSync(this.path);
    } catch {
      this.table = new Map();
      this.mtimeMs = this.size = -1;
      return;
    }
    if (st.mtimeMs === this.mtimeMs && st.size === this.size) return;
    try {
      this.table = parseHosts(readFileSync(this.path, 'utf8'));
      this.mtimeMs = st.mtimeMs;
      this.size = st.size;
    } catch {
      this.table = new Map();
      this.mtimeMs = this.size = -1;
    }
  }
}

/** Where names are looked up before DNS: a hosts file, then the localhost names. */
export interface LocalNames {
  lookup(name: string): readonly string[] | undefined;
}

/**
 * The hosts file wins over the localhost rule: an administrator who maps localhost to 127.0.0.1
 * only (as many images do) gets 127.0.0.1, as Go's resolver gives it; without an entry both
 * loopback addresses answer.
 */
export function localNames(hosts: LocalNames): LocalNames {
  return {
    lookup: (name) => hosts.lookup(name) ?? (isLocalhostName(name) ? LOOPBACK_ADDRESSES : undefined),
  };
}

/** The system's hosts file, shared by every probe of this process. */
export const SYSTEM_NAMES: LocalNames = localNames(new HostsFile());
