// A fast reader of file_sd YAML in the shape tools write it (a block list of groups, `targets:` and
// `labels:` as block or one-line flow collections of plain or quoted strings), because the full
// YAML parser takes ~35 s and ~900 MB for a million targets. Anything else (anchors, multi-line
// scalars, a plain scalar YAML would read as a number, a bool or null, tags, odd indentation)
// makes it decline, and the full parser reads the file: it never reads a file differently.
// test/config/file_sd_yaml_fast.test.ts checks it against the full parser.

/** Groups as toJS() gives them, and where each target is (line, column; 1-based). */
export interface FastSD {
  groups: Array<{ targets?: string[]; labels?: Record<string, string> }>;
  /** per group, per target: [line, column] */
  positions: Array<Array<[number, number]>>;
}

// A plain scalar that is a string in YAML 1.2 core schema and ends where the line or ", " does:
// no indicator first, no ": " or " #" inside, not a number, bool, null or ~.
const PLAIN = /^[^\s\-?:,[\]{}#&*!|>'"%@`](?:[^:#,[\]{}]|:(?=[^\s,[\]{}])|#(?<=\S#))*$/;
const NOT_STRING = /^(?:~|null|Null|NULL|true|True|TRUE|false|False|FALSE|[-+]?(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|0x[0-9a-fA-F]+|0o[0-7]+|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
const DOUBLE = /^"(?:[^"\\\u0000-\u001f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"$/;
const SINGLE = /^'(?:[^']|'')*'$/;
const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A scalar's string, or undefined when this reader does not take it. */
function scalar(s: string): string | undefined {
  if (s.startsWith('"')) return DOUBLE.test(s) ? (JSON.parse(s) as string) : undefined;
  if (s.startsWith("'")) return SINGLE.test(s) ? s.slice(1, -1).replace(/''/g, "'") : undefined;
  return PLAIN.test(s) && !NOT_STRING.test(s) ? s : undefined;
}

/**
 * The items of a one-line flow collection `[a, "b"]` or `{k: v}` with their columns (0-based, in
 * `s`); undefined when it nests or a quote does not close.
 */
function flow(s: string, open: string, close: string): Array<{ text: string; at: number }> | undefined {
  if (!s.startsWith(open) || !s.endsWith(close)) return undefined;
  const items: Array<{ text: string; at: number }> = [];
  let quote = '';
  let from = 1;
  for (let i = 1; i < s.length - 1; i++) {
    const c = s[i];
    if (quote !== '') {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === ']' || c === '{' || c === '}') return undefined;
    else if (c === ',') {
      items.push({ text: s.slice(from, i), at: from });
      from = i + 1;
    }
  }
  if (quote !== '') return undefined;
  const last = s.slice(from, s.length - 1);
  if (items.length > 0 || last.trim() !== '') items.push({ text: last, at: from });
  return items.map(({ text, at }) => ({ text: text.trim(), at: at + (text.length - text.trimStart().length) }));
}

/**
 * Strips a comment (a `#` at the start or after a blank) and trailing blanks; undefined when a
 * quote before it makes that unsure (a `#` inside quotes is no comment).
 */
function uncomment(line: string): string | undefined {
  const m = /(^| )#/.exec(line);
  if (!m) return line.trimEnd();
  const at = m.index + m[1].length;
  return /["']/.test(line.slice(0, at)) ? undefined : line.slice(0, at).trimEnd();
}

type Group = FastSD['groups'][number];

/** Reads `text` when it is in the shape above; undefined: use the full parser. */
export function fastFileSD(text: string): FastSD | undefined {
  const out: FastSD = { groups: [], positions: [] };
  let group: Group | undefined;
  /** the column of the group's keys (after "- ") */
  let groupIndent = 0;
  let pos: Array<[number, number]> = [];
  /** the block collection being filled: its key's indentation, its entries', how many */
  let block: { kind: 'targets' | 'labels'; keyIndent: number; itemIndent: number; count: number } | undefined;
  let lineNo = 0;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const raw = text.slice(start, end);
    start = end + 1;
    lineNo++;
    if (raw.includes('\t') || raw.includes('\r')) return undefined;
    const line = uncomment(raw);
    if (line === undefined) return undefined;
    if (line.trim() === '') continue;
    const indent = line.length - line.trimStart().length;
    let body = line.trimStart();
    if (block) {
      const inside = block.kind === 'targets' ? indent >= block.keyIndent && body.startsWith('- ') && indent > 0 : indent > block.keyIndent;
      if (inside) {
        if (block.itemIndent < 0) block.itemIndent = indent;
        if (indent !== block.itemIndent) return undefined;
        block.count++;
        if (block.kind === 'targets') {
          const item = body.slice(2).trimStart();
          const v = scalar(item);
          if (v === undefined || v === '') return undefined;
          group!.targets!.push(v);
          pos.push([lineNo, line.length - item.length + 1]);
        } else if (!label(group!.labels!, body)) return undefined;
        continue;
      }
      if (indent > block.keyIndent) return undefined;
      // `targets:` or `labels:` with nothing under it is null to YAML, not an empty list.
      if (block.count === 0) return undefined;
      block = undefined;
    }
    if (indent === 0 && body.startsWith('- ')) {
      group = {};
      out.groups.push(group);
      out.positions.push((pos = []));
      body = body.slice(2).trimStart();
      groupIndent = line.length - body.length;
    } else if (group === undefined || indent !== groupIndent) return undefined;
    const m = /^(targets|labels):(?: (.*))?$/.exec(body);
    if (!m || m[1] in group) return undefined;
    const rest = (m[2] ?? '').trim();
    if (rest === '') {
      if (m[1] === 'targets') group.targets = [];
      else group.labels = {};
      block = { kind: m[1] as 'targets' | 'labels', keyIndent: groupIndent, itemIndent: -1, count: 0 };
      continue;
    }
    const restAt = line.length - rest.length;
    if (m[1] === 'targets') {
      const items = flow(rest, '[', ']');
      if (items === undefined) return undefined;
      group.targets = [];
      for (const it of items) {
        const v = scalar(it.text);
        if (v === undefined || v === '') return undefined;
        group.targets.push(v);
        pos.push([lineNo, restAt + it.at + 1]);
      }
    } else {
      const items = flow(rest, '{', '}');
      if (items === undefined) return undefined;
      group.labels = {};
      for (const it of items) if (!label(group.labels, it.text)) return undefined;
    }
  }
  if (block?.count === 0) return undefined;
  // An empty file or one of nothing but comments is the full parser's to judge (null, not []).
  return out.groups.length > 0 ? out : undefined;
}

/** One `name: value` of labels into `into`; false when this reader does not take it. */
function label(into: Record<string, string>, text: string): boolean {
  const kv = /^([^:\s]+): (.+)$/.exec(text);
  const v = kv ? scalar(kv[2].trim()) : undefined;
  if (!kv || !KEY.test(kv[1]) || v === undefined || Object.hasOwn(into, kv[1])) return false;
  into[kv[1]] = v;
  return true;
}
