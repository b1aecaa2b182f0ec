import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseArgs, intFlag, secondsFlag, UsageError } from '../../src/cli/args';
import { parseListenAddress } from '../../src/api/server';

const spec = { json: { value: false }, count: { value: true, aliases: ['-c'] } };

test('flags, aliases, = form and positionals', () => {
  assert.deepEqual(parseArgs(['a', '-c', '3', '--json', 'b'], spec), { flags: { count: '3', json: true }, lists: { count: ['3'] }, positional: ['a', 'b'] });
  assert.deepEqual(parseArgs(['--count=5', '--', '--json'], spec), { flags: { count: '5' }, lists: { count: ['5'] }, positional: ['--json'] });
  assert.deepEqual(parseArgs(['-c', '1', '--count=2'], spec).lists.count, ['1', '2'], 'a repeated flag keeps every value');
});

test('usage errors name the flag', () => {
  const cases: Array<[string[], string]> = [
    [['--nope'], 'unknown flag --nope'],
    [['-c'], 'flag -c needs a value'],
    [['--json=1'], 'flag --json takes no value'],
  ];
  for (const [argv, message] of cases) assert.throws(() => parseArgs(argv, spec), new UsageError(message));
  assert.throws(() => intFlag('0', '-c', 1, 1, 10), /-c: got "0", expected an integer from 1 to 10/);
  assert.throws(() => secondsFlag('-1', '-i', 1), /-i: got "-1", expected a positive number of seconds/);
  assert.equal(secondsFlag('0.25', '-i', 1), 0.25);
});

test('listen addresses in blackbox form', () => {
  assert.deepEqual(parseListenAddress(':9925'), { host: '::', port: 9925, anyFamily: true });
  assert.deepEqual(parseListenAddress('127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
  assert.deepEqual(parseListenAddress('[::1]:80'), { host: '::1', port: 80 });
  assert.throws(() => parseListenAddress('9925'), /--web.listen-address: got "9925", expected HOST:PORT/);
  assert.throws(() => parseListenAddress(':70000'), /expected HOST:PORT/);
});
