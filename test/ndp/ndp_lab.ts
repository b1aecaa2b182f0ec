// A router-discovery lab: namespace "rtr" runs radvd (Debian package), namespace "cli" is the
// host under test, joined by veth pairs. The kernel in "cli" accepts the RAs and forms its own
// SLAAC addresses, which serve as the independent witness of the addresses sonde proposes.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SONDE_BIN } from '../lab/daemon';
import { Lab } from '../lab/netns';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `sonde ARGS` inside a lab namespace, as a user would with `ip netns exec`. */
export function sondeIn(lab: Lab, ns: string, args: string[], timeoutMs = 60_000): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile('ip', ['netns', 'exec', lab.ns(ns), process.execPath, SONDE_BIN, ...args], { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The interface's addresses in a prefix, as the kernel lists them (`ip -j -6 addr`). */
export function kernelAddresses(lab: Lab, ns: string, ifname: string): { local: string; prefixlen: number }[] {
  const json = lab.exec(ns, ['ip', '-j', '-6', 'addr', 'show', 'dev', ifname]);
  const links = JSON.parse(json) as { addr_info: { local: string; prefixlen: number; scope: string }[] }[];
  return links.flatMap((l) => l.addr_info).map((a) => ({ local: a.local, prefixlen: a.prefixlen }));
}

export function linkLocalOf(lab: Lab, ns: string, ifname: string): string {
  const a = kernelAddresses(lab, ns, ifname).find((x) => x.local.startsWith('fe80:'));
  if (!a) throw new Error(`${ifname} in ${ns} has no link-local address`);
  return a.local;
}

export function macOf(lab: Lab, ns: string, ifname: string): string {
  const links = JSON.parse(lab.exec(ns, ['ip', '-j', 'link', 'show', 'dev', ifname])) as { address: string }[];
  return links[0].address;
}

/** A scratch directory for config and pid files, removed by the returned cleanup. */
export function scratch(): { dir: string; write(name: string, text: string): string; remove(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-ndp-'));
  return {
    dir,
    write(name, text) {
      const file = path.join(dir, name);
      writeFileSync(file, text);
      return file;
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Sends hand-made RAs from the router namespace (python3 raw socket; bounded: argv[3] rounds,
 * 0.2 s apart, "ready" printed after the first): a valid one (hop limit 255, link-local source),
 * one with hop limit 64, and one from a global source. Each carries a distinct MTU option so the
 * receiver's report can tell them apart.
 */
export const INJECT_RAS_PY = `
import socket, struct, sys, time
ifname, glob, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
idx = socket.if_nametoindex(ifname)
def ra(mtu):
    return struct.pack('!BBHBBHII', 134, 0, 0, 64, 0, 600, 0, 0) + struct.pack('!BBHI', 5, 1, 0, mtu)
def sock(hops, src):
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, idx)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, hops)
    if src:
        s.bind((src, 0, 0, idx))
    return s
kinds = [(sock(255, None), 1500), (sock(64, None), 1464), (sock(255, glob), 1280)]
for i in range(rounds):
    for s, mtu in kinds:
        s.sendto(ra(mtu), ('ff02::1', 0, 0, idx))
    if i == 0:
        print('ready', flush=True)
    time.sleep(0.2)
`;
