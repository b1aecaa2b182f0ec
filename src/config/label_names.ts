// Which label names a task's `labels:` and a targets file's group `labels:` may use: the same rule
// for both, since both end up on the same series.
import { LABEL_NAME } from './schema_values';

/**
 * Label names sonde itself puts on task series (a task label of the same name would repeat it):
 * test/outputs/metrics.test.ts checks every per-task series' label names are here.
 */
export const RESERVED_LABELS = ['task', 'target', 'module', 'reason', 'phase', 'result', 'kind', 'verdict', 'direction', 'le', 'port', 'state', 'from', 'to', 'qos'] as const;

/** What is wrong with a label name (the "expected ..." of an issue), or undefined. */
export function labelNameProblem(key: string): string | undefined {
  // Prometheus reserves names starting with "__" for internal use.
  if (!LABEL_NAME.test(key) || key.startsWith('__')) return 'a Prometheus label name matching [a-zA-Z_][a-zA-Z0-9_]* not starting with __';
  if ((RESERVED_LABELS as readonly string[]).includes(key)) return `a label name other than ${RESERVED_LABELS.join(', ')} (sonde sets them)`;
  return undefined;
}
