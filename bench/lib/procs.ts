// Peer and target processes for the benchmark: started here, bounded, and killed by PID.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

export async function waitPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface Proc {
  child: ChildProcess;
  stop(): void;
}

export function start(argv: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-4000);
  });
  child.once('exit', (code, sig) => {
    if (code && sig !== 'SIGTERM') process.stderr.write(`bench: ${argv[0]} exited with ${code}: ${err}\n`);
  });
  return {
    child,
    stop() {
      if (child.pid && child.exitCode === null) child.kill('SIGTERM');
    },
  };
}

/** The loopback addresses 127.0.N.M the bench's nginx also listens on, so a TCP task can have many distinct targets. */
export function loopbackAddresses(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`);
}

/**
 * nginx serving a small 200 on 127.0.0.1 and on `extra` more loopback addresses, same port; one
 * worker per core, so the target is not what limits the probers. `tls`: over TLS with that
 * certificate, session tickets and cache off (a full handshake per probe).
 */
export async function startNginx(extra = 0, tls?: { cert: string; key: string }): Promise<{ port: number; proc: Proc }> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-bench-nginx-'));
  const ssl = tls ? ' ssl' : '';
  const tlsLines = tls
    ? `    ssl_certificate ${tls.cert};\n    ssl_certificate_key ${tls.key};\n    ssl_session_tickets off;\n    ssl_session_cache off;\n`
    : '';
  writeFileSync(
    path.join(dir, 'nginx.conf'),
    `daemon off;
worker_processes auto;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log error;
worker_rlimit_nofile 16384;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  server {
    listen 127.0.0.1:${port}${ssl} backlog=8192;
${loopbackAddresses(extra).filter((a) => a !== '127.0.0.1').map((a) => `    listen ${a}:${port}${ssl} backlog=1024;`).join('\n')}
${tlsLines}    location / { return 200 "ok\\n"; }
  }
}
`,
  );
  const proc = start(['/usr/sbin/nginx', '-p', dir, '-c', path.join(dir, 'nginx.conf')]);
  await waitPort(port);
  return { port, proc };
}

export const BLACKBOX_BIN = '/usr/bin/prometheus-blackbox-exporter';

export async function startBlackbox(configYaml: string): Promise<{ port: number; proc: Proc } | undefined> {
  if (!existsSync(BLACKBOX_BIN)) return undefined;
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-bench-bbe-'));
  writeFileSync(path.join(dir, 'blackbox.yml'), configYaml);
  const proc = start([BLACKBOX_BIN, `--config.file=${dir}/blackbox.yml`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=error']);
  await waitPort(port);
  return { port, proc };
}

export const TIME_BIN = '/usr/bin/time';

export interface Timed {
  stdout: string;
  stderr: string;
  status: number | null;
  seconds: number;
  cpuSeconds: number;
  maxRssKiB: number;
}

/** argv under GNU time: wall time (from here), user+system CPU and peak RSS; bounded by `timeoutMs`. */
export function timedRun(argv: string[], timeoutMs: number): Timed {
  const t0 = performance.now();
  const r = spawnSync(TIME_BIN, ['-f', 'SONDE_TIME %e %U %S %M', ...argv], { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 });
  const seconds = (performance.now() - t0) / 1000;
  if (r.error) throw new Error(`${argv[0]}: ${r.error.message}`);
  const tm = /SONDE_TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(r.stderr);
  if (!tm) throw new Error(`${argv.join(' ').slice(0, 200)} failed (status ${r.status}): ${r.stderr.slice(-500)}`);
  return { stdout: r.stdout, stderr: r.stderr, status: r.status, seconds, cpuSeconds: Number(tm[2]) + Number(tm[3]), maxRssKiB: Number(tm[4]) };
}
