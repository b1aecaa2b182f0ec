// Receives sd_notify datagrams in a test through a socket of the test's own (never systemd).
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';

export class NotifyListener {
  readonly messages: string[] = [];
  private waiters: Array<() => void> = [];
  private constructor(private readonly child: ChildProcess) {}

  static async start(socketName: string): Promise<NotifyListener> {
    const script = path.resolve(__dirname, '..', '..', '..', 'test', 'lab', 'notify_listener.py');
    const child = spawn('python3', [script, socketName], { stdio: ['ignore', 'pipe', 'inherit'] });
    const l = new NotifyListener(child);
    const rl = readline.createInterface({ input: child.stdout! });
    await new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      rl.on('line', (line) => {
        const msg = JSON.parse(line) as { listening?: string; datagram?: string };
        if (msg.listening) resolve();
        if (msg.datagram !== undefined) {
          l.messages.push(msg.datagram);
          for (const w of l.waiters.splice(0)) w();
        }
      });
    });
    return l;
  }

  /** Resolves with the first message containing `needle` (already received or arriving within timeoutMs). */
  async waitFor(needle: string, timeoutMs = 60_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.messages.find((m) => m.split('\n').includes(needle));
      if (hit) return hit;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no sd_notify message with ${needle} within ${timeoutMs} ms; got ${JSON.stringify(this.messages)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): void {
    if (this.child.pid && this.child.exitCode === null) process.kill(this.child.pid, 'SIGTERM');
  }
}
