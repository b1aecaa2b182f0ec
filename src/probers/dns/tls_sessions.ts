// TLS sessions kept between DoT probes of one server, for modules with tls_resume: the next probe
// offers the last ticket (RFC 8446 section 2.2), and the result says whether the server resumed.
// A resumed handshake re-checks no certificate (the session's first handshake did), which is why
// resumption is the module's choice, off by default (blackbox makes a full handshake every probe).
import type { TLSConfig } from '../../config/types';
import type { Runtime } from '../../runtime';

const MAX_SESSIONS = 4096;

export class TLSSessions {
  private readonly sessions = new Map<string, Buffer>();

  static key(address: string, port: number, cfg: TLSConfig, host: string): string {
    return [address, port, cfg.server_name || host, cfg.ca_file ?? '', cfg.cert_file ?? '', cfg.ca ?? '', cfg.cert ?? '', cfg.insecure_skip_verify, cfg.min_version ?? '', cfg.max_version ?? ''].join('|');
  }

  get(key: string): Buffer | undefined {
    return this.sessions.get(key);
  }

  set(key: string, session: Buffer): void {
    if (this.sessions.size >= MAX_SESSIONS && !this.sessions.has(key)) this.sessions.clear();
    this.sessions.set(key, session);
  }
}

const BY_RUNTIME = new WeakMap<Runtime, TLSSessions>();

export function tlsSessionsOf(runtime: Runtime): TLSSessions {
  let s = BY_RUNTIME.get(runtime);
  if (!s) BY_RUNTIME.set(runtime, (s = new TLSSessions()));
  return s;
}
