// A server on loopback that accepts and reads but never answers: every probe of it hangs until
// cancelled or timed out. What a black-holed /probe target costs the daemon, without privileges
// (test/api/hostile_clients.test.ts, bench/soak.ts).
import net from 'node:net';

export interface SilentServer {
  port: number;
  /** connections open now */
  open(): number;
  /** connections accepted so far */
  seen(): number;
  close(): void;
}

export async function silentServer(): Promise<SilentServer> {
  const socks = new Set<net.Socket>();
  let seen = 0;
  const srv = net.createServer((s) => {
    seen++;
    socks.add(s);
    s.on('error', () => undefined);
    s.on('close', () => socks.delete(s));
    s.resume();
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    port: (srv.address() as net.AddressInfo).port,
    open: () => socks.size,
    seen: () => seen,
    close: () => {
      for (const s of socks) s.destroy();
      srv.close();
    },
  };
}

/**
 * `n` /probe requests to the daemon on `port`, each with a 300 s scrape timeout and its client
 * gone as soon as the request is written; resolves when every connection has closed.
 */
export function fireAndForget(port: number, query: string, n: number): Promise<void> {
  const request = `GET /probe?${query} HTTP/1.1\r\nHost: sonde\r\nX-Prometheus-Scrape-Timeout-Seconds: 300\r\n\r\n`;
  return Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<void>((resolve) => {
          const s = net.connect({ port, host: '127.0.0.1' });
          s.on('error', () => undefined);
          s.on('close', () => resolve());
          s.write(request, () => s.destroy());
        }),
    ),
  ).then(() => undefined);
}
