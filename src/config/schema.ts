// A small declarative validator over the YAML AST (not over plain JS values), so that every issue
// carries the line:column of the node it is about. Decoders record issues and return undefined for
// a bad value instead of throwing: the loader reports ALL problems in one go, as an operator fixing
// a file wants. null (an empty value, `key:`) counts as absent, as yaml.v3 leaves the Go default.
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import { parseDuration } from './duration';
import { goRegex } from './regex';

export interface ConfigIssue {
  file: string;
  path: string;
  line: number;
  column: number;
  message: string;
}

export function formatIssue(i: ConfigIssue): string {
  return `${i.file}:${i.line}:${i.column}: ${i.path}: ${i.message}`;
}

export class Ctx {
  readonly issues: ConfigIssue[] = [];
  /** each mapping's entries with merge keys expanded, made once per mapping node */
  readonly merged = new Map<Node, Entry[]>();
  constructor(
    readonly file: string,
    readonly lc: LineCounter,
    readonly doc: Document,
  ) {}

  /** Records an issue positioned at `node` (its first character). */
  report(node: Node | null | undefined, path: string, message: string): void {
    const offset = node?.range?.[0] ?? 0;
    const { line, col } = this.lc.linePos(offset);
    this.issues.push({ file: this.file, path, line, column: col, message });
  }

  /** Follows an alias (*name) to the node it names. */
  resolve(node: unknown): Node | null {
    if (isAlias(node)) return (node.resolve(this.doc) as Node | undefined) ?? null;
    return (node as Node | null | undefined) ?? null;
  }
}

export type Decoder<T> = (node: Node | null, path: string, ctx: Ctx) => T | undefined;

const SIMPLE_KEY = /^[A-Za-z0-9_-]+$/;
export function childPath(parent: string, key: string): string {
  const k = SIMPLE_KEY.test(key) ? key : `[${JSON.stringify(key)}]`;
  if (parent === '') return k;
  return k.startsWith('[') ? `${parent}${k}` : `${parent}.${k}`;
}
export const indexPath = (parent: string, i: number): string => `${parent}[${i}]`;

const MAX_SHOWN = 60;
/** The offending value as the message shows it: JSON-quoted scalars, truncated; shapes by name. */
export function shown(node: Node | null): string {
  if (node === null) return 'null';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (!isScalar(node)) return 'an unsupported node';
  const v = node.value;
  return shownText(typeof v === 'string' ? JSON.stringify(v) : v === null ? 'null' : (node.source ?? String(v)));
}

