// `sonde ping` as an fping user meets it, the real command each time: live lines on a terminal
// and fping's summary on Ctrl-C (a pty, SIGINT from the line discipline) or SIGTERM, every byte of
// --json through a slow pipe, a million targets from stdin, and one-line errors. Raw sockets and a
// network namespace (the lost echoes are dropped by nftables in it): root only, under the lab lock.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after } from 'node:test';
import { Lab } from '../lab/netns';
import { privilegedTest } from '../lab/privileged';
import { sondeInPty } from '../lab/pty';
import { SONDE_BIN } from '../lab/daemon';
import { runSonde } from '../lab/cli';
import { waitFor } from '../lab/wait';

let lab: Lab | undefined;
/** A namespace where 127.0.0.1 and .2 answer and echoes to 127.0.0.3 are dropped on input (they time out). */
function netns(): string {
  if (!lab) {
    lab = new Lab('sdping');
    lab.addNs('p');
    lab.nft('p', 'table inet sdping {\n chain i {\n  type filter hook input priority 0;\n  ip daddr 127.0.0.3 icmp type echo-request drop\n }\n}\n');
  }
  return lab.ns('p');
}
after(() => lab?.close());

privilegedTest('on a terminal, -l prints each reply and timeout as it happens; Ctrl-C prints the summary and exits 1 (a target lost every echo)', async () => {
  const ns = netns();
  const pty = sondeInPty(['ping', '-l', '-p', '50', '-t', '2000', '127.0.0.1', '127.0.0.2', '127.0.0.3'], { netns: ns });
  // Live: replies and timeouts appear while the command runs (it runs until interrupted). Timeouts
  // are generous: a reply on loopback is never late, even on a loaded machine.
  assert.ok(await pty.waitFor(/127\.0\.0\.1 : \[2\], 64 bytes, [\d.]+ ms \([\d.]+ avg, 0% loss\)/), pty.output());
  assert.ok(await pty.waitFor(/127\.0\.0\.3 : \[1\], timed out \(NaN avg, 100% loss\)/), pty.output());
  pty.interrupt();
  assert.equal(await pty.exited, 1, pty.output());
  const out = pty.output();
  const summary = (t: string) => new RegExp(`^${t.replace(/\./g, '\\.')} : xmt/rcv/%loss = (\\d+)/(\\d+)/(\\d+)%`, 'm').exec(out);
  const one = summary('127.0.0.1');
  assert.ok(one, out);
  assert.ok(Number(one[1]) >= 3 && one[1] === one[2] && one[3] === '0', one[0]);
  const dark = summary('127.0.0.3');
  assert.ok(dark && Number(dark[1]) >= 2 && dark[2] === '0' && dark[3] === '100', out);
});

privilegedTest('on a terminal, -c ends by itself with exit 0; -C lists each RTT; the default mode says alive / unreachable', async () => {
  const ns = netns();
  const c = sondeInPty(['ping', '-c', '3', '-p', '20', '-t', '5000', '127.0.0.1', '127.0.0.2'], { netns: ns });
  assert.equal(await c.exited, 0, c.output());
  for (const t of ['127.0.0.1', '127.0.0.2']) {
    for (const seq of [0, 1, 2]) assert.match(c.output(), new RegExp(`${t.replace(/\./g, '\\.')} : \\[${seq}\\], 64 bytes, `));
    assert.match(c.output(), new RegExp(`${t.replace(/\./g, '\\.')} : xmt/rcv/%loss = 3/3/0%, min/avg/max = `));
  }
  const big = sondeInPty(['ping', '-C', '2', '-p', '20', '-t', '2000', '127.0.0.1', '127.0.0.3'], { netns: ns });
  assert.equal(await big.exited, 1, big.output());
  assert.match(big.output(), /^127\.0\.0\.1 : [\d.]+ [\d.]+\r?$/m);
  assert.match(big.output(), /^127\.0\.0\.3 : - -\r?$/m);
  const alive = sondeInPty(['ping', '-e', '-t', '1000', '-r', '1', '127.0.0.1', '127.0.0.3'], { netns: ns });
  assert.equal(await alive.exited, 1, alive.output());
  assert.match(alive.output(), /^127\.0\.0\.1 is alive \([\d.]+ ms\)\r?$/m);
  assert.match(alive.output(), /^127\.0\.0\.3 is unreachable\r?$/m);
  const onlyAlive = sondeInPty(['ping', '-a', '-t', '1000', '-r', '0', '127.0.0.1', '127.0.0.3'], { netns: ns });
  assert.equal(await onlyAlive.exited, 1);
  assert.equal(onlyAlive.output().replace(/\r/g, ''), '127.0.0.1 is alive\n');
});

