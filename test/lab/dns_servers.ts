// Real DNS servers on loopback for the dns prober's tests and bench: knot serving a DNSSEC-signed
// zone (signed.test, signed by knot itself), and unbound serving local zones (sonde.test) over UDP,
// TCP, DoT and DoH, validating signed.test against knot as a stub zone with its DS as trust anchor.
// Neither ever sends a query off the host: unbound refuses every name outside its local zones
// (local-zone "." refuse) and has no forwarders; its only upstream is knot on 127.0.0.1.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as dgram from 'node:dgram';
import { existsSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { sleep } from './wait';

const BINARIES = { unbound: '/usr/sbin/unbound', knotd: '/usr/sbin/knotd', keymgr: '/usr/sbin/keymgr' } as const;

/** What is missing to run the real servers (Debian packages unbound and knot, scripts/setup.sh --test). */
export function missingServers(): string[] {
  return Object.values(BINARIES).filter((b) => !existsSync(b));
}

/**
 * A test that needs unbound and knot: skipped with the reason when they are not installed, except
 * under CI=true, where set-up installs them and a missing server is a failure.
 */
export function serverTest(name: string, fn: (t: TestContext) => Promise<void>, timeoutMs = 180_000): void {
  const missing = missingServers();
  if (missing.length === 0) test(name, { timeout: timeoutMs }, fn);
  else if (process.env.CI === 'true') test(name, () => assert(false, `${missing.join(', ')} missing under CI (scripts/setup.sh --test installs unbound and knot)`));
  else test(name, { skip: `needs ${missing.join(', ')} (apt packages unbound and knot; scripts/setup.sh --test as root installs them)` }, () => undefined);
}

function assert(ok: boolean, message: string): asserts ok {
  if (!ok) throw new Error(message);
}

/** A port free on both TCP and UDP of 127.0.0.1 at the time of asking. */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const srv = net.createServer();
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    const port = (srv.address() as net.AddressInfo).port;
    const udp = dgram.createSocket('udp4');
    const ok = await new Promise<boolean>((resolve) => {
      udp.once('error', () => resolve(false));
      udp.bind(port, '127.0.0.1', () => resolve(true));
    });
    udp.close();
    await new Promise<void>((resolve) => srv.close(() => resolve()));
    if (ok) return port;
  }
  throw new Error('no port free on TCP and UDP');
}

export interface Server {
  port: number;
  proc: ChildProcess;
  /** what the server wrote on stderr so far (for failure messages) */
  log(): string;
  stop(): Promise<void>;
}

function run(cmd: string, args: string[], port: number): Server {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr?.on('data', (b: Buffer) => (log = (log + b.toString()).slice(-8000)));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  return {
    port,
    proc,
    log: () => log,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000)]);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}

/** Waits until TCP `port` accepts (the server bound its sockets), or the process exits. */
async function listening(s: Server, port: number, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (s.proc.exitCode !== null) throw new Error(`${what} exited (${s.proc.exitCode}): ${s.log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, '127.0.0.1');
      c.once('connect', () => (c.destroy(), resolve(true)));
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${what} did not listen on ${port}: ${s.log()}`);
    await sleep(50);
  }
}

export const SIGNED_ZONE = 'signed.test';
export const SIGNED_SERIAL = 2026120101;

export interface Knot extends Server {
  /** the DS record of the zone's KSK, as unbound's trust-anchor takes it */
  ds: string;
}

/** knotd serving signed.test on 127.0.0.1, signing it with a fresh ECDSA P-256 key (RFC 8624 MUST). */
export async function startKnot(dir: string): Promise<Knot> {
  const port = await freePort();
  const conf = path.join(dir, 'knot.conf');
  writeFileSync(
    path.join(dir, `${SIGNED_ZONE}.zone`),
    [`$ORIGIN ${SIGNED_ZONE}.`, '$TTL 300', `@ SOA ns hostmaster ${SIGNED_SERIAL} 3600 600 86400 60`, '@ NS ns', 'ns A 127.0.0.1', 'www A 192.0.2.80', 'www AAAA 2001:db8::80', ''].join('\n'),
  );
  writeFileSync(
    conf,
    `server:
    rundir: "${dir}"
    listen: 127.0.0.1@${port}
    background-workers: 1
    udp-workers: 1
    tcp-workers: 1
database:
    storage: "${dir}"
control:
    listen: "${dir}/knot.sock"
log:
  - target: stderr
    any: warning
policy:
  - id: test
    algorithm: ecdsap256sha256
template:
  - id: default
    storage: "${dir}"
    file: "%s.zone"
zone:
  - domain: ${SIGNED_ZONE}
    dnssec-signing: on
    dnssec-policy: test
`,
  );
  const s = run(BINARIES.knotd, ['-c', conf], port);
  await listening(s, port, 'knotd');
  // keymgr reads the key store knotd filled when it signed the zone.
  let ds = '';
  const deadline = Date.now() + 60_000;
  while (!ds) {
    const out = spawnSync(BINARIES.keymgr, ['-c', conf, `${SIGNED_ZONE}.`, 'ds'], { encoding: 'utf8' });
    ds = out.stdout.split('\n').find((l) => / DS \d+ 13 2 /.test(l)) ?? '';
    if (!ds && Date.now() > deadline) throw new Error(`no DS from keymgr: ${out.stderr} ${s.log()}`);
    if (!ds) await sleep(100);
  }
  return { ...s, ds };
}

