// What a web config asks of each request before it is served (exporter-toolkit web/handler.go):
// its extra response headers, its rate limit (429), and basic auth against bcrypt hashes (401 with
// WWW-Authenticate: Basic). Every endpoint goes through it, /probe included.
import { createHash } from 'node:crypto';
import type http from 'node:http';
import type { WebConfig } from './config';
import type { WebConfigSource } from './source';
import { bcrypt } from '../util/heavy';

/**
 * A bcrypt hash of "fakepassword" (the toolkit's): an unknown user costs one comparison like a
 * known one, so timing does not tell which names exist.
 */
const FAKE_HASH = '$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi';

/** Verdicts remembered, so that a scraper's every request does not cost a bcrypt round. */
const CACHE_SIZE = 256;

/** A token bucket as golang.org/x/time/rate: one token per interval, at most `burst` saved. */
class RateLimit {
  private tokens: number;
  private last = process.hrtime.bigint();
  constructor(private readonly cfg: WebConfig['rate_limit']) {
    this.tokens = cfg.burst;
  }
  allow(): boolean {
    const now = process.hrtime.bigint();
    this.tokens = Math.min(this.cfg.burst, this.tokens + Number(now - this.last) / 1e9 / this.cfg.interval);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export type Verdict = { ok: true } | { ok: false; status: 401 | 429 | 500 };

export class WebGuard {
  private readonly verdicts = new Map<string, boolean>();
  private limiter?: { cfg: WebConfig['rate_limit']; limit: RateLimit };
  /** comparisons run one at a time, as the toolkit's mutex has them: bcrypt is CPU-bound by design */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly source: WebConfigSource) {}

  /** Sets the config's headers on `res` and says whether the request may be served. */
  async check(req: http.IncomingMessage, res: http.ServerResponse): Promise<Verdict> {
    const state = this.source.current();
    if (state instanceof Error) return { ok: false, status: 500 };
    const cfg = state.config;
    if (cfg.rate_limit.interval > 0) {
      if (this.limiter?.cfg !== cfg.rate_limit) this.limiter = { cfg: cfg.rate_limit, limit: new RateLimit(cfg.rate_limit) };
      if (!this.limiter.limit.allow()) return { ok: false, status: 429 };
    }
    for (const [k, v] of Object.entries(cfg.http.headers)) res.setHeader(k, v);
    if (cfg.users.size === 0) return { ok: true };
    const creds = basicAuth(req.headers.authorization);
    if (creds && (await this.verify(cfg.users, creds.user, creds.pass))) return { ok: true };
    res.setHeader('WWW-Authenticate', 'Basic');
    return { ok: false, status: 401 };
  }

  private async verify(users: Map<string, string>, user: string, pass: string): Promise<boolean> {
    const known = users.get(user);
    const hash = known ?? FAKE_HASH;
    const key = createHash('sha256').update(JSON.stringify([user, hash, pass])).digest('base64');
    let ok = this.verdicts.get(key);
    if (ok === undefined) {
      const run = this.queue.then(() => bcrypt().compare(pass, hash));
      this.queue = run.catch(() => undefined);
      ok = known !== undefined && (await run.catch(() => false));
      if (this.verdicts.size >= CACHE_SIZE) this.verdicts.clear();
      this.verdicts.set(key, ok);
    }
    return ok && known !== undefined;
  }
}

/** RFC 7617 credentials of an Authorization header, or undefined. */
export function basicAuth(header: string | undefined): { user: string; pass: string } | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m) return undefined;
  const text = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return colon < 0 ? undefined : { user: text.slice(0, colon), pass: text.slice(colon + 1) };
}
