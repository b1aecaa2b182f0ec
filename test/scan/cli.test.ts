// `sonde scan` as a user types it: refusals and usage errors are one clear line and exit 2 before
// anything is opened (the lab test counts the packets: none); --help exits 0.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { runSonde } from '../lab/cli';

const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-scan-cli-'));
const file = (name: string, text: string): string => {
  const f = path.join(dir, name);
  writeFileSync(f, text);
  return f;
};

test('sonde scan --help: the usage with every flag, exit 0', async () => {
  const r = await runSonde(['scan', '--help']);
  assert.equal(r.code, 0);
  for (const flag of ['-p PORTS', '--rate', '--retries', '--wait', '--shard', '--seed', '--exclude', '--all-states', '--ndjson', '--json', '--csv', '-oG', '--source-ip', '--source-port', '--max-runtime', '--then', '-iL', '--config']) {
    assert.ok(r.stdout.includes(flag), `usage lists ${flag}`);
  }
});

test('refusals and usage errors: exit 2, one line naming what is wrong', async () => {
  const allowLab = file('lab.yml', 'scan:\n  allow: [198.18.0.0/15]\n  exclude: [198.18.0.1]\n');
  const badKey = file('bad.yml', 'scan:\n  allow: [198.18.0.0/15]\n  alow: []\n');
  const badExclude = file('ex.txt', '# lab\n198.18.0.0/30\n198.18.0.999\n');
  const goodExclude = file('ex_ok.txt', '198.18.0.0/24  # all of it\n');
  const cases: Array<[string, string[], RegExp]> = [
    ['no --rate', ['127.0.0.1', '-p', '22'], /--rate is required/],
    ['a rate of 0', ['127.0.0.1', '-p', '22', '--rate', '0'], /--rate: got "0"/],
    ['no -p', ['127.0.0.1', '--rate', '10'], /-p is required/],
    ['a port out of range', ['127.0.0.1', '-p', '22,65536', '--rate', '10'], /port "65536": 65536 is not from 1 to 65535/],
    ['a malformed port', ['127.0.0.1', '-p', '22,x1', '--rate', '10'], /port "x1"/],
    ['outside the default allow list (loopback)', ['198.18.0.5', '-p', '22', '--rate', '10'], /target "198\.18\.0\.5" is outside the allowed ranges \(scan\.allow: 127\.0\.0\.0\/8, ::1\/128\)/],
    ['outside the config\'s allow list', ['198.20.0.0/16', '-p', '22', '--rate', '10', '--config', allowLab], /target "198\.20\.0\.0\/16" is outside the allowed ranges \(scan\.allow: 198\.18\.0\.0\/15\)/],
    ['only excluded addresses left', ['198.18.0.1', '-p', '22', '--rate', '10', '--config', allowLab], /every target is excluded/],
    ['an exclude file with a bad line', ['127.0.0.1', '-p', '22', '--rate', '10', '--exclude', badExclude], /--exclude .*ex\.txt:3: "198\.18\.0\.999" is not an IP address/],
    ['an exclude file that takes everything', ['198.18.0.7', '-p', '22', '--rate', '10', '--config', allowLab, '--exclude', goodExclude], /every target is excluded/],
    ['a missing target file', ['@/nonexistent/targets', '-p', '22', '--rate', '10'], /@ \/nonexistent\/targets: cannot read it \(ENOENT\)/],
    ['a config with an unknown scan key', ['127.0.0.1', '-p', '22', '--rate', '10', '--config', badKey], /bad\.yml:3:3: scan\.alow: unknown key \(expected one of: allow, exclude\)/],
    ['a bad shard', ['127.0.0.1', '-p', '22', '--rate', '10', '--shard', '3/3'], /--shard: got "3\/3"/],
    ['--then with a module that takes no port', ['127.0.0.1', '-p', '22', '--rate', '10', '--then', 'icmp'], /--then: module icmp is a icmp module/],
    ['two formats', ['127.0.0.1', '-p', '22', '--rate', '10', '--csv', '--json'], /--json and --csv exclude each other|--csv and --json exclude each other/],
    ['no target', ['-p', '22', '--rate', '10'], /no target given/],
  ];
  for (const [what, argv, re] of cases) {
    const r = await runSonde(['scan', ...argv]);
    assert.equal(r.code, 2, `${what}: exit ${r.code}, stderr ${r.stderr}`);
    assert.match(r.stderr, re, what);
    assert.equal(r.stdout, '', `${what}: nothing on stdout`);
    assert.doesNotMatch(r.stderr, /\n\s+at /, `${what}: no stack trace`);
  }
});
