// JSON logs (pino). One root logger per process; components take children with a `component` field.
import { writeSync } from 'node:fs';
import pino, { type DestinationStream, type Logger } from 'pino';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function isLogLevel(s: string): s is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(s);
}

/** Log lines lost because stderr would not take them (its reader gone, or not reading). */
export let droppedLogLines = 0;

/**
 * stderr, written synchronously, where a line stderr will not take is dropped and counted. A
 * logger must never stop the daemon: pino.destination (sonic-boom 4.2) retries a failed write
 * forever at exit, so a daemon whose reader had gone (EPIPE: journald restarted, a parent that
 * exited) never finished its SIGTERM; and a reader that stops reading must not stall probing.
 */
export function stderrDestination(fd = 2): DestinationStream {
  return {
    write(line: string): void {
      const buf = Buffer.from(line);
      let off = 0;
      for (let tries = 0; off < buf.length && tries < 4; tries++) {
        try {
          off += writeSync(fd, buf, off);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') break;
        }
      }
      if (off < buf.length) droppedLogLines++;
    },
  };
}

export const LOG_FORMATS = ['logfmt', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

const PINO_LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

function logfmtValue(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v) ?? 'null';
  return s !== '' && !/[\s"=\\]/.test(s) ? s : JSON.stringify(s);
}

/** One pino JSON line as logfmt (go-kit/slog's text form: time=... level=... msg=... key=value). */
export function logfmtLine(json: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const { time, level, msg, ...rest } = rec;
  const parts = [`time=${logfmtValue(time)}`, `level=${PINO_LEVELS[level as number] ?? String(level)}`];
  if (msg !== undefined) parts.push(`msg=${logfmtValue(msg)}`);
  for (const [k, v] of Object.entries(rest)) parts.push(`${k}=${logfmtValue(v)}`);
  return `${parts.join(' ')}\n`;
}

/** Logs go to stderr so that command output on stdout (e.g. --json) stays machine-readable. */
export function createLogger(level: LogLevel = 'info', format: LogFormat = 'json'): Logger {
  const dest = stderrDestination();
  const out: DestinationStream = format === 'json' ? dest : { write: (line: string) => dest.write(logfmtLine(line)) };
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, out);
}

/** A logger that drops everything, for one-shot commands and tests. */
export const silentLogger: Logger = pino({ level: 'silent' });
