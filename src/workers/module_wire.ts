// A Module as a worker thread can receive it. Structured clone copies plain data, but a module also
// holds RegExps whose config text lives in a WeakMap (regexText: the messages quote it), Buffers
// (cloned as bare Uint8Arrays) and compiled CEL rules (functions: not cloneable at all). These
// travel tagged and are rebuilt on the other side by the same config code, so a probe run in a
// worker reads the same module and writes the same messages as one run on the main thread.
import type { Module } from '../config/types';
import { namedRegex, regexText } from '../config/regex';
import { compileCEL } from '../probers/http/cel';

// The tag key: no config key or header name decodes to a lone NUL, so it cannot be a user's key.
const TAG = '\u0000';

type Tagged = { [TAG]: 're'; source: string; flags: string; text: string } | { [TAG]: 'buf'; bytes: Uint8Array } | { [TAG]: 'cel'; expression: string };

/** Thrown for a module value neither structured clone nor the tags carry (a bug: a new kind of field). */
export class ModuleWireError extends TypeError {
  readonly code = 'SONDE_MODULE_WIRE';
}

function encode(v: unknown, path: string): unknown {
  if (v === null || typeof v !== 'object') {
    if (typeof v === 'function' || typeof v === 'symbol') throw new ModuleWireError(`module field ${path} is a ${typeof v}: it cannot reach a worker thread`);
    return v;
  }
  if (v instanceof RegExp) return { [TAG]: 're', source: v.source, flags: v.flags, text: regexText(v) };
  if (Buffer.isBuffer(v)) return { [TAG]: 'buf', bytes: new Uint8Array(v) };
  if (Array.isArray(v)) return v.map((x, i) => encode(x, `${path}[${i}]`));
  const o = v as Record<string, unknown>;
  // A compiled CEL rule (config/types.ts CELRule): its expression is enough to compile it again.
  if (typeof o.eval === 'function' && typeof o.expression === 'string') return { [TAG]: 'cel', expression: o.expression };
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o)) out[k] = encode(o[k], `${path}.${k}`);
  return out;
}

function decode(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(decode);
  const o = v as Record<string, unknown>;
  if (typeof o[TAG] === 'string') {
    const t = o as Tagged;
    switch (t[TAG]) {
      case 're':
        return namedRegex(t.source, t.flags, t.text);
      case 'buf':
        return Buffer.from(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
      case 'cel':
        return compileCEL(t.expression);
    }
  }
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o)) out[k] = decode(o[k]);
  return out;
}

/** The module as structured-clone-safe data; throws ModuleWireError for a field that cannot travel. */
export function moduleToWire(module: Module): unknown {
  return encode(module, `modules.${module.name}`);
}

/** The module moduleToWire() encoded, rebuilt (its RegExps, Buffers and CEL rules made again). */
export function moduleFromWire(wire: unknown): Module {
  return decode(wire) as Module;
}
