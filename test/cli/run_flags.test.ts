// `sonde run`'s blackbox flags as an operator uses them: --version, --config.check, --log.format
// logfmt, --web.listen-address twice and ":PORT" on both families, --web.systemd-socket with a
// listening fd passed as systemd passes it (a parent that execs sonde, never systemd itself),
// --config.enable-auto-reload.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { test } from 'node:test';
import { runSonde } from '../lab/cli';
import { get, metric, SONDE_BIN, startDaemon } from '../lab/daemon';
import { freePort } from '../lab/dns_servers';
import { until } from '../lab/wait';

const VALID = 'modules:\n  tcp_connect: { prober: tcp }\n';

function configFile(text: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-flags-'));
  const f = path.join(dir, 'sonde.yml');
  writeFileSync(f, text);
  return f;
}

async function ipv6Loopback(): Promise<boolean> {
  const s = net.createServer();
  return new Promise((resolve) => {
    s.once('error', () => resolve(false));
    s.listen(0, '::1', () => s.close(() => resolve(true)));
  });
}

test('--version prints the version', async () => {
  const r = await runSonde(['run', '--version']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^sonde \d+\.\d+\.\d+/);
});

test('--config.check: 0 for a valid file, 1 and the problem for an invalid one, without starting', async () => {
  const ok = await runSonde(['run', '--config.check', '--config', configFile(VALID)]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /config file is ok/);
  const bad = await runSonde(['run', '--config.check', '--config', configFile('modules:\n  m: { prober: tcp, tmeout: 5s }\n')]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /modules\.m\.tmeout: unknown key/);
});

test('--log.format logfmt writes key=value lines', { timeout: 120_000 }, async () => {
  const child = spawn(process.execPath, [SONDE_BIN, 'run', '--no-ebpf', '--web.listen-address', '127.0.0.1:0', '--log.format', 'logfmt'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    const line = await new Promise<string>((resolve, reject) => {
      const rl = readline.createInterface({ input: child.stderr });
      rl.on('line', (l) => /msg="sonde is running"/.test(l) && resolve(l));
      void exited.then(() => reject(new Error('sonde exited')));
    });
    assert.match(line, /^time=\S+ level=info msg="sonde is running" pid=\d+ listen=127\.0\.0\.1:\d+ /);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
  const bad = await runSonde(['run', '--log.format', 'text']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--log.format: got "text", expected one of logfmt, json/);
});

test('--web.listen-address twice listens on both; ":PORT" takes IPv4 and IPv6', { timeout: 120_000 }, async (t) => {
  const port = await freePort();
  const d = await startDaemon(['--no-ebpf', '--web.listen-address', `:${port}`]);
  try {
    const running = String(d.logs.find((l) => l.msg === 'sonde is running')?.listen);
    const m = new RegExp(`^127\\.0\\.0\\.1:(\\d+), \\[::\\]:${port}$`).exec(running);
    assert.ok(m, running);
    const first = Number(m[1]); // startDaemon's own 127.0.0.1:0
    assert.equal((await get(first, '/-/healthy')).status, 200, 'the first address');
    assert.equal((await get(port, '/-/healthy')).status, 200, `:${port} over IPv4`);
    if (!(await ipv6Loopback())) return t.skip('no IPv6 loopback on this host');
    const v6 = await fetch(`http://[::1]:${port}/-/healthy`);
    assert.equal(v6.status, 200, `:${port} over IPv6`);
  } finally {
    d.child.kill('SIGTERM');
    await d.exited;
  }
});

test('one ":PORT": the native gateway takes it, for IPv4 and IPv6 clients', { timeout: 120_000 }, async (t) => {
  const port = await freePort();
  const child = spawn(process.execPath, [SONDE_BIN, 'run', '--no-ebpf', '--web.listen-address', `:${port}`], { stdio: ['ignore', 'ignore', 'ignore'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    const probe = `/probe?module=tcp_connect&target=127.0.0.1:${port}`;
    const v4 = await until('sonde on :PORT', async () => {
      try {
        return (await get(port, probe)).text;
      } catch {
        return undefined;
      }
    });
    assert.match(v4, /^probe_success 1$/m);
    assert.match((await get(port, '/metrics')).text, /^sonde_gateway_requests_total\{path="gateway"\} [1-9]/m, 'the gateway took the /probe');
    if (!(await ipv6Loopback())) return t.skip('no IPv6 loopback on this host');
    assert.match(await (await fetch(`http://[::1]:${port}${probe}`)).text(), /^probe_success 1$/m);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
});

test('--web.systemd-socket serves the listening fd passed as LISTEN_FDS/LISTEN_PID', { timeout: 120_000 }, async () => {
  // A parent binds, puts the socket at fd 3 and execs sonde in the same process, so LISTEN_PID is
  // sonde's pid: what systemd does for a socket-activated service.
  const script = `
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
s.listen(16)
print(s.getsockname()[1], flush=True)
os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
os.environ["LISTEN_FDS"] = "1"
os.environ["LISTEN_PID"] = str(os.getpid())
os.execv(sys.argv[1], sys.argv[1:])
`;
  const child = spawn('python3', ['-c', script, process.execPath, SONDE_BIN, 'run', '--no-ebpf', '--web.systemd-socket', '--web.external-url', 'http://probe.example.test:9925/'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.once('data', (b: Buffer) => resolve(Number(b.toString().trim())));
      void exited.then(() => reject(new Error(`exited: ${stderr}`)));
    });
    const healthy = await until('sonde on the passed socket', async () => {
      try {
        return (await get(port, '/-/healthy')).status;
      } catch {
        return undefined;
      }
    });
    assert.equal(healthy, 200);
    assert.match(stderr, /"msg":"sonde is running"/);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
  const none = await runSonde(['run', '--no-ebpf', '--web.systemd-socket', '--web.external-url', 'http://x.test/']);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /--web.systemd-socket: LISTEN_PID and LISTEN_FDS are not set/);
});

test('--config.enable-auto-reload reloads the file when it changes', { timeout: 180_000 }, async () => {
  const f = configFile(VALID);
  const d = await startDaemon(['--no-ebpf', '--config', f, '--config.enable-auto-reload', '--config.auto-reload-interval', '0.2']);
  try {
    assert.equal((await get(d.port, '/probe?module=tcp_connect2&target=127.0.0.1:1')).status, 400);
    // Replaced whole, as config management does (a rename); an editor's in-place write is
    // debounced by the daemon, which a loaded machine could stretch past an interval.
    const replace = (text: string) => {
      writeFileSync(`${f}.new`, text);
      renameSync(`${f}.new`, f);
    };
    replace(`${VALID}  tcp_connect2: { prober: tcp }\n`);
    await until('the new module', async () => ((await get(d.port, '/probe?module=tcp_connect2&target=127.0.0.1:1')).status === 200 ? true : undefined));
    replace('modules: [broken\n');
    await until('the failed reload', async () => (metric((await get(d.port, '/metrics')).text, 'blackbox_exporter_config_last_reload_successful') === 0 ? true : undefined));
    assert.equal((await get(d.port, '/probe?module=tcp_connect2&target=127.0.0.1:1')).status, 200, 'the running config stays');
  } finally {
    d.child.kill('SIGTERM');
    await d.exited;
  }
});
