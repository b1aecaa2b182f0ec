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
