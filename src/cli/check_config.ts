// `sonde check-config FILE`: exit 0 and a summary when valid, 1 and every problem when not.
import { ConfigError, loadConfigFile } from '../config/load';
import { UsageError, parseArgs } from './args';

export async function checkConfigCommand(argv: string[]): Promise<number> {
  const { flags, positional } = parseArgs(argv, { help: { value: false, aliases: ['-h'] } });
  if (flags.help) {
    process.stdout.write('usage: sonde check-config FILE\n');
    return 0;
  }
  if (positional.length !== 1) throw new UsageError('expected exactly one FILE');
  try {
    const cfg = loadConfigFile(positional[0]);
    const targets = cfg.tasks.reduce((n, t) => n + t.targets.length, 0);
    process.stdout.write(`${positional[0]}: valid: ${cfg.modules.size} modules, ${cfg.tasks.length} tasks, ${targets} targets\n`);
    return 0;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
