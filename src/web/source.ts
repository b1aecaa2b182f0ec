// The web config in force, re-read as exporter-toolkit re-reads it: the toolkit reads the file on
// every request and the TLS files on every new connection (GetConfigForClient), so a rotated
// certificate or a changed password needs no restart. Here a stat of the files on each new
// connection and request finds a change, and only then is the file decoded again. A file that
// turns invalid is not served: requests get 500 and handshakes fail, as with the toolkit, until
// it is fixed.
import { statSync } from 'node:fs';
import type { Logger } from 'pino';
import { loadWebConfigFile, type WebConfig } from './config';
import { serverTLS, type ServerTLS } from './tls';

export interface WebState {
  config: WebConfig;
  /** null: plain HTTP */
  tls: ServerTLS | null;
}

function stamp(file: string): string {
  try {
    const s = statSync(file);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

/**
 * Reads a web config and builds its TLS context as the listener would (certificate and key read,
 * client CAs parsed): what `check-config --web.config.file` and `--config.check` validate, and what
 * a start and each change load. Throws WebConfigError or WebTLSError.
 */
export function loadWebState(file: string): WebState {
  const config = loadWebConfigFile(file);
  return { config, tls: config.tls ? serverTLS(config.tls) : null };
}

export class WebConfigSource {
  private state: WebState | Error;
  private stamps = '';
  private files: string[];

  /** Loads the file now; throws WebConfigError or WebTLSError, as a start with a bad file must fail. */
  constructor(
    readonly file: string,
    private readonly logger: Logger,
  ) {
    this.files = [file];
    const s = this.load();
    if (s instanceof Error) throw s;
    this.state = s;
  }

  private load(): WebState | Error {
    const before = this.files.map(stamp).join('|');
    try {
      const { config, tls } = loadWebState(this.file);
      this.files = [this.file, ...(config.tls ? [config.tls.cert_file, config.tls.key_file, config.tls.client_ca_file].filter((f) => f !== '') : [])];
      this.stamps = this.files.map(stamp).join('|');
      return { config, tls };
    } catch (err) {
      // A failed read still records what it saw: the next change is tried again, not every request.
      this.stamps = before;
      return err as Error;
    }
  }

  /** Whether the listener was started with TLS (a listener cannot switch between HTTP and HTTPS). */
  get startedWithTLS(): boolean {
    return !(this.state instanceof Error) && this.state.tls !== null;
  }

  /** The config now in force, re-read when a file changed; an Error while the file is invalid. */
  current(): WebState | Error {
    if (this.files.map(stamp).join('|') === this.stamps) return this.state;
    const next = this.load();
    if (next instanceof Error) this.logger.error({ file: this.file, error: next.message }, 'the web config is invalid: requests are refused until it is fixed');
    else this.logger.info({ file: this.file }, 'web config re-read');
    this.state = next;
    return next;
  }
}
