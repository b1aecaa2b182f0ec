// bin/sonde.js started as a user types it: its /bin/sh line starts node, without NODE_EXTRA_CA_CERTS
// for the commands that never open a TLS connection (Node reads that bundle before any JavaScript
// runs, 50 ms of a `sonde ping` with Debian's whole bundle), and with it for every other command.
// A bundle that does not exist makes node warn at start, which shows whether node was given it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { SONDE_BIN } from '../lab/daemon';
import { VERSION } from '../../src/version';

const WARNING = /Ignoring extra certs from `\/nonexistent\/bundle\.pem`/;

function direct(args: string[]) {
  const r = spawnSync(SONDE_BIN, args, { encoding: 'utf8', timeout: 60_000, env: { ...process.env, NODE_EXTRA_CA_CERTS: '/nonexistent/bundle.pem' } });
  assert.equal(r.error, undefined, `spawning ${SONDE_BIN}: ${r.error?.message}`);
  return r;
}

test('bin/sonde.js runs through its shell line and passes every argument on', () => {
  const r = direct(['--version']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, `sonde ${VERSION}\n`);
  const u = direct(['no-such-command', 'a b', '$HOME']);
  assert.equal(u.status, 2);
  assert.match(u.stderr, /unknown command "no-such-command"/);
});

test('commands that may use TLS keep NODE_EXTRA_CA_CERTS', () => {
  for (const args of [['--version'], ['probe', '--help'], ['dns-health', '--help'], ['scan', '--help']]) {
    const r = direct(args);
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, WARNING, `${args.join(' ')} was started without the extra bundle`);
  }
});

test('ping, trace, drops and discover-v6 start node without NODE_EXTRA_CA_CERTS', () => {
  for (const cmd of ['ping', 'trace', 'drops', 'discover-v6']) {
    const r = direct([cmd, '--help']);
    assert.equal(r.status, 0, `${cmd} --help: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, WARNING, `${cmd} was started with the extra bundle`);
    assert.match(r.stdout, new RegExp(`sonde ${cmd}`), `${cmd} --help printed no usage`);
  }
});
