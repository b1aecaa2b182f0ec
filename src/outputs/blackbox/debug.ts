// The answer of /probe?debug=true as blackbox_exporter's DebugOutput writes it: the probe's logs,
// the metrics that would have been returned, and the module's configuration as YAML.
import pino, { type Logger } from 'pino';
import { stringify } from 'yaml';
import { regexText } from '../../config/regex';
import type { Module } from '../../config/types';

/** A debug-level logger whose lines are kept for the answer (and also go to `parent`'s child). */
export function probeLogBuffer(): { logger: Logger; text(): string } {
  const lines: string[] = [];
  // A bound on what one probe may log into its answer: its lines are few; a loop must not grow it.
  const MAX_LINES = 1000;
  const logger = pino({ level: 'debug', base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, {
    write(s: string) {
      if (lines.length < MAX_LINES) lines.push(s.endsWith('\n') ? s : `${s}\n`);
    },
  });
  return { logger, text: () => lines.join('') };
}

/** The module as YAML: expressions by their text, bytes as text, as blackbox marshals its config. */
export function moduleYAML(module: Module): string {
  return stringify(module, (_key, value: unknown) => {
    if (value instanceof RegExp) return regexText(value);
    if (Buffer.isBuffer(value)) return value.toString('utf8');
    if (value !== null && typeof value === 'object' && 'expression' in value && typeof (value as { eval?: unknown }).eval === 'function') {
      return (value as { expression: string }).expression;
    }
    return value;
  });
}

export function debugOutput(logs: string, metrics: string, module: Module): string {
  return `Logs for the probe:\n${logs}\n\n\nMetrics that would have been returned:\n${metrics}\n\n\nModule configuration:\n${moduleYAML(module)}`;
}
