// Positions in JSON text without building its value: where JSON.parse stopped (Node 20's message
// does not always say), and where the node at a path starts. A file_sd JSON of a million targets
// is parsed by JSON.parse in a second; finding the line of one bad target by parsing it again as
// YAML took 10 s and 1.2 GB, this scan a fraction of a second and nothing but the text.

const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const SCALAR = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null/y;

/**
 * Where JSON.parse stopped, which Node 20's message does not always say: a plain scan of the
 * JSON grammar (RFC 8259) to its first error; only run on a file that failed to parse.
 */
export function jsonErrorAt(text: string): { offset: number; what: string } {
  let i = 0;
  const ws = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const fail = (): never => {
    throw { offset: i, what: i >= text.length ? 'unexpected end of file' : `unexpected ${JSON.stringify(text[i])}` };
  };
  const lit = (re: RegExp) => {
    re.lastIndex = i;
    const m = re.exec(text);
    if (!m) fail();
    i += m![0].length;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      ws();
      if (text[i] === close) return void i++;
      for (;;) {
        if (c === '{') {
          ws();
          if (text[i] !== '"') fail();
          lit(STRING);
          ws();
          if (text[i] !== ':') fail();
          i++;
        }
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === close) return void i++;
        else fail();
      }
    }
    if (c === '"') return lit(STRING);
    lit(SCALAR);
  };
  try {
    value();
    ws();
    if (i < text.length) fail();
  } catch (e) {
    if (e instanceof RangeError) return { offset: 0, what: 'nested too deeply' };
    return e as { offset: number; what: string };
  }
  return { offset: 0, what: 'unknown error' };
}



function skipWs(text: string, i: number): number {
  while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  return i;
}

/** The index after the value starting at i (in text that JSON.parse accepted). */
function skipValue(text: string, i: number): number {
  const c = text[i];
  if (c === '"') {
    STRING.lastIndex = i;
    return i + (STRING.exec(text)?.[0].length ?? 1);
  }
  if (c !== '{' && c !== '[') {
    SCALAR.lastIndex = i;
    return i + (SCALAR.exec(text)?.[0].length ?? 1);
  }
  let depth = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '"') {
      STRING.lastIndex = i;
      i += STRING.exec(text)?.[0].length ?? 1;
      continue;
    }
    if (ch === '{' || ch === '[') depth++;
    else if ((ch === '}' || ch === ']') && --depth === 0) return i + 1;
    i++;
  }
  return i;
}

/**
 * The offset of the node at `path` (list indexes and mapping keys) in valid JSON text; with `key`,
 * of the last key itself rather than its value. Undefined when the path is not there.
 */
export function jsonOffset(text: string, path: ReadonlyArray<string | number>, key = false): number | undefined {
  let i = skipWs(text, 0);
  for (let p = 0; p < path.length; p++) {
    const step = path[p];
    if (typeof step === 'number') {
      if (text[i] !== '[') return undefined;
      i = skipWs(text, i + 1);
      for (let k = 0; k < step; k++) {
        i = skipWs(text, skipValue(text, i));
        if (text[i] !== ',') return undefined;
        i = skipWs(text, i + 1);
      }
      continue;
    }
    if (text[i] !== '{') return undefined;
    i = skipWs(text, i + 1);
    for (;;) {
      if (text[i] !== '"') return undefined;
      const keyAt = i;
      const end = skipValue(text, i);
      const name = JSON.parse(text.slice(i, end)) as string;
      i = skipWs(text, skipWs(text, end) + 1); // past the colon
      if (name === step) {
        if (key && p === path.length - 1) return keyAt;
        break;
      }
      i = skipWs(text, skipValue(text, i));
      if (text[i] !== ',') return undefined;
      i = skipWs(text, i + 1);
    }
  }
  return i;
}
