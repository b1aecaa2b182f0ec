import { test } from 'node:test';
import assert from 'node:assert/strict';
import { goRegex, translateGoRegex } from '../../src/config/regex';

// [Go pattern, JS source, JS flags, what the rewrite is about]
const TRANSLATIONS: Array<[string, string, string, string]> = [
  ['^SSH-2\\.0-', '^SSH-2\\.0-', '', 'common syntax passes through'],
  ['^+OK', '^OK', '', 'a quantifier on ^ is a no-op in RE2 and an error in JS: dropped'],
  ['$*x', '$x', '', 'a quantifier on $ is dropped too'],
  ['(?i)error', 'error', 'i', 'leading (?i) becomes the i flag'],
  ['(?is)a.b', 'a.b', 'is', 'combined leading flags; with s, "." stays "."'],
  ['(?m)^ok$', '^ok$', 'm', 'leading (?m) becomes the m flag'],
  ['(?P<ver>\\d+)', '(?<ver>\\d+)', '', 'Go named groups (?P<name>) become (?<name>)'],
  ['\\Astart', '^start', '', '\\A is start of text'],
  ['end\\z', 'end$', '', '\\z is end of text'],
  ['(?m)\\Ax\\z', '(?<![\\s\\S])x(?![\\s\\S])', 'm', 'with (?m), \\A and \\z must not match at line breaks'],
  ['\\Qa.b*c\\E+', 'a\\.b\\*c+', '', '\\Q...\\E quotes a literal'],
  ['a.c', 'a[^\\n]c', '', 'Go "." excludes only \\n (JS also excludes \\r)'],
  ['\\s+', '[\\t\\n\\f\\r ]+', '', 'Go \\s is ASCII whitespace only'],
  ['[]a]', '[\\]a]', '', '"]" first in a class is a literal in RE2'],
  ['[[:alpha:][:digit:]]', '[A-Za-z0-9]', '', 'POSIX classes are expanded'],
  ['\\x41\\x{42}', '\\u0041\\u0042', '', 'hex escapes'],
  ['\\101', '\\u0041', '', 'octal escapes'],
  ['\\pL\\p{Greek}', '\\p{L}\\p{Script=Greek}', 'u', 'Unicode classes need the u flag'],
  ['a{2,3}?', 'a{2,3}?', '', 'bounded lazy repetition'],
  ['a{,3}', 'a\\{,3\\}', '', '{,n} is a literal in RE2'],
  ['\\-\\!', '-!', '', 'escaped punctuation is a literal'],
  ['PONG \\$\\{1\\}', 'PONG \\$\\{1\\}', '', 'escaped syntax characters stay escaped'],
  ['(?i:ok)!', '(?:[oO][kK])!', '', 'a flag group (?i:...) folds its letters (JS has no scoped flags)'],
  ['a(?i)b', 'a[bB]', '', '(?i) inside the pattern: to the end of its group'],
  ['(x(?i)y)z', '(x[yY])z', '', '... and no further'],
  ['(?i:[a-c_])', '(?:[a-c_A-C])', '', 'a class under (?i) gets the other case of its letters'],
  ['(?s:a.b)', '(?:a[\\s\\S]b)', '', '(?s:...): "." matches \\n there'],
  ['(?m:^x$)', '(?:(?<![^\\n])x(?![^\\n]))', '', '(?m:...): ^ and $ at line breaks there'],
  ['(?m)a(?-m:$)', 'a(?:(?![\\s\\S]))', 'm', '(?-m:...) under a leading (?m): end of text only'],
];

test('goRegex translates RE2 syntax to equivalent JS syntax', () => {
  for (const [go, source, flags, why] of TRANSLATIONS) {
    assert.deepEqual(translateGoRegex(go), { source, flags }, `${go}: ${why}`);
    assert.ok(goRegex(go) instanceof RegExp, `${go} compiles`);
  }
});

test('translated patterns match what Go would match', () => {
  const cases: Array<[string, string, boolean]> = [
    ['^+OK', '+OK ready', false], // Go: "^+" is "^", so "+OK" does not match "^OK"
    ['^+OK', 'OK ready', true],
    ['(?i)error', 'Internal ERROR', true],
    ['a.c', 'a\rc', true], // Go "." matches \r
    ['a.c', 'a\nc', false],
    ['(?s)a.c', 'a\nc', true],
    ['\\Qa.b\\E', 'axb', false],
    ['\\Qa.b\\E', 'a.b', true],
    ['(?m)^b$', 'a\nb\nc', true],
    ['(?m)\\Ab', 'a\nb', false],
    ['[[:upper:]]+', 'abc', false],
  ];
  for (const [go, input, want] of cases) {
    assert.equal(goRegex(go).test(input), want, `${go} on ${JSON.stringify(input)}`);
  }
  assert.equal(goRegex('(?P<ver>\\d+)\\.(\\d+)').exec('v1.22')?.groups?.ver, '1');
});

test('goRegex rejects what RE2 rejects, naming the problem', () => {
  const cases: Array<[string, RegExp]> = [
    ['(?=x)', /lookaround \(\?= is not supported by RE2 at offset 0/],
    ['a(?!b)', /lookaround \(\?! is not supported by RE2/],
    ['(?<=a)b', /lookaround \(\?<= is not supported/],
    ['(?<!a)b', /lookaround \(\?<! is not supported/],
    ['(a)\\1', /backreferences \(\\1\) are not supported by RE2/],
    ['(?P<x>a)(?P=x)', /named backreferences/],
    ['(?i)a(?-i:b)', /clearing the leading \(\?i\) inside the expression is not supported/],
    ['(?x:a)', /unknown flag "x"/],
    ['(?U)a+', /ungreedy flag/],
    ['a\\Z', /\\Z is not supported by RE2/],
    ['a{1001}', /invalid repeat count \{1001\}/],
    ['[[:^alpha:]]', /negated POSIX class/],
    ['[a', /missing closing \]/],
    ['a(b', /unterminated group/i],
    ['\\k', /invalid escape \\k/],
    ['a\\', /trailing backslash/],
  ];
  for (const [go, message] of cases) {
    assert.throws(() => goRegex(go), message, go);
  }
});
