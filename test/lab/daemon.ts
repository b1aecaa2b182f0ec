// Starts `sonde run` as a child process the way an operator would, and finds its port from its log.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';

export const SONDE_BIN = path.resolve(__dirname, '..', '..', '..', 'bin', 'sonde.js');

export interface RunningDaemon {
  child: ChildProcess;
  port: number;
  logs: Array<Record<string, unknown>>;
  exited: Promise<number | null>;
}

/** `launcher`: the command before `run` (e.g. setpriv with a user and capabilities, node, an installed sonde.js). */
export async function startDaemon(args: string[], env: Record<string, string> = {}, launcher: string[] = [process.execPath, SONDE_BIN]): Promise<RunningDaemon> {
  const child = spawn(launcher[0], [...launcher.slice(1), 'run', '--web.listen-address', '127.0.0.1:0', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stderrText = '';
  const port = await new Promise<number>((resolve, reject) => {
    const rl = readline.createInterface({ input: child.stderr! });
    rl.on('line', (line) => {
      stderrText += line + '\n';
      try {
        const rec = JSON.parse(line) as Record<string, unknown>;
        logs.push(rec);
        if (rec.msg === 'sonde is running') resolve(Number(String(rec.listen).split(':').pop()));
      } catch {
        /* not JSON: a config error printed as text */
      }
    });
    void exited.then((code) => reject(new Error(`sonde exited with ${code} before listening:\n${stderrText}`)));
    // The port comes from the info-level "sonde is running" line: a lower log level never resolves.
    // A bound for a loaded machine, not an expected start-up time.
    setTimeout(() => reject(new Error(`sonde did not report listening within 60 s (log level must be info or lower):\n${stderrText}`)), 60_000).unref();
  });
  return { child, port, logs, exited };
}

export async function get(port: number, pathAndQuery: string, init?: RequestInit): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${pathAndQuery}`, init);
  return { status: res.status, text: await res.text() };
}

/** The value of one series line in Prometheus text format, e.g. metric('probe_success', text). */
export function metric(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(series + ' ')) return Number(line.slice(series.length + 1));
  }
  return undefined;
}
