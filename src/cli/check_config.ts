// `sonde check-config [FILE] [--web.config.file WEB]`: exit 0 and a summary when valid, 1 and every
// problem when not. Each file is loaded as the daemon loads it at start (the config with its
// checks, the web config with its certificate and key read), so the messages are the daemon's.
import { ConfigError, loadConfigFile } from '../config/load';
import { WebTLSError } from '../web/tls';
import { loadWebState } from '../web/source';
import { UsageError, parseArgs } from './args';

const USAGE = 'usage: sonde check-config [FILE] [--web.config.file WEB]\n';

/** Validates what is given; writes a line per file (stdout when valid, stderr with the problems when not). */
export function checkFiles(configFile: string | undefined, webConfigFile: string | undefined, out: { ok: (file: string, what: string) => string }): number {
  let failed = false;
  const attempt = (file: string, load: () => string) => {
    try {
      process.stdout.write(out.ok(file, load()));
    } catch (err) {
      if (!(err instanceof ConfigError || err instanceof WebTLSError)) throw err;
      process.stderr.write(`${err.message}\n`);
      failed = true;
    }
  };
  if (configFile !== undefined) {
    attempt(configFile, () => {
      const cfg = loadConfigFile(configFile);
      const targets = cfg.tasks.reduce((n, t) => n + t.targets.length, 0);
      return `${cfg.modules.size} modules, ${cfg.tasks.length} tasks, ${targets} targets`;
    });
  }
  if (webConfigFile !== undefined) {
    attempt(webConfigFile, () => {
      const w = loadWebState(webConfigFile);
      return `web config: ${w.tls ? 'TLS' : 'plain HTTP'}, ${w.config.users.size} basic auth users`;
    });
  }
  return failed ? 1 : 0;
}

export async function checkConfigCommand(argv: string[]): Promise<number> {
  const { flags, positional } = parseArgs(argv, { help: { value: false, aliases: ['-h'] }, 'web.config.file': { value: true } });
  if (flags.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const web = flags['web.config.file'] as string | undefined;
  if (positional.length > 1 || (positional.length === 0 && web === undefined)) throw new UsageError('expected a FILE, --web.config.file WEB, or both');
  return checkFiles(positional[0], web, { ok: (file, what) => `${file}: valid: ${what}\n` });
}
