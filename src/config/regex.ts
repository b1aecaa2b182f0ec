// Go RE2 syntax (https://github.com/google/re2/wiki/Syntax, Go regexp/syntax) → JS RegExp.
// blackbox_exporter compiles every regexp option with Go's regexp, so a blackbox.yml carries RE2
// syntax. Most of it is shared with JS; this file rewrites the differences and rejects what RE2
// itself rejects (lookarounds, backreferences), so a config valid here is valid for blackbox too.
// Matching stays unanchored, as Go's regexp.Match.

import { foldClass } from './regex_fold';

const LOOKAROUND_PREFIXES = ['(?=', '(?!', '(?<=', '(?<!'];
// Characters that must stay escaped to be literal in a JS pattern (outside a class), u-mode safe.
const JS_SYNTAX = new Set('^$\\.*+?()[]{}|/'.split(''));
// Go's \s is exactly [\t\n\f\r ]; JS's \s adds \v and Unicode spaces.
const GO_SPACE = '\\t\\n\\f\\r ';
// POSIX bracket classes RE2 accepts inside [...] and JS does not know.
const POSIX: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};
const REPEAT = /^\{(\d+)(,(\d*))?\}/;
// Go regexp/syntax: "invalid repeat count" above 1000.
const MAX_REPEAT = 1000;

/** The i, m and s flags in force at a point of the pattern (RE2 scopes them to the group). */
interface Scope {
  i: boolean;
  m: boolean;
  s: boolean;
}

interface State {
  src: string;
  i: number;
  out: string;
  /** the JS RegExp's flags: the leading flag groups, and u when needed */
  flags: Set<string>;
  /** flags in force here; set and cleared by (?flags) and (?flags:...) anywhere in the pattern */
  scope: Scope;
  /** the scope of each open group, restored at its ")" */
  outer: Scope[];
  /** where the current class's body starts in `out`, to case-fold it at "]" under a scoped (?i) */
  classOut: number;
  inClass: boolean;
  /** index in src of the first character inside the current class (where "]" is a literal) */
  classStart: number;
  /** what the last emitted element was; quantifiers after anchors are dropped (RE2 no-op) */
  last: 'none' | 'atom' | 'anchor';
}

function fail(st: State, what: string): never {
  throw new Error(`${what} at offset ${st.i}`);
}

function codeLiteral(st: State, code: number): string {
  if (code > 0x10ffff) fail(st, 'code point out of range');
  if (code <= 0xffff) return `\\u${code.toString(16).padStart(4, '0')}`;
  st.flags.add('u');
  return `\\u{${code.toString(16)}}`;
}

function escapeLiteral(ch: string, inClass: boolean): string {
  if (inClass) return ch === '\\' || ch === ']' || ch === '[' || ch === '^' || ch === '-' ? `\\${ch}` : ch;
  return JS_SYNTAX.has(ch) ? `\\${ch}` : ch;
}

function leadingFlags(st: State): void {
  // Only flag groups at the very start map onto JS flags; elsewhere they would scope differently.
  for (;;) {
    const m = /^\(\?([A-Za-z-]*)\)/.exec(st.src.slice(st.i));
    if (!m) return;
    for (const f of m[1]) {
      if (f === 'i' || f === 'm' || f === 's') st.flags.add(f);
      else if (f === 'U') fail(st, 'the ungreedy flag (?U) is not supported');
      else if (f === '-') fail(st, 'clearing flags with (?-...) is not supported');
      else fail(st, `unknown flag ${JSON.stringify(f)}`);
    }
    st.i += m[0].length;
  }
}

/**
 * Applies "i", "-s", "im-s"... to the scope. A leading (?i), made the JS i flag, cannot be cleared
 * inside (JS has no way to switch it off for a part of the pattern).
 */
