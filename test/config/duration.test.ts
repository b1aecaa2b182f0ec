import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, parseDuration } from '../../src/config/duration';

const GOOD: Array<[string, number, string]> = [
  ['5s', 5, 'seconds'],
  ['250ms', 0.25, 'milliseconds'],
  ['1m30s', 90, 'minutes and seconds combined (Prometheus)'],
  ['1h', 3600, 'hours'],
  ['1d', 86400, 'days (Prometheus only)'],
  ['2w', 14 * 86400, 'weeks (Prometheus only)'],
  ['1y', 365 * 86400, 'a Prometheus year is 365 days'],
  ['1.5s', 1.5, 'fractions (Go time.ParseDuration, used for blackbox module timeouts)'],
  ['500us', 0.0005, 'microseconds (Go)'],
  ['500µs', 0.0005, 'microseconds with the micro sign (Go)'],
  ['100ns', 1e-7, 'nanoseconds (Go)'],
  ['1h2m3s4ms', 3723.004, 'every unit from hours down'],
  ['0', 0, 'zero without unit'],
  ['15', 15, 'a plain number is seconds (sonde)'],
  ['0.5', 0.5, 'a plain fraction is seconds (sonde)'],
  ['  10s ', 10, 'surrounding blanks are ignored'],
];

const BAD: Array<[string, string]> = [
  ['', 'empty'],
  ['5x', 'unknown unit'],
  ['-5s', 'negative'],
  ['s', 'unit without number'],
  ['5 s', 'blank between number and unit'],
  ['1m 30s', 'blank between components'],
  ['.5s', 'fraction without integer part'],
  ['5sec', 'long unit name'],
  ['1e3s', 'exponent notation'],
];

test('parseDuration reads Prometheus and Go duration strings into seconds', () => {
  for (const [input, seconds, why] of GOOD) {
    assert.equal(parseDuration(input), seconds, `${JSON.stringify(input)}: ${why}`);
  }
});

test('parseDuration rejects malformed durations with an Error naming the input', () => {
  for (const [input, why] of BAD) {
    assert.throws(() => parseDuration(input), (e: Error) => e.message.length > 0, `${JSON.stringify(input)} should fail: ${why}`);
  }
  assert.throws(() => parseDuration('5x'), /not a valid duration: "5x"/);
});

test('formatDuration writes seconds back the short way', () => {
  const cases: Array<[number, string]> = [
    [0, '0s'],
    [15, '15s'],
    [90, '1m30s'],
    [3600, '1h'],
    [0.25, '250ms'],
    [3723.004, '1h2m3s4ms'],
  ];
  for (const [secs, text] of cases) {
    assert.equal(formatDuration(secs), text);
    assert.equal(parseDuration(text), secs, `${text} round-trips`);
  }
});