export interface Unbound extends Server {
  tlsPort: number;
  httpsPort: number;
}

export interface UnboundOptions {
  knot?: Knot;
  /** PEM files of the DoT/DoH certificate and key */
  tls?: { certPath: string; keyPath: string };
  threads?: number;
}

/** Many TXT records under one name: over 512 bytes, so a UDP answer without EDNS comes back with TC. */
export const BIG_NAME = 'big.sonde.test';
const BIG_RECORDS = Array.from({ length: 24 }, (_, i) => `local-data: '${BIG_NAME}. 300 IN TXT "record ${i} padding padding padding"'`);

export async function startUnbound(dir: string, opts: UnboundOptions = {}): Promise<Unbound> {
  const [port, tlsPort, httpsPort] = [await freePort(), await freePort(), await freePort()];
  const conf = path.join(dir, 'unbound.conf');
  const tls = opts.tls
    ? [`interface: 127.0.0.1@${tlsPort}`, `interface: 127.0.0.1@${httpsPort}`, `tls-port: ${tlsPort}`, `https-port: ${httpsPort}`, `tls-service-pem: "${opts.tls.certPath}"`, `tls-service-key: "${opts.tls.keyPath}"`, 'http-endpoint: "/dns-query"']
    : [];
  const knot = opts.knot
    ? [`trust-anchor: "${opts.knot.ds}"`, `local-zone: "${SIGNED_ZONE}." transparent`, 'do-not-query-localhost: no', 'trust-anchor-signaling: no']
    : [];
  const lines = [
    'server:',
    ...[
      `interface: 127.0.0.1@${port}`,
      `port: ${port}`,
      ...tls,
      'do-ip6: no',
      'username: ""',
      'chroot: ""',
      `directory: "${dir}"`,
      'pidfile: ""',
      'use-syslog: no',
      'logfile: ""',
      'verbosity: 0',
      `num-threads: ${opts.threads ?? 1}`,
      // Room for every client's TCP and DoT connections at once (the default is 10 per thread): a
      // bench's 64 concurrent DoT probes, and connections kept open by reuse_connections besides.
      'incoming-num-tcp: 256',
      'access-control: 127.0.0.0/8 allow',
      'module-config: "subnetcache validator iterator"',
      // No upstream: everything outside the local zones (and knot's stub zone) is refused, never resolved.
      'local-zone: "." refuse',
      'local-zone: "sonde.test." static',
      'local-data: "sonde.test. 300 IN SOA ns.sonde.test. hostmaster.sonde.test. 2026120102 3600 600 86400 60"',
      'local-data: "www.sonde.test. 300 IN A 192.0.2.10"',
      'local-data: "www.sonde.test. 300 IN A 192.0.2.11"',
      'local-data: "mail.sonde.test. 300 IN MX 10 mx.sonde.test."',
      // A name on loopback, for other probers resolving through this server (dns_resolver).
      'local-data: "svc.sonde.test. 300 IN A 127.0.0.1"',
      // Every name under bench.test answers with the apex's A (distinct names for continuous-mode targets).
      'local-zone: "bench.test." redirect',
      'local-data: "bench.test. 300 IN A 192.0.2.20"',
      ...BIG_RECORDS,
      ...knot,
    ].map((l) => `    ${l}`),
    ...(opts.knot ? ['stub-zone:', `    name: "${SIGNED_ZONE}."`, `    stub-addr: 127.0.0.1@${opts.knot.port}`] : []),
    '',
  ];
  writeFileSync(conf, lines.join('\n'));
  const s = run(BINARIES.unbound, ['-d', '-c', conf], port);
  await listening(s, port, 'unbound');
  if (opts.tls) {
    await listening(s, tlsPort, 'unbound DoT');
    await listening(s, httpsPort, 'unbound DoH');
  }
  return { ...s, tlsPort, httpsPort };
}
