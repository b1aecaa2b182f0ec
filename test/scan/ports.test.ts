// nmap's port syntax as `sonde scan -p` and tcp_syn's `ports` take it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatPorts, hasPort, parsePorts, portCount, PortSyntaxError } from '../../src/scan/ports';

test('nmap port syntax: lists, ranges, open ends, -p- and merged overlaps', () => {
  const cases: Array<[string, string, Array<[number, number]>]> = [
    ['one port', '80', [[80, 80]]],
    ['a list, sorted', '443,22,80', [[22, 22], [80, 80], [443, 443]]],
    ['a range', '8000-8100', [[8000, 8100]]],
    ['every port (-p-)', '-', [[1, 65535]]],
    ['open start', '-1024', [[1, 1024]]],
    ['open end', '60000-', [[60000, 65535]]],
    ['overlaps merged', '1-10,5-20,20', [[1, 20]]],
    ['neighbours merged', '1-10,11-12', [[1, 12]]],
    ['duplicates once', '22,22,22', [[22, 22]]],
    ['blanks around tokens', ' 22 , 80 ', [[22, 22], [80, 80]]],
    ['a lone - in a list is every port', '22,-', [[1, 65535]]],
  ];
  for (const [what, spec, want] of cases) assert.deepEqual(parsePorts(spec), want, what);
  assert.equal(portCount(parsePorts('-')), 65535);
  assert.equal(formatPorts(parsePorts('80,22,23,8000-8100')), '22-23,80,8000-8100');
  assert.ok(hasPort(parsePorts('22,80,8000-8100'), 8050));
  assert.ok(!hasPort(parsePorts('22,80,8000-8100'), 81));
});

test('bad port syntax names the bad token', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['out of range', '22,70000', /port "70000": 70000 is not from 1 to 65535/],
    ['zero', '0', /port "0": 0 is not from 1 to 65535/],
    ['not a number', '22,ssh', /port "ssh": expected a port number/],
    ['range backwards', '100-10', /port range "100-10" ends before it starts/],
    ['empty token', '22,,80', /empty port/],
    ['trailing comma', '22,', /empty port/],
    ['nothing', '', /no ports given/],
    ['protocol prefix', 'U:53', /protocol prefixes .* not supported/],
    ['range with a bad end', '10-x', /port "10-x"/],
  ];
  for (const [what, spec, re] of cases) {
    assert.throws(() => parsePorts(spec), (e: unknown) => e instanceof PortSyntaxError && re.test(e.message), what);
  }
});
