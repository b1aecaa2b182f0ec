// `npm run install-service` / `uninstall-service` into a DESTDIR (the host is untouched): the
// program runs from where it was put (addon and dependencies included), the unit, the sonde user
// and the example config are in place; a re-install keeps an edited config; uninstall --purge
// leaves nothing of sonde behind. Up to the point that needs systemd running, which is not tested.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const SCRIPT = path.join(ROOT, 'scripts', 'install-service.sh');

function run(destdir: string, ...args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync('bash', [SCRIPT, ...args], { env: { ...process.env, DESTDIR: destdir }, encoding: 'utf8', timeout: 300_000 });
  return { status: r.status, stderr: r.stderr };
}

function files(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? files(p, base) : [path.relative(base, p)];
  });
}

test('install-service into a DESTDIR, then uninstall-service --purge', { timeout: 600_000, skip: process.getuid?.() === 0 ? false : 'chgrp of /etc/sonde needs root' }, async () => {
  const d = mkdtempSync(path.join(os.tmpdir(), 'sonde-install-'));
  try {
    const inst = run(d);
    assert.equal(inst.status, 0, inst.stderr);
    assert.equal(readFileSync(path.join(d, 'etc/systemd/system/sonde.service'), 'utf8'), readFileSync(path.join(ROOT, 'systemd/sonde.service'), 'utf8'));
    const passwd = readFileSync(path.join(d, 'etc/passwd'), 'utf8');
    const user = /^sonde:x:(\d+):(\d+):[^:]*:\/nonexistent:\/usr\/sbin\/nologin$/m.exec(passwd);
    assert.ok(user, `a system user without home or shell:\n${passwd}`);
    assert.ok(Number(user[1]) < 1000, 'a system uid');
    const conf = statSync(path.join(d, 'etc/sonde/sonde.yml'));
    assert.equal(conf.mode & 0o777, 0o640);
    assert.equal(conf.gid, Number(user[2]), 'readable by the sonde group, not by others');

    // The installed program runs from DESTDIR alone: its config check and a probe through the addon.
    const bin = path.join(d, 'opt/sonde/bin/sonde.js');
    const check = spawnSync(process.execPath, [bin, 'check-config', path.join(d, 'etc/sonde/sonde.yml')], { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stderr);
    const srv = net.createServer((s) => s.on('error', () => undefined).end());
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as net.AddressInfo).port;
    const probe = await new Promise<{ status: number | null; out: string }>((resolve) => {
      const r = spawn(process.execPath, [bin, 'probe', `127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      r.stdout.on('data', (b: Buffer) => (out += b.toString()));
      r.stderr.on('data', (b: Buffer) => (out += b.toString()));
      r.once('exit', (status) => resolve({ status, out }));
    });
    srv.close();
    assert.equal(probe.status, 0, probe.out);
    assert.ok(!files(path.join(d, 'opt/sonde/node_modules')).some((f) => f.startsWith('typescript/')), 'no build tools installed');

    // The config is the operator's: a re-install keeps an edited one.
    writeFileSync(path.join(d, 'etc/sonde/sonde.yml'), 'modules: {}\n');
    assert.equal(run(d).status, 0);
    assert.equal(readFileSync(path.join(d, 'etc/sonde/sonde.yml'), 'utf8'), 'modules: {}\n');

    const un = run(d, '--uninstall', '--purge');
    assert.equal(un.status, 0, un.stderr);
    const left = files(d).filter((f) => !/^etc\/(passwd|group|shadow|gshadow)-?$|^etc\/\.pwd\.lock$/.test(f));
    assert.deepEqual(left, [], 'nothing of sonde is left');
    for (const f of ['passwd', 'group', 'shadow']) assert.doesNotMatch(readFileSync(path.join(d, 'etc', f), 'utf8'), /^sonde:/m, `no sonde in etc/${f}`);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});
