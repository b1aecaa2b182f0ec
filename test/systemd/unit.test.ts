// The unit file must pass systemd's own checker (never by starting systemd: only systemd-analyze).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

const UNIT = path.resolve(__dirname, '..', '..', '..', 'systemd', 'sonde.service');

test('systemd/sonde.service passes systemd-analyze verify', { skip: existsSync('/usr/bin/systemd-analyze') ? false : 'systemd-analyze not installed' }, () => {
  // verify prints problems on stderr and exits non-zero for errors; warnings are errors for us too.
  const r = spawnSync('/usr/bin/systemd-analyze', ['verify', UNIT], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal((r.stdout + r.stderr).trim(), '');
});

test('the unit is Type=notify, reloads with SIGHUP and runs `sonde run` with a config', () => {
  const unit = readFileSync(UNIT, 'utf8');
  assert.match(unit, /^Type=notify$/m);
  assert.match(unit, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
  assert.match(unit, /^ExecStart=.* run --config \/etc\/sonde\/sonde\.yml/m);
  assert.match(unit, /^WatchdogSec=\d+$/m);
});

test('systemd-analyze security scores the unit at most 1.6 (it was 4.1), each remaining exposure explained in README', { skip: existsSync('/usr/bin/systemd-analyze') ? false : 'systemd-analyze not installed' }, () => {
  const r = spawnSync('/usr/bin/systemd-analyze', ['security', '--offline=true', '--no-pager', UNIT], { encoding: 'utf8' });
  const out = r.stdout + r.stderr;
  const score = Number(/Overall exposure level for sonde\.service: ([\d.]+)/.exec(out)?.[1]);
  assert.ok(score <= 1.6, `exposure ${score}:\n${out}`);
  const readme = readFileSync(path.resolve(__dirname, '..', '..', '..', 'README.md'), 'utf8');
  // Every setting still marked as an exposure has a line in README's table of them.
  for (const m of out.matchAll(/^✗ (\S+?)=/gm)) assert.ok(readme.includes(`\`${m[1]}=`), `README explains the remaining exposure ${m[1]}=`);
});

test('the unit runs as the dedicated user with only the probing capabilities, XDP in a drop-in', () => {
  const unit = readFileSync(UNIT, 'utf8');
  assert.match(unit, /^User=sonde$/m);
  assert.match(unit, /^AmbientCapabilities=CAP_NET_RAW CAP_BPF CAP_PERFMON$/m);
  assert.match(unit, /^CapabilityBoundingSet=CAP_NET_RAW CAP_BPF CAP_PERFMON$/m);
  for (const k of ['NoNewPrivileges=yes', 'ProtectSystem=strict', 'ProtectHome=yes', 'PrivateTmp=yes']) assert.match(unit, new RegExp(`^${k}$`, 'm'));
  for (const k of ['RestrictAddressFamilies', 'SystemCallFilter', 'MemoryMax', 'LimitNOFILE']) assert.match(unit, new RegExp(`^${k}=\\S`, 'm'));
  const xdp = readFileSync(path.join(path.dirname(UNIT), 'xdp.conf'), 'utf8');
  assert.match(xdp, /^AmbientCapabilities=CAP_NET_ADMIN$/m);
  const r = spawnSync('/usr/bin/systemd-analyze', ['verify', UNIT], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});
