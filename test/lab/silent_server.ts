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
