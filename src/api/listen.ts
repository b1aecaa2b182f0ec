// Where sonde listens: blackbox's --web.listen-address forms (repeatable), and the sockets systemd
// hands over with --web.systemd-socket (sd_listen_fds(3): LISTEN_PID, LISTEN_FDS, fds from 3 on).
import type http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ListenAddress {
  host: string;
  port: number;
  /** ":PORT": both families, as Go's net.Listen("tcp", ":PORT") (IPv4 alone where IPv6 is off) */
  anyFamily?: boolean;
}

/** Parses blackbox's --web.listen-address form: "HOST:PORT", ":PORT" or "[V6]:PORT". */
export function parseListenAddress(s: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(s);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`--web.listen-address: got ${JSON.stringify(s)}, expected HOST:PORT, :PORT or [IPv6]:PORT`);
  if (m[1] === undefined && !m[2]) return { host: '::', port, anyFamily: true };
  return { host: m[1] ?? m[2], port };
}

/** The first fd systemd passes (SD_LISTEN_FDS_START). */
const LISTEN_FDS_START = 3;

/** A socket-activation environment that cannot be used. */
export class SystemdSocketError extends Error {
  constructor(message: string) {
    super(`--web.systemd-socket: ${message}`);
    this.name = 'SystemdSocketError';
  }
}

/**
 * The listening fds systemd passed to this process, as sd_listen_fds(1) finds them: LISTEN_PID must
 * be this process (else they were meant for a parent), and the variables are removed so that a
 * child does not take them for its own.
 */
export function systemdListenFds(env: NodeJS.ProcessEnv = process.env): number[] {
  const pid = Number(env.LISTEN_PID);
  const n = Number(env.LISTEN_FDS);
  if (env.LISTEN_PID === undefined || env.LISTEN_FDS === undefined) throw new SystemdSocketError('LISTEN_PID and LISTEN_FDS are not set (is the service socket-activated?)');
  if (pid !== process.pid) throw new SystemdSocketError(`LISTEN_PID is ${env.LISTEN_PID}, not this process (${process.pid})`);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new SystemdSocketError(`LISTEN_FDS is ${JSON.stringify(env.LISTEN_FDS)}, expected 1 to 64`);
  delete env.LISTEN_PID;
  delete env.LISTEN_FDS;
  delete env.LISTEN_FDNAMES;
  return Array.from({ length: n }, (_, i) => LISTEN_FDS_START + i);
}

export type ListenOn = ListenAddress | { fd: number };

function listenOnce(server: http.Server, on: ListenOn, host?: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const done = () => {
      server.off('error', reject);
      resolve();
    };
    if ('fd' in on) server.listen({ fd: on.fd }, done);
    else server.listen(on.port, host ?? on.host, done);
  });
}

/** Listens `server` on one address or fd; ":PORT" falls back to IPv4 where the host has no IPv6. */
export async function listenOn(server: http.Server, on: ListenOn): Promise<AddressInfo> {
  try {
    await listenOnce(server, on);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (!('fd' in on) && on.anyFamily && (code === 'EAFNOSUPPORT' || code === 'EADDRNOTAVAIL')) await listenOnce(server, on, '0.0.0.0');
    else throw err;
  }
  return server.address() as AddressInfo;
}

/** "host:port" of a bound address, brackets around IPv6. */
export function addressText(a: AddressInfo): string {
  return `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
}
