// Targets as users write them: host names told apart from strings no resolver should see, target
// lists (fping -f), networks and ranges (fping -g), and errno names in one-line errors.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { errorLine, errnoText } from '../../src/cli/output';
import { generateTargets, isHostName, notAHost, parseTargetList } from '../../src/cli/targets';

test('host names (RFC 1123) and IP literals pass; anything else is refused before a lookup', () => {
  for (const ok of ['localhost', 'shop.internal', 'a-b.example.', 'xn--bcher-kva.example', '_sip._udp.example', '127.0.0.1', '::1', '[fd5e:ed00::1]', 'x1']) assert.equal(notAHost(ok), undefined, ok);
  for (const bad of ['', 'a b', '127.0.0.1:8080/ok', 'http://x', '1.2.3.999', '198.18.0', '-a.example', 'a..b', 'a'.repeat(64) + '.example', 'ex ample.org']) {
    assert.match(notAHost(bad) ?? '', /is neither an IP address nor a host name$/, JSON.stringify(bad));
  }
  assert.equal(isHostName('a.'.repeat(126) + 'a'), true);
  assert.equal(isHostName('a.'.repeat(127) + 'a'), false, 'over 253 bytes');
});

test('a target list skips blanks and comment lines and takes the first field of a line', () => {
  assert.deepEqual(parseTargetList('# targets\n127.0.0.1\n\n  ::1  \n# end\nhost.example  trailing words\n198.18.0.1'), ['127.0.0.1', '::1', 'host.example', '198.18.0.1']);
  assert.deepEqual(parseTargetList(''), []);
});

test('-g: a network without its network and broadcast addresses (but /31 and /32 whole), or a range', () => {
  assert.deepEqual(generateTargets('198.18.0.0/30'), ['198.18.0.1', '198.18.0.2']);
  assert.deepEqual(generateTargets('198.18.0.5/29'), ['198.18.0.1', '198.18.0.2', '198.18.0.3', '198.18.0.4', '198.18.0.5', '198.18.0.6']);
  assert.deepEqual(generateTargets('198.18.0.0/31'), ['198.18.0.0', '198.18.0.1']);
  assert.deepEqual(generateTargets('198.18.0.9/32'), ['198.18.0.9']);
  assert.deepEqual(generateTargets('198.18.0.254-198.18.1.1'), ['198.18.0.254', '198.18.0.255', '198.18.1.0', '198.18.1.1']);
  assert.equal(generateTargets('127.0.0.0/12').length, (1 << 20) - 2);
  for (const [spec, message] of [
    ['198.18.0.0/33', /expected an IPv4 network/],
    ['198.18.0.0/7', /expected a prefix length from 8 to 32/],
    ['198.18.1.0-198.18.0.0', /the range ends before it starts/],
    ['fd5e::/120', /expected an IPv4 network/],
    ['198.18.0.256/24', /expected an IPv4 network/],
  ] as const) {
    assert.throws(() => generateTargets(spec), message, spec);
  }
});

test('errno numbers and error codes read as names with their meaning, in one line', () => {
  assert.equal(errnoText(1), 'EPERM (operation not permitted)');
  assert.equal(errnoText(-101), 'ENETUNREACH (network unreachable)');
  assert.equal(errnoText(99999), 'errno 99999');
  const e = Object.assign(new Error('listen EADDRINUSE: address already in use 127.0.0.1:9925\n    at stack'), { code: 'EADDRINUSE', syscall: 'listen', address: '127.0.0.1', port: 9925 });
  assert.equal(errorLine(e), 'listen 127.0.0.1:9925: EADDRINUSE (address already in use)');
  assert.equal(errorLine(new Error('plain\nsecond line')), 'plain');
  assert.equal(errorLine({ errno: 13 }), 'EACCES (permission denied)');
});
