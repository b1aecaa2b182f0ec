// One task from a request body (PUT /api/v1/tasks/NAME): JSON or YAML, decoded by the same decoders
// as the config file's tasks, against the modules, tenants and scan.allow of the config in force,
// so its problems read as the file's do, at the path `tasks[NAME].key`.
import { isMap, type Document } from 'yaml';
import type { Config, Task } from './types';
import { ConfigError, parseYaml, throwIssues } from './load';
import { shown } from './schema';
import { taskDecoder, type ModuleInfo } from './schema_tasks';
import { moduleRefusal } from './refusals';
import { scanSettings } from './schema_scan';
import { configDir } from './task_targets';

/** How a problem of a body names where it is: "body:LINE:COLUMN". */
export const BODY_FILE = 'body';

export function moduleInfos(config: Config): Map<string, ModuleInfo> {
  return new Map([...config.modules].map(([name, m]) => [name, { prober: m.prober, timeout: m.timeout, refusal: moduleRefusal(m) }]));
}

/**
 * Decodes `text` as the task `name` of `config` (a `name:` key, when given, must be the same).
 * Returns the task (origin "api") and the body as a plain value, to keep in the state file.
 * Throws ConfigError.
 */
export function decodeTaskBody(text: string, name: string, config: Config): { task: Task; spec: unknown } {
  const { ctx, root } = parseYaml(text, BODY_FILE);
  const path = `tasks[${name}]`;
  if (!isMap(root)) {
    ctx.report(root, path, `got ${shown(root)}, expected a mapping (a task: module, targets, interval, ...)`);
    throwIssues(ctx);
    throw new ConfigError(ctx.issues);
  }
  // A request must not make sonde read the host's files: their lines would come back in the
  // messages (a key file, /etc/shadow). Targets files are the config file's, which its owner wrote.
  const files = root.items.find((p) => (p.key as { value?: unknown } | null)?.value === 'targets_files');
  if (files) {
    ctx.report(files.key as never, `${path}.targets_files`, 'not accepted through the API (a request may not make sonde read files of this host): list the targets in targets, or put the task in the config file');
    throw new ConfigError(ctx.issues);
  }
  const named = root.items.find((p) => (p.key as { value?: unknown } | null)?.value === 'name');
  if (named === undefined) root.items.push((ctx.doc as Document).createPair('name', name));
  const baseDir = config.source.startsWith('<') ? process.cwd() : configDir(config.source);
  const decode = taskDecoder(moduleInfos(config), { scope: { scanAllow: scanSettings(config).allow }, tenants: config.tenants ?? new Map(), baseDir });
  const task = decode(root, path, ctx);
  if (task && task.name !== name) ctx.report(named?.value as never, `${path}.name`, `got ${JSON.stringify(task.name)}, expected the name in the path (${name}) or no name`);
  throwIssues(ctx);
  if (task === undefined) throw new ConfigError(ctx.issues);
  task.origin = 'api';
  return { task, spec: (ctx.doc as Document).toJS() };
}
