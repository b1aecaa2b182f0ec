// `sonde drops` at a terminal: the live table while it runs, and Ctrl-C (SIGINT from the pty's
// line discipline, mid-run) ends it with the summary and exit 0. eBPF: root only, under the lab lock.
import assert from 'node:assert/strict';
import { after } from 'node:test';
import { Lab } from '../lab/netns';
import { privilegedTest } from '../lab/privileged';
import { sondeInPty } from '../lab/pty';

let lab: Lab | undefined;
after(() => lab?.close());

privilegedTest('sonde drops on a terminal: the table is redrawn live; Ctrl-C prints the summary and exits 0', async () => {
  lab = new Lab('sddrop');
  lab.addNs('d');
  const pty = sondeInPty(['drops', '--duration', '3600'], { netns: lab.ns('d') });
  assert.ok(await pty.waitFor(/sonde drops \(local-netns\), \d+\/3600 s, \d+ drops/), pty.output());
  assert.ok(await pty.waitFor(/COUNT +REASON +LOCATION +DIRECTION/), pty.output());
  pty.interrupt();
  assert.equal(await pty.exited, 0, pty.output());
  assert.match(pty.output(), /summary: \d+ drops in [\d.]+ s \(local-netns\)/);
});
