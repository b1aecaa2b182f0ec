// Name resolution without the network: the hosts-file parser and its cache, the RFC 6761 localhost
// names, and the family fallback of resolveTarget with a scripted resolver that counts its queries.
import assert from 'node:assert/strict';
import type { LookupAddress } from 'node:dns';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ProbeFailure } from '../../src/probers/errors';
import { canonicalName, HostsFile, isLocalhostName, localNames, parseHosts } from '../../src/probers/hosts_file';
import { resolveLocal, resolveTarget, type Resolver } from '../../src/probers/resolve';

const HOSTS = [
  '# a comment line',
  '127.0.0.1\tlocalhost',
  '198.18.0.10   web.lab   web   # trailing comment',
  'fd5e:ed00::10 web.lab',
  'fd5e:ed00::11 v6only.lab',
  'fe80::1%lo    linklocal.lab',
  '198.18.0.12 Mixed.Case.LAB',
  'not-an-address broken.lab',
  '198.18.0.13',
  '   ',
  '198.18.0.14 web.lab',
  '#198.18.0.15 commented.lab',
].join('\n');

test('parseHosts reads addresses of both families, aliases, comments, and skips malformed lines', () => {
  const t = parseHosts(HOSTS);
  const cases: Array<{ desc: string; name: string; want: string[] | undefined }> = [
    { desc: 'a name on several lines keeps file order, both families', name: 'web.lab', want: ['198.18.0.10', 'fd5e:ed00::10', '198.18.0.14'] },
    { desc: 'an alias', name: 'web', want: ['198.18.0.10'] },
    { desc: 'an IPv6-only name', name: 'v6only.lab', want: ['fd5e:ed00::11'] },
    { desc: 'an IPv6 address with a zone', name: 'linklocal.lab', want: ['fe80::1%lo'] },
    { desc: 'names are stored in lower case', name: 'mixed.case.lab', want: ['198.18.0.12'] },
    { desc: 'a line whose address is not an IP is skipped', name: 'broken.lab', want: undefined },
    { desc: 'a commented-out line is skipped', name: 'commented.lab', want: undefined },
    { desc: 'a trailing comment is not a name', name: '#', want: undefined },
  ];
  for (const c of cases) assert.deepEqual(t.get(c.name), c.want, c.desc);
  assert.equal([...t.values()].flat().includes('198.18.0.13'), false, 'an address without names adds nothing');
});

test('localhost and names under it are loopback names (RFC 6761 §6.3), other names are not', () => {
  for (const n of ['localhost', 'LOCALHOST', 'localhost.', 'app.localhost', 'a.b.localhost.']) assert.equal(isLocalhostName(n), true, n);
  for (const n of ['localhost.example', 'mylocalhost', 'notlocalhost', 'other.test']) assert.equal(isLocalhostName(n), false, n);
});

