// Pure pieces of the TCP prober: Go's regexp.Expand semantics, Go's SplitHostPort, and the
// bufio.Scanner-like line reader (fed through an in-memory stream).
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { ProbeFailure } from '../../src/probers/errors';
import { splitHostPort } from '../../src/probers/tcp/probe';
import { runDialogue, type DialogueIO } from '../../src/probers/tcp/dialogue';
import { expandTemplate } from '../../src/probers/tcp/expand';
import { LineReader, MAX_LINE_BYTES } from '../../src/probers/tcp/lines';

const match = /^(?<cmd>[A-Z]+) :?(\w+)(?: (x))?/.exec('PING :abc123') as RegExpExecArray;

// Expected values are what Go's (*Regexp).Expand returns for the same template and match.
const expansions: Array<{ desc: string; template: string; want: string }> = [
  { desc: 'a numbered group in braces', template: 'PONG ${2}', want: 'PONG abc123' },
  { desc: 'a bare numbered group', template: 'PONG $2', want: 'PONG abc123' },
  { desc: 'a named group', template: '${cmd}/$cmd', want: 'PING/PING' },
  { desc: 'group 0, the whole match', template: '[$0]', want: '[PING :abc123]' },
  { desc: 'a bare name runs over letters and digits ($2x is group "2x")', template: '$2x', want: '' },
  { desc: 'braces end the name', template: '${2}x', want: 'abc123x' },
  { desc: '$$ is a literal dollar', template: 'cost $$2', want: 'cost $2' },
  { desc: 'a group that did not take part is empty', template: '<$3>', want: '<>' },
  { desc: 'a group number out of range is empty', template: '<$9>', want: '<>' },
  { desc: 'an unknown name is empty', template: '<$nope>', want: '<>' },
  { desc: 'a leading zero makes a name, not a number', template: '<$02>', want: '<>' },
  { desc: 'a lone $ at the end stays', template: 'a$', want: 'a$' },
  { desc: 'an unclosed brace leaves the $ as text', template: '${2', want: '${2' },
  { desc: 'an empty name leaves the $ as text', template: '$-${}', want: '$-${}' },
  { desc: 'text without references is unchanged', template: 'QUIT', want: 'QUIT' },
];
for (const e of expansions) {
  test(`expand: ${e.desc}`, () => {
    assert.equal(expandTemplate(e.template, match), e.want);
  });
}

const splits: Array<{ target: string; host?: string; port?: number }> = [
  { target: 'example.test:22', host: 'example.test', port: 22 },
  { target: '127.0.0.1:65535', host: '127.0.0.1', port: 65535 },
  { target: '[::1]:443', host: '::1', port: 443 },
  { target: '[fd5e:ed00::1%eth0]:25', host: 'fd5e:ed00::1%eth0', port: 25 },
  { target: 'example.test' },
  { target: '::1' },
  { target: '[::1]' },
  { target: '[::1:80' },
  { target: 'host:0' },
  { target: 'host:ssh' },
  { target: 'host:' },
];
for (const s of splits) {
  test(`splitHostPort(${JSON.stringify(s.target)}) ${s.host ? 'splits' : 'is a config error'}`, () => {
    if (s.host) {
      assert.deepEqual(splitHostPort(s.target), { host: s.host, port: s.port });
    } else {
      assert.throws(() => splitHostPort(s.target), (err: unknown) => err instanceof ProbeFailure && err.reason === 'config');
    }
  });
}

async function linesOf(chunks: Array<string | Buffer>): Promise<Array<string | null>> {
  const stream = new PassThrough();
  const reader = new LineReader(stream);
  for (const c of chunks) stream.write(c);
  stream.end();
  const out: Array<string | null> = [];
  for (let i = 0; i < 20; i++) {
    const line = await reader.readLine();
    out.push(line);
    if (line === null) break;
  }
  return out;
}

test('lines end at LF, one CR before it is dropped, and a line split over chunks is joined', async () => {
  assert.deepEqual(await linesOf(['220 a\r\n25', '0 b\n\r\n', 'x\r\r\n']), ['220 a', '250 b', '', 'x\r', null]);
});

