// Loopback servers for the stream engine tests: a TCP listener, an HTTP server that answers each
// path with exact canned bytes (so framing edge cases are under the test's control), a listener
// whose accept queue is full, and a closed port.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';

export async function listen(server: net.Server, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: 0, host, backlog: 4096 }, resolve);
  });
  return (server.address() as net.AddressInfo).port;
}

export function close(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Accepts connections and forgets them (the client resets them). */
export async function tcpListener(host = '127.0.0.1'): Promise<{ port: number; server: net.Server }> {
  const server = net.createServer((s) => {
    s.on('error', () => undefined);
    s.resume();
  });
  return { server, port: await listen(server, host) };
}

/** A port on which nothing listens: bound once, then closed. */
export async function closedPort(host = '127.0.0.1'): Promise<number> {
  const { server, port } = await tcpListener(host);
  await close(server);
  return port;
}

/**
 * Reads a request head, then writes `respond(path)` and closes. A response of `null` means
 * never answer (the socket stays open until the client gives up).
 */
export async function cannedHttp(
  respond: (path: string) => string | Buffer | null,
  host = '127.0.0.1',
): Promise<{ port: number; server: net.Server; requests: string[] }> {
  const requests: string[] = [];
  const server = net.createServer((s) => {
    s.on('error', () => undefined);
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.slice(0, end);
      if (requests.length < 100) requests.push(head);
      const path = head.split(' ')[1] ?? '/';
      const out = respond(path);
      if (out !== null) s.end(out);
    });
  });
  return { server, requests, port: await listen(server, host) };
}

/**
 * A listener that never accepts, with its queue filled by held connections: further SYNs are
 * dropped by the kernel, so a connect times out (Linux drops the SYN when the accept queue is full).
 */
export async function fullBacklog(): Promise<{ port: number; stop: () => void }> {
  const py = [
    'import socket, sys, time',
    's = socket.socket()',
    "s.bind(('127.0.0.1', 0))",
    's.listen(0)',
    'print(s.getsockname()[1], flush=True)',
    'time.sleep(30)',
  ].join('\n');
  const child: ChildProcess = spawn('python3', ['-c', py], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
  });
  const held: net.Socket[] = [];
  // backlog 0 still queues one connection (the queue is full past sk_max_ack_backlog); a few more
  // sit in SYN retries. The queue is full once one of them has connected.
  const queued: Promise<unknown>[] = [];
  for (let i = 0; i < 4; i++) {
    const c = net.connect(port, '127.0.0.1');
    c.on('error', () => undefined);
    held.push(c);
    queued.push(once(c, 'connect'));
  }
  await Promise.race(queued);
  return {
    port,
    stop: () => {
      for (const c of held) c.destroy();
      if (child.pid !== undefined) process.kill(child.pid);
    },
  };
}
