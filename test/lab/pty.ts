// Runs the sonde CLI on a pseudo-terminal, as an operator at a terminal would: script(1) from
// util-linux gives the command a pty (stdout and stderr are a terminal, so it prints live), and a
// Ctrl-C written to script's input becomes SIGINT from the terminal's line discipline, delivered to
// the command's process group exactly as a keyboard's would be.
import { spawn, type ChildProcess } from 'node:child_process';
import { SONDE_BIN } from './daemon';
import { waitFor } from './wait';

export interface PtyRun {
  child: ChildProcess;
  /** everything the terminal showed so far (stdout and stderr interleaved, CRLF line ends) */
  output(): string;
  /** waits (generously) until the terminal shows `re`; false if the command ended first or time ran out */
  waitFor(re: RegExp, timeoutMs?: number): Promise<boolean>;
  /** types Ctrl-C */
  interrupt(): void;
  /** the command's exit code (script -e passes it on); null when it was killed */
  exited: Promise<number | null>;
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** `sonde ARGS...` on a pty; `netns`: inside that network namespace. Killed after timeoutMs. */
export function sondeInPty(args: string[], opts: { netns?: string; timeoutMs?: number; columns?: number } = {}): PtyRun {
  const argv = [...(opts.netns ? ['ip', 'netns', 'exec', opts.netns] : []), process.execPath, SONDE_BIN, ...args];
  // stty: a known width, and no echo of the Ctrl-C we type (the line discipline still turns it into SIGINT).
  const cmd = `stty cols ${opts.columns ?? 120} -echo; exec ${argv.map(shellQuote).join(' ')}`;
  const child = spawn('script', ['-qefc', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  let done = false;
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      done = true;
      clearTimeout(timer);
      resolve(code);
    }),
  );
  return {
    child,
    output: () => out,
    waitFor: async (re, timeoutMs = 60_000) => (await waitFor(() => re.test(out) || done, timeoutMs)) && re.test(out),
    interrupt: () => void child.stdin.write('\x03'),
    exited,
  };
}
