// Files of targets (`-iL FILE`, `@FILE`) and of excludes (`--exclude FILE`, masscan's
// --excludefile format): one or more specs a line, separated by blanks or commas, '#' starting a
// comment to the end of the line, blank lines skipped. Each spec keeps where it came from, so an
// error names the file and line.
import { readFileSync } from 'node:fs';

export interface SpecSource {
  spec: string;
  /** "FILE:LINE", or "command line" */
  origin: string;
}

export class SpecFileError extends Error {
  readonly code = 'ERR_SPEC_FILE';
  constructor(message: string) {
    super(message);
    this.name = 'SpecFileError';
  }
}

/** Bytes a list file may have (a few million lines of CIDRs). */
export const MAX_SPEC_FILE_BYTES = 64 * 1024 * 1024;

export function parseSpecText(text: string, file: string): SpecSource[] {
  const out: SpecSource[] = [];
  let line = 0;
  let start = 0;
  // One pass without an array of lines: a file of a million ranges stays cheap.
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    line++;
    let body = text.slice(start, end);
    const hash = body.indexOf('#');
    if (hash >= 0) body = body.slice(0, hash);
    for (const spec of body.split(/[\s,]+/)) if (spec !== '') out.push({ spec, origin: `${file}:${line}` });
    start = end + 1;
  }
  return out;
}

/** Reads a list file ("-": stdin). Throws SpecFileError naming the flag and the file. */
export function readSpecFile(file: string, flag: string): SpecSource[] {
  let text: string;
  try {
    const buf = readFileSync(file === '-' ? 0 : file);
    if (buf.length > MAX_SPEC_FILE_BYTES) throw new SpecFileError(`${flag} ${file}: ${buf.length} bytes, more than ${MAX_SPEC_FILE_BYTES}`);
    text = buf.toString('utf8');
  } catch (err) {
    if (err instanceof SpecFileError) throw err;
    const e = err as NodeJS.ErrnoException;
    throw new SpecFileError(`${flag} ${file}: cannot read it (${e.code ?? e.message})`);
  }
  return parseSpecText(text, file === '-' ? '<stdin>' : file);
}
