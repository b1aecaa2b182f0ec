// Hostile HTTP servers for tests, in a child process of their own (so that serving gigabytes does
// not compete with the prober under test for its event loop), on 127.0.0.1 only. Paths:
//   /endless    200, no length, body until the client goes
//   /4g         200, Content-Length 4 GiB, sent as fast as the client reads up to 256 MiB/s (16 s in
//               all: a probe's timeout ends it first however fast the machine; an idle one read it
//               all in 2.4 s unthrottled)
//   /gzip-bomb  200, Content-Encoding gzip, one 64 MiB-of-zeros member after another, endlessly
// Run as a script it prints {"port":N} on stdout; hostileServer() starts it and stops it.
import { spawn } from 'node:child_process';
import net from 'node:net';
import readline from 'node:readline';
import zlib from 'node:zlib';

const CHUNK = Buffer.alloc(64 * 1024, 'x');
const FOUR_GIB = 4 * 1024 ** 3;

function pour(sock: net.Socket, chunk: Buffer, total = Infinity, bytesPerSecond = Infinity): void {
  let sent = 0;
  const start = Date.now();
  const more = (): void => {
    while (sent < total && !sock.destroyed) {
      // Ahead of the rate: wait until the clock catches up with what was sent.
      const due = start + (sent / bytesPerSecond) * 1000;
      if (due > Date.now()) return void setTimeout(more, due - Date.now());
      const part = total - sent < chunk.length ? chunk.subarray(0, total - sent) : chunk;
      sent += part.length;
      if (!sock.write(part)) return void sock.once('drain', more);
    }
    if (sent >= total) sock.end();
  };
  more();
}

function serve(): void {
  const bomb = zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
  const server = net.createServer((sock) => {
    sock.on('error', () => undefined);
    let head = '';
    sock.on('data', function onData(d: Buffer) {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      sock.off('data', onData);
      const path = head.split(' ')[1] ?? '/';
      if (path === '/endless') {
        sock.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n');
        pour(sock, CHUNK);
      } else if (path === '/4g') {
        sock.write(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${FOUR_GIB}\r\nConnection: close\r\n\r\n`);
        pour(sock, CHUNK, FOUR_GIB, 256 * 1024 ** 2);
      } else if (path === '/gzip-bomb') {
        sock.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Encoding: gzip\r\nConnection: close\r\n\r\n');
        pour(sock, bomb);
      } else {
        sock.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      }
    });
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: (server.address() as net.AddressInfo).port })}\n`));
  // The test's end is ours: a parent that died leaves no server behind.
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}

export interface HostileServer {
  port: number;
  close: () => void;
}

export async function hostileServer(): Promise<HostileServer> {
  const child = spawn(process.execPath, [__filename], { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    readline.createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the hostile server exited with ${code}`)));
  });
  const { port } = JSON.parse(line) as { port: number };
  return { port, close: () => child.kill() };
}

if (require.main === module) serve();
