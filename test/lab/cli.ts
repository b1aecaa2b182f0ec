// Runs the sonde CLI as an operator would (node bin/sonde.js ...), bounded in time: a hung run is
// killed (SIGKILL) after timeoutMs and shows as a null exit code with what it printed so far.
import { spawn } from 'node:child_process';
import { SONDE_BIN } from './daemon';

export interface SondeRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `netns`: run it inside that (full-named) network namespace, through `ip netns exec`. */
export async function runSonde(args: string[], timeoutMs = 120_000, netns?: string): Promise<SondeRun> {
  const argv = [process.execPath, SONDE_BIN, ...args];
  const full = netns === undefined ? argv : ['ip', 'netns', 'exec', netns, ...argv];
  const child = spawn(full[0], full.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  return { code, stdout, stderr };
}
