// `node dist/test/icmp/ping_cli.js ARGS...` runs `sonde ping ARGS...` without the CLI dispatcher,
// so the tests can run it as another user.
import { pingCommand } from '../../src/cli/ping';

pingCommand(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exitCode = 2;
  },
);