function applyFlags(st: State, spec: string): void {
  let on = true;
  for (const f of spec) {
    if (f === '-') {
      if (!on) fail(st, 'two "-" in a flag group');
      on = false;
    } else if (f === 'i' || f === 'm' || f === 's') {
      // m and s are spelled out where they differ from the JS flags; i cannot be (JS has no way out of it).
      if (!on && f === 'i' && st.flags.has(f)) fail(st, 'clearing the leading (?i) inside the expression is not supported');
      st.scope[f] = on;
    } else if (f === 'U') fail(st, 'the ungreedy flag (?U) is not supported');
    else fail(st, `unknown flag ${JSON.stringify(f)}`);
  }
}

function group(st: State): void {
  const rest = st.src.slice(st.i);
  st.last = 'none';
  st.outer.push({ ...st.scope });
  if (!rest.startsWith('(?')) {
    st.out += '(';
    st.i += 1;
    return;
  }
  for (const p of LOOKAROUND_PREFIXES) {
    if (rest.startsWith(p)) fail(st, `lookaround ${p} is not supported by RE2`);
  }
  if (rest.startsWith('(?:')) {
    st.out += '(?:';
    st.i += 3;
    return;
  }
  const named = /^\(\?P?<([A-Za-z_][A-Za-z0-9_]*)>/.exec(rest);
  if (named) {
    st.out += `(?<${named[1]}>`;
    st.i += named[0].length;
    return;
  }
  if (rest.startsWith('(?P=')) fail(st, 'named backreferences (?P=name) are not supported by RE2');
  // (?flags): to the end of the enclosing group; (?flags:re): a group of its own (RE2 syntax).
  const inline = /^\(\?([A-Za-z-]+)\)/.exec(rest);
  if (inline) {
    st.outer.pop();
    applyFlags(st, inline[1]);
    st.i += inline[0].length;
    return;
  }
  const scoped = /^\(\?([A-Za-z-]+):/.exec(rest);
  if (scoped) {
    applyFlags(st, scoped[1]);
    st.out += '(?:';
    st.i += scoped[0].length;
    return;
  }
  fail(st, 'invalid or unsupported group syntax');
}

function quantifier(st: State): boolean {
  const ch = st.src[st.i];
  let len = 0;
  if (ch === '*' || ch === '+' || ch === '?') {
    len = 1;
  } else if (ch === '{') {
    const m = REPEAT.exec(st.src.slice(st.i));
    if (!m) return false;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
    if (min > MAX_REPEAT || (max !== Infinity && max > MAX_REPEAT) || max < min) fail(st, `invalid repeat count ${m[0]}`);
    len = m[0].length;
  } else {
    return false;
  }
  if (st.src[st.i + len] === '?') len += 1; // lazy form
  // RE2 accepts a repeated empty-width assertion ("^+OK" in blackbox's own example) as a no-op;
  // JS rejects it with "Nothing to repeat", so drop the quantifier.
  if (st.last !== 'anchor') st.out += st.src.slice(st.i, st.i + len);
  st.i += len;
  return true;
}

/** A letter under a scoped (?i) that the JS pattern's flags do not make case-insensitive. */
function folded(st: State, ch: string): string | undefined {
  if (!st.scope.i || st.flags.has('i') || st.inClass) return undefined;
  const lo = ch.toLowerCase();
  const up = ch.toUpperCase();
  return lo !== up && lo.length === 1 && up.length === 1 ? `[${lo}${up}]` : undefined;
}

function quoted(st: State): void {
  // \Q...\E: everything up to \E (or the end) is literal.
  const end = st.src.indexOf('\\E', st.i + 2);
  const text = st.src.slice(st.i + 2, end === -1 ? undefined : end);
  for (const ch of text) st.out += folded(st, ch) ?? escapeLiteral(ch, st.inClass);
  if (text !== '' && !st.inClass) st.last = 'atom';
  st.i = end === -1 ? st.src.length : end + 2;
}

function unicodeClass(st: State, negated: boolean): void {
  const m = /^\\[pP](?:\{(\^?)([A-Za-z_]+)\}|([A-Za-z]))/.exec(st.src.slice(st.i));
  if (!m) fail(st, 'invalid Unicode class');
  const name = m[2] ?? m[3];
  const neg = negated !== (m[1] === '^');
  // JS accepts general categories bare (\p{Lu}) but scripts only as \p{Script=Greek}.
  const prop = /^[A-Z][a-z]?$/.test(name) ? name : name === 'Any' ? 'Any' : `Script=${name}`;
  st.flags.add('u');
  st.out += `\\${neg ? 'P' : 'p'}{${prop}}`;
  st.i += m[0].length;
}

function escape(st: State): void {
  const c = st.src[st.i + 1];
  if (c === undefined) fail(st, 'trailing backslash');
  const inClass = st.inClass;
  const take = (out: string, last: State['last'] = 'atom', len = 2): void => {
    st.out += out;
    st.i += len;
    if (!inClass) st.last = last;
  };
  const multiline = st.flags.has('m');
  switch (c) {
    case 'A':
      if (inClass) fail(st, '\\A inside a character class');
      return take(multiline ? '(?<![\\s\\S])' : '^', 'anchor');
    case 'z':
      if (inClass) fail(st, '\\z inside a character class');
      return take(multiline ? '(?![\\s\\S])' : '$', 'anchor');
    case 'b':
    case 'B':
      if (inClass) fail(st, `\\${c} inside a character class`);
      return take(`\\${c}`, 'anchor');
    case 'Z':
      return fail(st, '\\Z is not supported by RE2 (use \\z)');
    case 'C':
      return fail(st, '\\C (any byte) is not supported');
    case 'Q':
      return quoted(st);
    case 'p':
    case 'P':
      unicodeClass(st, c === 'P');
      if (!inClass) st.last = 'atom';
      return;
    case 's':
      return take(inClass ? GO_SPACE : `[${GO_SPACE}]`);
    case 'S':
      return take(inClass ? '\\S' : `[^${GO_SPACE}]`);
    case 'd':
    case 'D':
    case 'w':
    case 'W':
    case 'f':
    case 'n':
    case 'r':
    case 't':
    case 'v':
      return take(`\\${c}`);
    case 'a':
      return take('\\x07');
    case 'x': {
      const m = /^\\x(?:\{([0-9A-Fa-f]{1,6})\}|([0-9A-Fa-f]{2}))/.exec(st.src.slice(st.i));
      if (!m) return fail(st, 'invalid \\x escape');
      return take(codeLiteral(st, parseInt(m[1] ?? m[2], 16)), 'atom', m[0].length);
    }
  }
  if (c >= '0' && c <= '9') {
    // Go: \0 and \1..\7 followed by another octal digit are octal escapes; a lone \1..\9 is a
    // backreference, which RE2 does not support.
    const m = /^\\(0[0-7]{0,2}|[1-7][0-7]{1,2})/.exec(st.src.slice(st.i));
    if (!m) return fail(st, `backreferences (\\${c}) are not supported by RE2`);
    return take(codeLiteral(st, parseInt(m[1], 8)), 'atom', m[0].length);
  }
  if (/[A-Za-z]/.test(c)) return fail(st, `invalid escape \\${c}`);
  // Any other escaped character is a literal (Go allows escaping any punctuation).
  return take(escapeLiteral(c, inClass));
}

function inClassChar(st: State): void {
  const ch = st.src[st.i];
  if (ch === ']' && st.i !== st.classStart) {
    if (st.scope.i && !st.flags.has('i')) st.out = st.out.slice(0, st.classOut) + foldClass(st.out.slice(st.classOut));
    st.out += ']';
    st.i += 1;
    st.inClass = false;
    st.last = 'atom';
    return;
  }
  if (ch === '\\') return escape(st);
  if (ch === '[') {
    const m = /^\[:(\^?)([a-z]+):\]/.exec(st.src.slice(st.i));
    if (m) {
      if (m[1] === '^') fail(st, `negated POSIX class [:^${m[2]}:] is not supported`);
      const set = POSIX[m[2]];
      if (set === undefined) fail(st, `unknown POSIX class [:${m[2]}:]`);
      st.out += set;
      st.i += m[0].length;
      return;
    }
  }
  // "]" first in a class is a literal in RE2 but closes an empty class in JS; "[" is literal in both
  // but must be escaped under the u flag.
  st.out += ch === ']' || ch === '[' ? `\\${ch}` : ch;
  st.i += 1;
}

function topLevelChar(st: State): void {
  const ch = st.src[st.i];
  if (quantifier(st)) return;
  switch (ch) {
    case '[':
      st.inClass = true;
      st.out += '[';
      st.i += 1;
      if (st.src[st.i] === '^') {
        st.out += '^';
        st.i += 1;
      }
      st.classStart = st.i;
      st.classOut = st.out.length;
      return;
    case '\\':
      return escape(st);
    case '(':
      return group(st);
    case ')':
      st.out += ')';
      st.scope = st.outer.pop() ?? st.scope;
      st.last = 'atom';
      break;
    case '|':
      st.out += '|';
      st.last = 'none';
      break;
    case '^':
    case '$': {
      // A scoped (?m) the JS flags do not have, or a (?-m) they do: spelled as lookarounds.
      const m = st.scope.m;
      if (m === st.flags.has('m')) st.out += ch;
      else if (ch === '^') st.out += m ? '(?<![^\\n])' : '(?<![\\s\\S])';
      else st.out += m ? '(?![^\\n])' : '(?![\\s\\S])';
      st.last = 'anchor';
      break;
    }
    case '.':
      // Go's "." excludes only \n; JS's also excludes \r, U+2028 and U+2029.
      st.out += st.scope.s ? (st.flags.has('s') ? '.' : '[\\s\\S]') : '[^\\n]';
      st.last = 'atom';
      break;
    case '{':
    case '}':
    case ']':
      st.out += `\\${ch}`; // literal (not a valid repeat); escaped so the u flag accepts it
      st.last = 'atom';
      break;
    default:
      st.out += folded(st, ch) ?? ch;
      st.last = 'atom';
  }
  st.i += 1;
}

/** Translates a Go RE2 pattern to source + flags for a JS RegExp; throws an Error naming the problem. */
export function translateGoRegex(src: string): { source: string; flags: string } {
  const st: State = { src, i: 0, out: '', flags: new Set(), scope: { i: false, m: false, s: false }, outer: [], classOut: 0, inClass: false, classStart: -1, last: 'none' };
  if (/[\u{10000}-\u{10FFFF}]/u.test(src)) st.flags.add('u'); // Go works on runes, not UTF-16 units
  leadingFlags(st);
  st.scope = { i: st.flags.has('i'), m: st.flags.has('m'), s: st.flags.has('s') };
  while (st.i < src.length) {
    if (st.inClass) inClassChar(st);
    else topLevelChar(st);
  }
  if (st.inClass) fail(st, 'missing closing ]');
  return { source: st.out, flags: [...st.flags].sort().join('') };
}

// The pattern each compiled RegExp was written as: messages and logs quote the configured text,
// not its JS translation.
const configured = new WeakMap<RegExp, string>();

/** The pattern as configured, for a RegExp goRegex made (else its JS source). */
export function regexText(re: RegExp): string {
  return configured.get(re) ?? re.source;
}

/**
 * A RegExp of `source` and `flags` that regexText() names `text`: a module rebuilt from its
 * structured-clone form in a worker thread (src/workers/module_wire.ts) keeps the messages it had.
 */
export function namedRegex(source: string, flags: string, text: string): RegExp {
  const re = new RegExp(source, flags);
  if (text !== source) configured.set(re, text);
  return re;
}

/** Compiles a Go RE2 pattern (as found in blackbox.yml) to a JS RegExp; throws an Error naming the problem. */
export function goRegex(src: string): RegExp {
  const { source, flags } = translateGoRegex(src);
  try {
    const re = new RegExp(source, flags);
    configured.set(re, src);
    return re;
  } catch (e) {
    const detail = (e as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '');
    throw new Error(`${detail.charAt(0).toLowerCase()}${detail.slice(1)}`);
  }
}