test('the last line without a newline is returned at EOF, then null', async () => {
  assert.deepEqual(await linesOf(['one\ntwo']), ['one', 'two', null]);
});

test('a line longer than 64 KiB is a protocol_error', async () => {
  const stream = new PassThrough();
  const reader = new LineReader(stream);
  stream.write(Buffer.alloc(MAX_LINE_BYTES + 10, 0x61));
  await assert.rejects(reader.readLine(), (err: unknown) => err instanceof ProbeFailure && err.reason === 'protocol_error');
  stream.destroy();
});

test('a stream error while waiting for a line rejects the read with that error', async () => {
  const stream = new PassThrough();
  const reader = new LineReader(stream);
  stream.write('ok\npart');
  assert.equal(await reader.readLine(), 'ok');
  const pending = reader.readLine();
  stream.destroy(Object.assign(new Error('reset by peer'), { code: 'ECONNRESET' }));
  await assert.rejects(pending, /reset by peer/);
});

/** A scripted peer for runDialogue: lines to hand out, and what was written and upgraded. */
function scripted(lines: string[]): DialogueIO & { written: string[]; upgrades: number } {
  const queue = [...lines];
  const io = {
    written: [] as string[],
    upgrades: 0,
    readLine: async () => queue.shift() ?? null,
    readBytes: async (n: number) => Buffer.from((queue.shift() ?? '').slice(0, n), 'latin1'),
    write: async (d: string) => void io.written.push(d),
    startTLS: async () => void io.upgrades++,
  };
  return io;
}

test('the dialogue skips non-matching lines, sends with "\\n" and records expect info per step', async () => {
  const io = scripted(['noise', 'VERSION 1.2', 'READY']);
  const facts = { failedDueToRegex: false };
  await runDialogue(
    [
      { expect: /^VERSION (\S+)/g, send: 'HELLO $1', starttls: false, labels: [{ name: 'v', value: 'v$1' }] },
      { expect: /^READY$/, starttls: true, labels: [] },
    ],
    io,
    facts,
  );
  assert.deepEqual(io.written, ['HELLO 1.2\n']);
  assert.equal(io.upgrades, 1);
  assert.deepEqual(facts, { failedDueToRegex: false, expectInfo: [{ labels: { v: 'v1.2' } }] });
});

test('the dialogue fails with expect_mismatch and sets the regex flag when lines run out', async () => {
  const io = scripted(['a', 'b']);
  const facts = { failedDueToRegex: false };
  await assert.rejects(
    runDialogue([{ expect: /^c/, send: 'never', starttls: false, labels: [] }], io, facts),
    (err: unknown) => err instanceof ProbeFailure && err.reason === 'expect_mismatch',
  );
  assert.equal(facts.failedDueToRegex, true);
  assert.deepEqual(io.written, []);
});

test('expect_bytes compares raw bytes; a !!binary send is written byte for byte', async () => {
  const cases = [
    { desc: 'the bytes match', reply: 'S', ok: true, failedDueToBytes: false },
    { desc: 'other bytes', reply: 'N', ok: false, failedDueToBytes: true },
    { desc: 'the peer closes first', reply: '', ok: false, failedDueToBytes: undefined },
  ];
  for (const c of cases) {
    const io = scripted([c.reply]);
    const facts: { failedDueToRegex: boolean; failedDueToBytes?: boolean } = { failedDueToRegex: false };
    const steps = [
      { send: Buffer.from([0, 0, 0, 8, 4, 0xd2, 0x16, 0x2f]).toString('latin1'), send_binary: true, starttls: false, labels: [] },
      { expect_bytes: Buffer.from('S'), starttls: false, labels: [] },
    ];
    const run = runDialogue(steps, io, facts);
    if (c.ok) await run;
    else await assert.rejects(run, (e: Error & { reason?: string }) => e.reason === 'expect_mismatch', c.desc);
    assert.equal(facts.failedDueToBytes, c.failedDueToBytes, c.desc);
    assert.deepEqual(Buffer.from(io.written[0], 'latin1'), Buffer.from([0, 0, 0, 8, 4, 0xd2, 0x16, 0x2f, 0x0a]), c.desc);
  }
});