/** A value's text as messages show it: truncated past MAX_SHOWN characters. */
export function shownText(text: string): string {
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN - 3)}...` : text;
}

export const isNull = (node: Node | null): boolean => node === null || (isScalar(node) && node.value === null);

function bad<T>(ctx: Ctx, node: Node | null, path: string, expected: string): T | undefined {
  ctx.report(node, path, `got ${shown(node)}, expected ${expected}`);
  return undefined;
}

/** A scalar read as text: Go's yaml.v3 decodes any scalar (`send: 123`) into a string field. */
export function scalarText(node: Node | null): string | undefined {
  if (!isScalar(node) || node.value === null) return undefined;
  return typeof node.value === 'string' ? node.value : (node.source ?? String(node.value));
}

export function str(opts: { nonEmpty?: boolean; pattern?: RegExp; expected?: string; check?: (s: string) => string | undefined } = {}): Decoder<string> {
  return (node, path, ctx) => {
    if (isNull(node)) return undefined;
    const s = scalarText(node);
    if (s === undefined) return bad(ctx, node, path, opts.expected ?? 'a string');
    if ((opts.nonEmpty && s === '') || (opts.pattern && !opts.pattern.test(s))) {
      return bad(ctx, node, path, opts.expected ?? 'a non-empty string');
    }
    const problem = opts.check?.(s);
    if (problem !== undefined) return bad(ctx, node, path, problem);
    return s;
  };
}

export function bool(): Decoder<boolean> {
  return (node, path, ctx) => {
    if (isNull(node)) return undefined;
    if (isScalar(node) && typeof node.value === 'boolean') return node.value;
    return bad(ctx, node, path, 'true or false');
  };
}

/** An integer in [min, max]; quoted numbers are refused, as yaml.v3 refuses !!str into int. */
export function int(min: number, max?: number): Decoder<number> {
  const expected = max === undefined ? `an integer >= ${min}` : `an integer from ${min} to ${max}`;
  return (node, path, ctx) => {
    if (isNull(node)) return undefined;
    const v = isScalar(node) ? node.value : undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || (max !== undefined && v > max)) {
      return bad(ctx, node, path, expected);
    }
    return v;
  };
}

export function oneOf<T extends string>(values: readonly T[], expected?: string): Decoder<T> {
  const set = new Set<string>(values);
  return (node, path, ctx) => {
    if (isNull(node)) return undefined;
    const s = scalarText(node);
    if (s === undefined || !set.has(s)) return bad(ctx, node, path, expected ?? `one of: ${values.join(', ')}`);
    return s as T;
  };
}

/** A duration (see duration.ts) in seconds; `positive` refuses 0. */
export function duration(opts: { positive?: boolean } = {}): Decoder<number> {
  const expected = 'a duration like "5s", "1m30s" or "250ms"';
  return (node, path, ctx) => {
    if (isNull(node)) return undefined;
    let secs: number;
    if (isScalar(node) && typeof node.value === 'number') {
      secs = node.value;
      if (!Number.isFinite(secs) || secs < 0) return bad(ctx, node, path, expected);
    } else {
      const s = scalarText(node);
      if (s === undefined) return bad(ctx, node, path, expected);
      try {
        secs = parseDuration(s);
      } catch {
        return bad(ctx, node, path, expected);
      }
    }
    if (opts.positive && secs <= 0) return bad(ctx, node, path, 'a duration greater than 0s');
    return secs;
  };
}

export function regex(): Decoder<RegExp> {
  return (node, path, ctx) => {
    if (isNull(node)) return undefined;
    const s = scalarText(node);
    if (s === undefined) return bad(ctx, node, path, 'a regular expression');
    try {
      return goRegex(s);
    } catch (e) {
      return bad(ctx, node, path, `a valid RE2 regular expression (${(e as Error).message})`);
    }
  };
}

export function list<T>(item: Decoder<T>, opts: { nonEmpty?: boolean } = {}): Decoder<T[]> {
  return (node, path, ctx) => {
    if (isNull(node)) return undefined;
    if (!isSeq(node)) return bad(ctx, node, path, 'a list');
    if (opts.nonEmpty && node.items.length === 0) return bad(ctx, node, path, 'a non-empty list');
    const out: T[] = [];
    let ok = true;
    node.items.forEach((raw, i) => {
      const v = item(ctx.resolve(raw), indexPath(path, i), ctx);
      if (v === undefined) ok = false;
      else out.push(v);
    });
    return ok ? out : undefined;
  };
}

export interface Entry {
  key: string;
  keyNode: Node;
  value: Node | null;
}

/**
 * The entries of a mapping, with YAML merge keys (`<<: *base`) expanded; explicit keys win. Made
 * once per mapping: nested merges of merges (`<<: [*prev, *prev, ...]`, level upon level) would
 * otherwise expand exponentially. Callers must not change the array.
 */
export function entries(map: Node, ctx: Ctx): readonly Entry[] {
  if (!isMap(map)) return [];
  const known = ctx.merged.get(map);
  if (known) return known;
  // Marked before the walk: a mapping that merges itself (through an alias) adds nothing.
  ctx.merged.set(map, []);
  const own: Entry[] = [];
  const merged: Entry[] = [];
  for (const pair of map.items) {
    const keyNode = pair.key as Node;
    if (isScalar(keyNode) && typeof keyNode.value === 'symbol') {
      const v = ctx.resolve(pair.value);
      const sources = isSeq(v) ? v.items.map((n) => ctx.resolve(n)) : [v];
      for (const src of sources) merged.push(...entries(src as Node, ctx));
      continue;
    }
    const key = scalarText(keyNode) ?? '';
    own.push({ key, keyNode, value: ctx.resolve(pair.value) });
  }
  const seen = new Set(own.map((e) => e.key));
  for (const e of merged) {
    if (!seen.has(e.key)) {
      seen.add(e.key);
      own.push(e);
    }
  }
  ctx.merged.set(map, own);
  return own;
}

/**
 * Names every JavaScript object answers to ("__proto__", "constructor", "toString"...): refused as
 * module and task names, so that no lookup by name anywhere (a map key, a JSON member, a label
 * set) can meet an object's prototype instead of the thing named.
 */
export function reservedName(name: string): boolean {
  return name in Object.prototype;
}

/** What a name must be instead (the "expected ..." of an issue). */
export function reservedNameExpected(what: 'module' | 'task' | 'tenant'): string {
  return `a ${what} name that is not a property of every JavaScript object (__proto__, constructor, toString, ...)`;
}

/** A mapping of arbitrary keys to values of one kind (headers, labels). */
export function record<T>(value: Decoder<T>, keyCheck?: (key: string, keyNode: Node, path: string, ctx: Ctx) => boolean): Decoder<Record<string, T>> {
  return (node, path, ctx) => {
    if (isNull(node)) return undefined;
    if (!isMap(node)) return bad(ctx, node, path, 'a mapping');
    const out: Record<string, T> = {};
    let ok = true;
    for (const e of entries(node, ctx)) {
      const p = childPath(path, e.key);
      if (keyCheck && !keyCheck(e.key, e.keyNode, p, ctx)) {
        ok = false;
        continue;
      }
      if (isNull(e.value)) {
        ctx.report(e.value ?? e.keyNode, p, 'got null, expected a value');
        ok = false;
        continue;
      }
      const v = value(e.value, p, ctx);
      if (v === undefined) ok = false;
      // An own property whatever the key: `out["__proto__"] = v` would set the prototype instead.
      else Object.defineProperty(out, e.key, { value: v, enumerable: true, writable: true, configurable: true });
    }
    return ok ? out : undefined;
  };
}

/** What a struct decoder hands to its cross-field check. */
export interface Fields {
  /** keys present with a non-null value */
  set: ReadonlySet<string>;
  /** path and node of a field, for positioning an issue (the mapping itself when absent) */
  at(key: string): { path: string; node: Node | null };
  /** decoded values of `extra` keys (those not stored in the result) */
  extra: Record<string, unknown>;
}

export interface StructSpec<T> {
  fields: { [K in keyof T]?: Decoder<T[K]> };
  /** accepted keys that are not fields of T (deprecated aliases); `check` folds them in */
  extra?: Record<string, Decoder<unknown>>;
  defaults: () => T;
  required?: ReadonlyArray<keyof T & string>;
  /** keys blackbox accepts that sonde refuses, with the reason */
  unsupported?: Record<string, string>;
  /** cross-field rules; may adjust the value and report issues (returns false when it did) */
  check?: (value: T, f: Fields, ctx: Ctx) => boolean;
}

/** A mapping with a fixed set of keys (strict: unknown keys are errors), defaults filled in. */
export function struct<T extends object>(spec: StructSpec<T>): Decoder<T> {
  const fieldDecoders = spec.fields as Record<string, Decoder<unknown> | undefined>;
  const known = [...Object.keys(fieldDecoders), ...Object.keys(spec.extra ?? {})];
  return (node, path, ctx) => {
    if (node !== null && !isNull(node) && !isMap(node)) return bad(ctx, node, path, 'a mapping');
    const value = spec.defaults() as Record<string, unknown>;
    const set = new Set<string>();
    const nodes = new Map<string, Node | null>();
    const extra: Record<string, unknown> = {};
    let ok = true;
    for (const e of node && isMap(node) ? entries(node, ctx) : []) {
      const p = childPath(path, e.key);
      const dec = fieldDecoders[e.key] ?? spec.extra?.[e.key];
      if (dec === undefined) {
        ok = false;
        const why = spec.unsupported?.[e.key];
        ctx.report(e.keyNode, p, why !== undefined ? `not supported by sonde: ${why}` : `unknown key (expected one of: ${known.join(', ')})`);
        continue;
      }
      nodes.set(e.key, e.value);
      if (isNull(e.value)) continue;
      const v = dec(e.value, p, ctx);
      if (v === undefined) {
        ok = false;
        continue;
      }
      set.add(e.key);
      if (e.key in fieldDecoders) value[e.key] = v;
      else extra[e.key] = v;
    }
    for (const key of spec.required ?? []) {
      if (!set.has(key) && !nodes.has(key)) {
        ctx.report(node, childPath(path, key), 'missing required key');
        ok = false;
      } else if (!set.has(key) && isNull(nodes.get(key) ?? null)) {
        ctx.report(nodes.get(key) ?? node, childPath(path, key), 'got null, expected a value');
        ok = false;
      }
    }
    if (!ok) return undefined;
    const fields: Fields = {
      set,
      extra,
      at: (key) => ({ path: childPath(path, key), node: nodes.get(key) ?? node }),
    };
    if (spec.check && !spec.check(value as T, fields, ctx)) return undefined;
    return value as T;
  };
}

/** Shared message for `a` exclusive with `b`; reported at b. */
export function exclusive(f: Fields, ctx: Ctx, a: string, b: string): boolean {
  if (!(f.set.has(a) && f.set.has(b))) return true;
  const { path, node } = f.at(b);
  ctx.report(node, path, `got ${shown(node)}, expected only one of ${a} and ${b}`);
  return false;
}
