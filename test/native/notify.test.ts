import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { sdNotify } from '../../src/native/notify';
import { NotifyListener } from '../lab/notify';

test('sd_notify reaches a filesystem socket with every field on its own line', async () => {
  const sock = path.join(mkdtempSync(path.join(os.tmpdir(), 'sonde-notify-')), 'notify.sock');
  const l = await NotifyListener.start(sock);
  try {
    assert.equal(sdNotify({ READY: '1', STATUS: 'probing 3 tasks' }, sock), 0);
    assert.equal(await l.waitFor('READY=1'), 'READY=1\nSTATUS=probing 3 tasks');
    assert.equal(sdNotify({ WATCHDOG: '1' }, sock), 0);
    await l.waitFor('WATCHDOG=1');
  } finally {
    l.close();
  }
});

test('sd_notify reaches an abstract socket named with a leading @', async () => {
  const name = `@sonde-test-${process.pid}-${Date.now()}`;
  const l = await NotifyListener.start(name);
  try {
    assert.equal(sdNotify({ STOPPING: '1' }, name), 0);
    await l.waitFor('STOPPING=1');
  } finally {
    l.close();
  }
});

test('sd_notify is a no-op without NOTIFY_SOCKET and reports errors as -errno', () => {
  assert.equal(sdNotify({ READY: '1' }, ''), 1);
  const missing = path.join(os.tmpdir(), `sonde-no-such-socket-${process.pid}`);
  assert.equal(sdNotify({ READY: '1' }, missing), -2); // ENOENT
});

test('newlines inside a value cannot inject extra fields', async () => {
  const sock = path.join(mkdtempSync(path.join(os.tmpdir(), 'sonde-notify-')), 'n.sock');
  const l = await NotifyListener.start(sock);
  try {
    sdNotify({ STATUS: 'a\nREADY=1' }, sock);
    const msg = await l.waitFor('STATUS=a READY=1');
    assert.equal(msg, 'STATUS=a READY=1');
  } finally {
    l.close();
  }
});