privilegedTest('SIGTERM during a --live run prints the summary of what was sent and exits 0 when every target answered', async () => {
  const child = spawn(process.execPath, [SONDE_BIN, 'ping', '-l', '-p', '20', '-t', '5000', '--live', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.ok(await waitFor(() => /\[2\], 64 bytes/.test(stdout), 60_000), stdout + stderr);
  child.kill('SIGTERM');
  assert.equal(await exited, 0, stderr);
  const m = /^127\.0\.0\.1 : xmt\/rcv\/%loss = (\d+)\/(\d+)\/0%/m.exec(stderr);
  assert.ok(m && Number(m[1]) >= 3 && m[1] === m[2], stderr);
  // Live lines, one per reply, numbered from 0 without gaps.
  const seqs = [...stdout.matchAll(/\[(\d+)\], 64 bytes/g)].map((x) => Number(x[1]));
  assert.deepEqual(seqs, seqs.map((_, i) => i));
});

privilegedTest('--json into a slow pipe: every byte arrives (the command exits only once the pipe has drained) and parses', async () => {
  // 4094 targets (127.0.0.0/20 without network and broadcast): about 1.2 MB, 18 times a pipe's 64 KiB.
  // The reader starts a second after the writer (a pipe holds 64 KiB meanwhile), then reads 4 KiB at a time.
  const cmd = `set -o pipefail; "$0" "$1" ping -c 1 -t 10000 -g 127.0.0.0/20 --json | (sleep 1; dd bs=4096 status=none)`;
  const child = spawn('bash', ['-c', cmd, process.execPath, SONDE_BIN], { stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => chunks.push(d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(await exited, 0, stderr);
  const j = JSON.parse(Buffer.concat(chunks).toString()) as Array<{ target: string; received: number }>;
  assert.equal(j.length, 4094);
  assert.equal(j[0].target, '127.0.0.1');
  assert.equal(j[4093].target, '127.0.15.254');
  assert.ok(j.every((t) => t.received === 1));
});

privilegedTest('a million targets from stdin (-f -): each is alive, no stack overflow, exit 0', async () => {
  const lines: string[] = [];
  // 127.0.0.0/8 answers on loopback: 1,000,000 distinct addresses from 127.1.0.0 up.
  for (let n = 0; n < 1_000_000; n++) lines.push(`127.${1 + (n >>> 16)}.${(n >>> 8) & 255}.${n & 255}`);
  const child = spawn(process.execPath, [SONDE_BIN, 'ping', '-f', '-', '-t', '5000'], { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.end(`# one a line\n${lines.join('\n')}\n`);
  let alive = 0;
  let tail = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    const text = tail + d.toString();
    const parts = text.split('\n');
    tail = parts.pop() ?? '';
    for (const p of parts) if (p.endsWith(' is alive')) alive++;
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(stderr, '');
  assert.equal(code, 0);
  assert.equal(alive, 1_000_000);
}, 600_000);

privilegedTest('errors are one line: a string that is no host name is refused without a lookup; a bad value exits 2', async () => {
  const r = await runSonde(['ping', '-c', '1', '-t', '10000', '127.0.0.1', '127.0.0.1:8080/ok']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.split('\n')[0], '127.0.0.1:8080/ok: "127.0.0.1:8080/ok" is neither an IP address nor a host name');
  const s = await runSonde(['ping', '-s', '5', '127.0.0.1']);
  assert.equal(s.code, 2);
  assert.match(s.stderr, /^sonde ping: -b: got "5", expected an integer from 12 to 8192 bytes/);
  const h = await runSonde(['ping', '--help']);
  assert.equal(h.code, 0);
  assert.match(h.stdout, /^usage: sonde ping /);
});

privilegedTest('-i paces the echoes of a round (fping: time between any two echoes) and every target still answers', async () => {
  const r = await runSonde(['ping', '-c', '2', '-p', '100', '-t', '10000', '-i', '5', '-g', '127.0.0.0/28', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as Array<{ target: string; sent: number; received: number }>;
  assert.deepEqual(j.map((t) => [t.target, t.sent, t.received]), Array.from({ length: 14 }, (_, i) => [`127.0.0.${i + 1}`, 2, 2]));
});
