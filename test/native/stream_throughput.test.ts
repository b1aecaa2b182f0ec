// Throughput of the stream engine against a local nginx, next to Node's own net.connect and
// http.get measured in the same run. Prints figures only: no timed assertions (the machine is
// shared), but every probe must succeed so that a fast failure cannot pass for speed.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { StreamPool } from '../../src/native/stream';
import { requestBytes } from '../../src/probers/http/wire';
import { waitFor } from '../lab/wait';
import { closedPort } from './stream_servers';

const pool = new StreamPool();

const NGINX = '/usr/sbin/nginx';
const IN_FLIGHT = 64;
let nginx: ChildProcess | undefined;
let dir = '';
let port = 0;

async function startNginx(): Promise<void> {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-nginx-'));
  port = await closedPort();
  const conf = path.join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `worker_processes auto;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log crit;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location / { return 200 "ok\\n"; }
  }
}
`,
  );
  nginx = spawn(NGINX, ['-p', dir, '-c', conf], { stdio: 'inherit' });
  // Ready when it accepts (the bound is for a loaded machine).
  const accepts = () =>
    new Promise<boolean>((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => (c.destroy(), resolve(true)));
      c.on('error', () => resolve(false));
    });
  if (!(await waitFor(accepts, 30_000, 50))) throw new Error('nginx did not start');
}

/** Runs `total` operations with at most `inFlight` pending; returns operations per second. */
async function windowed(total: number, inFlight: number, op: () => Promise<boolean>): Promise<{ rate: number; failed: number }> {
  let started = 0;
  let failed = 0;
  const t0 = process.hrtime.bigint();
  const worker = async () => {
    while (started < total) {
      started++;
      if (!(await op())) failed++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  return { rate: total / secs, failed };
}

function nodeConnect(): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1', () => {
      c.resetAndDestroy(); // the same RST close as the engine: no TIME_WAIT here
      resolve(true);
    });
    c.on('error', () => resolve(false));
  });
}

function nodeHttp(): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    });
    req.on('error', () => resolve(false));
  });
}

const line = (what: string, rate: number, peer: number, peerName: string) =>
  console.log(`${what}: ${Math.round(rate)} probes/s (${(rate / peer).toFixed(1)}x ${peerName} at ${Math.round(peer)}/s)`);

before(startNginx);
after(() => {
  pool.close();
  if (nginx?.pid !== undefined) process.kill(nginx.pid, 'SIGTERM');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('throughput against nginx, 64 in flight (prints, does not assert speed)', { skip: !existsSync(NGINX) && 'no nginx', timeout: 120_000 }, async () => {
  const request = requestBytes('GET', '/', `127.0.0.1:${port}`, { 'user-agent': 'sonde' });
  // Warm-up: the engine thread, nginx workers, the page cache.
  await windowed(2000, IN_FLIGHT, async () => (await pool.probe({ address: '127.0.0.1', port, timeoutMs: 5000, request })).statusCode === 200);

  const nodeTcp = await windowed(30_000, IN_FLIGHT, nodeConnect);
  const tcp = await windowed(100_000, IN_FLIGHT, async () => (await pool.probe({ address: '127.0.0.1', port, timeoutMs: 5000 })).errno === 0);
  const nodeGet = await windowed(10_000, IN_FLIGHT, nodeHttp);
  const web = await windowed(
    50_000,
    IN_FLIGHT,
    async () => (await pool.probe({ address: '127.0.0.1', port, timeoutMs: 5000, request })).statusCode === 200,
  );
  line('stream engine tcp connect (100,000)', tcp.rate, nodeTcp.rate, 'net.connect');
  line('stream engine http GET (50,000)', web.rate, nodeGet.rate, 'http.get agent:false');
  assert.equal(tcp.failed, 0, 'every connect probe succeeds');
  assert.equal(web.failed, 0, 'every HTTP probe gets a 200');
  assert.equal(nodeTcp.failed + nodeGet.failed, 0, 'the peers succeed too');
});
