// Output of the one-shot commands: written with backpressure and flushed before the process exits,
// so a slow reader of a pipe gets every byte (a pipe holds 64 KiB; what does not fit is queued by
// libuv and lost if the process exits first), and errors as one readable line with errno names.
import { ERRNO_NAMES, ERRNO_TEXT } from '../util/errno';

export { errnoText } from '../util/errno';

/** One line for an error a user can act on: its message, with an errno name when it carries one. */
export function errorLine(err: unknown): string {
  const e = err as { code?: unknown; errno?: unknown; message?: unknown; syscall?: unknown; address?: unknown; port?: unknown; path?: unknown };
  const message = typeof e?.message === 'string' ? e.message.split('\n')[0] : String(err);
  const code = typeof e?.code === 'string' && /^E[A-Z]+$/.test(e.code) ? e.code : typeof e?.errno === 'number' ? ERRNO_NAMES.get(Math.abs(e.errno)) : undefined;
  if (!code) return message;
  const text = ERRNO_TEXT[code];
  const where = typeof e.path === 'string' ? ` ${e.path}` : typeof e.address === 'string' ? ` ${e.address}${typeof e.port === 'number' ? `:${e.port}` : ''}` : '';
  const op = typeof e.syscall === 'string' ? `${e.syscall}${where}: ` : where ? `${where.trim()}: ` : '';
  return `${op}${code}${text ? ` (${text})` : ''}`;
}

/** Resolves once everything written to `stream` so far has left the process (or the reader has gone). */
export function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || stream.writableEnded) return resolve();
    const done = (): void => {
      stream.off('error', done);
      resolve();
    };
    stream.once('error', done);
    stream.write('', () => done());
  });
}

/** Writes `text`, waiting for the stream to drain when its buffer is full (bounded memory for big outputs). */
export async function writeAll(stream: NodeJS.WritableStream, text: string): Promise<void> {
  if (text === '' || stream.write(text)) return;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('error', done);
      stream.off('close', done);
      resolve();
    };
    stream.once('drain', done);
    stream.once('error', done);
    stream.once('close', done);
  });
}

/**
 * Writes a JSON array of `count` elements in chunks, formatted as JSON.stringify(array, null, 2)
 * would: a million elements never become one string (V8 caps strings near 512 MiB).
 */
export async function writeJsonArray(stream: NodeJS.WritableStream, count: number, element: (i: number) => unknown): Promise<void> {
  if (count === 0) return writeAll(stream, '[]\n');
  let chunk = '[\n';
  for (let i = 0; i < count; i++) {
    chunk += `  ${JSON.stringify(element(i), null, 2).replace(/\n/g, '\n  ')}${i + 1 < count ? ',' : ''}\n`;
    if (chunk.length >= 1 << 16) {
      await writeAll(stream, chunk);
      chunk = '';
    }
  }
  await writeAll(stream, `${chunk}]\n`);
}

/** Writes lines produced one by one, in chunks with backpressure. */
export async function writeLines(stream: NodeJS.WritableStream, count: number, line: (i: number) => string | undefined): Promise<void> {
  let chunk = '';
  for (let i = 0; i < count; i++) {
    const l = line(i);
    if (l !== undefined) chunk += `${l}\n`;
    if (chunk.length >= 1 << 16) {
      await writeAll(stream, chunk);
      chunk = '';
    }
  }
  await writeAll(stream, chunk);
}