function withHostsFile(text: string, fn: (path: string, dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-hosts-'));
  try {
    const path = join(dir, 'hosts');
    writeFileSync(path, text);
    fn(path, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('HostsFile re-reads the file when its modification time changes, not before maxAge', () => {
  withHostsFile('198.18.0.1 a.lab\n', (path) => {
    let now = 0;
    const hosts = new HostsFile(path, 5000, () => now);
    assert.deepEqual(hosts.lookup('a.lab'), ['198.18.0.1']);
    writeFileSync(path, '198.18.0.2 a.lab\n');
    utimesSync(path, new Date(2_000_000_000_000), new Date(2_000_000_000_000));
    now = 4000;
    assert.deepEqual(hosts.lookup('a.lab'), ['198.18.0.1'], 'within maxAge the cached table answers');
    now = 5000;
    assert.deepEqual(hosts.lookup('a.lab'), ['198.18.0.2'], 'after maxAge a changed file is read again');
    rmSync(path);
    now = 10_000;
    assert.equal(hosts.lookup('a.lab'), undefined, 'a removed file lists no names');
  });
});

/** A resolver whose DNS answers are scripted per family and whose queries are counted. */
function scripted(hostsText: string, answers: Partial<Record<4 | 6, string[] | string>>): Resolver & { queries: string[] } {
  const queries: string[] = [];
  const table = parseHosts(hostsText);
  return {
    queries,
    local: localNames({ lookup: (n: string) => table.get(canonicalName(n)) }),
    lookup: async (host: string, family: 4 | 6): Promise<LookupAddress[]> => {
      queries.push(`${host}/${family}`);
      const a = answers[family];
      if (Array.isArray(a)) return a.map((address) => ({ address, family }));
      const err = Object.assign(new Error(`getaddrinfo ${a ?? 'ENOTFOUND'} ${host}`), { code: a ?? 'ENOTFOUND' });
      throw err;
    },
  };
}

const never = { signal: new AbortController().signal };

async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    const r = (await p) as { addresses: string[]; family: number };
    return `ok ${r.family} ${r.addresses.join(',')}`;
  } catch (err) {
    assert.ok(err instanceof ProbeFailure, String(err));
    return `fail ${err.reason}`;
  }
}

test('resolveTarget: local names send no query; fallback follows any resolver failure', async () => {
  const hosts = '198.18.0.10 web.lab\nfd5e:ed00::11 v6only.lab\n127.0.0.1 localhost\n';
  const cases: Array<{ desc: string; host: string; pref: 'ip4' | 'ip6'; fallback: boolean; dns: Partial<Record<4 | 6, string[] | string>>; want: string; queries: string[] }> = [
    { desc: 'hosts name, ip6 preferred, fallback: the IPv4 entry, no AAAA query', host: 'web.lab', pref: 'ip6', fallback: true, dns: { 6: 'EAI_AGAIN', 4: 'EAI_AGAIN' }, want: 'ok 4 198.18.0.10', queries: [] },
    { desc: 'hosts name, ip6 preferred, no fallback: fails without asking DNS', host: 'WEB.LAB.', pref: 'ip6', fallback: false, dns: { 6: ['fd5e:ed00::99'] }, want: 'fail dns_nxdomain', queries: [] },
    { desc: 'IPv6-only hosts name, ip4 preferred, fallback', host: 'v6only.lab', pref: 'ip4', fallback: true, dns: {}, want: 'ok 6 fd5e:ed00::11', queries: [] },
    { desc: 'localhost listed in hosts: the hosts entry wins', host: 'localhost', pref: 'ip6', fallback: true, dns: {}, want: 'ok 4 127.0.0.1', queries: [] },
    { desc: 'a name under localhost: ::1 for ip6', host: 'app.localhost', pref: 'ip6', fallback: false, dns: {}, want: 'ok 6 ::1', queries: [] },
    { desc: 'a name under localhost: 127.0.0.1 for ip4', host: 'app.localhost.', pref: 'ip4', fallback: false, dns: {}, want: 'ok 4 127.0.0.1', queries: [] },
    { desc: 'an IPv6 literal in brackets', host: '[fd5e:ed00::1]', pref: 'ip4', fallback: true, dns: {}, want: 'ok 6 fd5e:ed00::1', queries: [] },
    { desc: 'an IPv4 literal with ip6 and no fallback', host: '198.18.0.1', pref: 'ip6', fallback: false, dns: {}, want: 'fail dns_nxdomain', queries: [] },
    { desc: 'DNS: a temporary failure of AAAA falls back to A', host: 'svc.lab', pref: 'ip6', fallback: true, dns: { 6: 'EAI_AGAIN', 4: ['198.18.0.20'] }, want: 'ok 4 198.18.0.20', queries: ['svc.lab/6', 'svc.lab/4'] },
    { desc: 'DNS: any other failure falls back too', host: 'svc.lab', pref: 'ip6', fallback: true, dns: { 6: 'EAI_FAIL', 4: ['198.18.0.20'] }, want: 'ok 4 198.18.0.20', queries: ['svc.lab/6', 'svc.lab/4'] },
    { desc: 'DNS: NODATA falls back', host: 'svc.lab', pref: 'ip6', fallback: true, dns: { 6: 'ENODATA', 4: ['198.18.0.20'] }, want: 'ok 4 198.18.0.20', queries: ['svc.lab/6', 'svc.lab/4'] },
    { desc: 'DNS: the preferred family answers, no second query', host: 'svc.lab', pref: 'ip6', fallback: true, dns: { 6: ['fd5e:ed00::20'] }, want: 'ok 6 fd5e:ed00::20', queries: ['svc.lab/6'] },
    { desc: 'DNS: no fallback, one query only', host: 'svc.lab', pref: 'ip4', fallback: false, dns: { 4: 'EAI_AGAIN', 6: ['fd5e:ed00::20'] }, want: 'fail dns_error', queries: ['svc.lab/4'] },
    { desc: 'DNS: both families do not exist: dns_nxdomain', host: 'svc.lab', pref: 'ip6', fallback: true, dns: { 6: 'ENOTFOUND', 4: 'ENODATA' }, want: 'fail dns_nxdomain', queries: ['svc.lab/6', 'svc.lab/4'] },
    { desc: 'DNS: a quick EAI_AGAIN (refused, SERVFAIL) is dns_error, not dns_timeout', host: 'svc.lab', pref: 'ip6', fallback: true, dns: { 6: 'EAI_AGAIN', 4: 'ENOTFOUND' }, want: 'fail dns_error', queries: ['svc.lab/6', 'svc.lab/4'] },
  ];
  for (const c of cases) {
    const r = scripted(hosts, c.dns);
    assert.equal(await outcome(resolveTarget(c.host, c.pref, c.fallback, never, r)), c.want, c.desc);
    assert.deepEqual(r.queries, c.queries, `${c.desc}: queries`);
  }
});

test('resolveTarget: the deadline ends a lookup that does not answer, as dns_timeout', async () => {
  const ctl = new AbortController();
  const r: Resolver = { local: { lookup: () => undefined }, lookup: () => new Promise<never>(() => undefined) };
  const p = outcome(resolveTarget('slow.lab', 'ip6', true, ctl, r));
  ctl.abort();
  assert.equal(await p, 'fail dns_timeout');
});

test('resolveLocal answers hosts and localhost names synchronously and leaves other names', () => {
  const local = { lookup: (n: string) => (n === 'web.lab' ? ['198.18.0.10'] : undefined) };
  assert.deepEqual(resolveLocal('web.lab', 'ip6', true, { local })?.addresses, ['198.18.0.10']);
  assert.equal(resolveLocal('other.lab', 'ip6', true, { local }), undefined);
});

test('resolveTarget: an EAI_AGAIN after the resolver waited its retry interval is dns_timeout', async () => {
  // glibc waits at least 1 s for a server before EAI_AGAIN; sooner is an answer (refused, SERVFAIL).
  const slow: Resolver = {
    local: { lookup: () => undefined },
    lookup: (host) => new Promise((_, reject) => setTimeout(() => reject(Object.assign(new Error(`getaddrinfo EAI_AGAIN ${host}`), { code: 'EAI_AGAIN' })), 1100)),
  };
  assert.equal(await outcome(resolveTarget('slow.lab', 'ip4', false, never, slow)), 'fail dns_timeout');
});
