// Network-namespace lab primitives for privileged tests: namespaces, veth pairs, addresses, routes.
// Every lab uses only addresses that exist inside namespaces it made itself: IPv4 from the
// benchmarking range 198.18.0.0/15 (RFC 2544) and IPv6 from the ULA fd5e:ed00::/32.
// A lab removes everything it made in close(), and a crashed run's leftovers are removed by the
// next Lab with the same prefix (names carry the prefix, never the pid).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

export function sh(cmd: string, args: string[], opts: { input?: string; allowFail?: boolean } = {}): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', input: opts.input, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (err) {
    if (opts.allowFail) return '';
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
  }
}

export class Lab {
  private readonly namespaces: string[] = [];
  private readonly hostLinks: string[] = [];
  private readonly children: ChildProcess[] = [];

  /** prefix: short (<= 6 chars) and unique per test file, e.g. "sdicmp". */
  constructor(readonly prefix: string) {
    if (prefix.length > 6) throw new Error('lab prefix must be at most 6 characters (interface names are limited to 15)');
    Lab.cleanupStale(prefix);
  }

  /** Removes namespaces and host-side links left by an earlier run with this prefix. */
  static cleanupStale(prefix: string): void {
    for (const line of sh('ip', ['netns', 'list'], { allowFail: true }).split('\n')) {
      const name = line.split(' ')[0];
      if (name && name.startsWith(`${prefix}-`)) sh('ip', ['netns', 'del', name], { allowFail: true });
    }
    for (const line of sh('ip', ['-o', 'link', 'show'], { allowFail: true }).split('\n')) {
      const m = /^\d+: ([^:@]+)/.exec(line);
      if (m && m[1].startsWith(prefix)) sh('ip', ['link', 'del', m[1]], { allowFail: true });
    }
  }

  /** Full namespace name for a short one. */
  ns(short: string): string {
    return `${this.prefix}-${short}`;
  }

  addNs(short: string): string {
    const name = this.ns(short);
    sh('ip', ['netns', 'add', name]);
    this.namespaces.push(name);
    this.exec(short, ['ip', 'link', 'set', 'lo', 'up']);
    // Routers in the lab forward; DAD would delay IPv6 addresses by seconds, so it is off.
    this.sysctl(short, 'net.ipv4.ip_forward', '1');
    this.sysctl(short, 'net.ipv6.conf.all.forwarding', '1');
    this.sysctl(short, 'net.ipv6.conf.all.accept_dad', '0');
    this.sysctl(short, 'net.ipv6.conf.default.accept_dad', '0');
    return name;
  }

  sysctl(short: string | null, key: string, value: string): void {
    this.exec(short, ['sysctl', '-q', '-w', `${key}=${value}`]);
  }

  /** Runs a command in a namespace (null: the test's own namespace) and returns its stdout. */
  exec(short: string | null, argv: string[], opts: { input?: string; allowFail?: boolean } = {}): string {
    if (short === null) return sh(argv[0], argv.slice(1), opts);
    return sh('ip', ['netns', 'exec', this.ns(short), ...argv], opts);
  }

  /** Starts a long-running process in a namespace; it is killed (by PID) in close(). */
  spawn(short: string | null, argv: string[]): ChildProcess {
    const full = short === null ? argv : ['ip', 'netns', 'exec', this.ns(short), ...argv];
    const child = spawn(full[0], full.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.push(child);
    return child;
  }

  /**
   * Connects two namespaces (null: the test's own) with a veth pair and configures addresses
   * given with their prefix length, e.g. "198.18.1.1/24", "fd5e:ed00:1::1/64".
   */
  link(a: { ns: string | null; ifname: string; addrs: string[] }, b: { ns: string | null; ifname: string; addrs: string[] }): void {
    for (const side of [a, b]) {
      if (!side.ifname.startsWith(this.prefix)) throw new Error(`interface ${side.ifname} must start with the lab prefix ${this.prefix}`);
    }
    sh('ip', ['link', 'add', a.ifname, 'type', 'veth', 'peer', 'name', b.ifname]);
    for (const side of [a, b]) {
      if (side.ns === null) this.hostLinks.push(side.ifname);
      else sh('ip', ['link', 'set', side.ifname, 'netns', this.ns(side.ns)]);
      for (const addr of side.addrs) {
        this.exec(side.ns, ['ip', ...(addr.includes(':') ? ['-6'] : []), 'addr', 'add', addr, 'dev', side.ifname, ...(addr.includes(':') ? ['nodad'] : [])]);
      }
      this.exec(side.ns, ['ip', 'link', 'set', side.ifname, 'up']);
    }
  }

  route(short: string | null, dest: string, via: string): void {
    this.exec(short, ['ip', ...(dest.includes(':') ? ['-6'] : []), 'route', 'replace', dest, 'via', via]);
  }

  /** Loads an nftables ruleset (nft -f -) in a namespace. */
  nft(short: string | null, ruleset: string): void {
    this.exec(short, ['nft', '-f', '-'], { input: ruleset });
  }

  close(): void {
    for (const c of this.children) {
      if (c.exitCode === null && c.pid) {
        try {
          process.kill(c.pid, 'SIGTERM');
        } catch {
          /* already gone */
        }
      }
    }
    for (const l of this.hostLinks) sh('ip', ['link', 'del', l], { allowFail: true });
    for (const n of this.namespaces.reverse()) sh('ip', ['netns', 'del', n], { allowFail: true });
  }
}
