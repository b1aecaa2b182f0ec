// Runs the sonde CLI as an operator would (node bin/sonde.js ...), bounded in time: a hung run is
// killed (SIGKILL) after timeoutMs and shows as a null exit code with what it printed so far.
import { spawn } from 'node:child_process';
import { SONDE_BIN } from './daemon';

export interface SondeRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export async function runSonde(args: string[], timeoutMs = 120_000): Promise<SondeRun> {
  const child = spawn(process.execPath, [SONDE_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  return { code, stdout, stderr };
}
