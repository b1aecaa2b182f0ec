// /api/v1/tasks: every planned task with its lifecycle state (GET), and /api/v1/tasks/NAME: one task
// (GET), created or replaced (PUT, a JSON or YAML body checked as a task of the config file), or
// removed (DELETE). Tasks of the config file are read-only here: the file is their source of truth.
import type http from 'node:http';
import type { Config, Task } from '../config/types';
import type { TaskLifecycle, TaskStatus } from '../health/lifecycle';

/** What the API answers with: a status and a body (JSON, or text for an error). */
export interface TaskAnswer {
  status: number;
  body: string;
  contentType?: string;
}

/** The daemon's side of PUT and DELETE (src/tasks/api_tasks.ts). */
export interface TaskChanges {
  put(name: string, body: Buffer, contentType: string | undefined): Promise<TaskAnswer>;
  remove(name: string): Promise<TaskAnswer>;
}

export interface TaskApiDeps {
  config(): Config;
  lifecycle: TaskLifecycle;
  changes?: TaskChanges;
}

/** One task as GET shows it. */
export function taskView(task: Task, status: TaskStatus | undefined, detail: boolean): Record<string, unknown> {
  const view: Record<string, unknown> = {
    name: task.name,
    module: task.module,
    origin: task.origin ?? 'file',
    targets: task.targets.length,
    state: status?.state ?? 'pending',
    since: status ? new Date(status.since).toISOString() : null,
    reason: status?.reason ?? '',
    up: status?.up ?? 0,
    down: status?.down ?? 0,
    labels: task.labels,
    tenant: task.tenant ?? 'default',
    qos: task.qos ?? 'standard',
    paused: task.paused === true,
  };
  if (!detail) return view;
  return {
    ...view,
    interval: task.interval,
    timeout: task.timeout,
    jitter: task.jitter,
    success_threshold: task.success_threshold,
    failure_threshold: task.failure_threshold,
    ...(task.max_concurrency !== undefined ? { max_concurrency: task.max_concurrency } : {}),
    ...(task.breaker !== undefined ? { breaker: task.breaker } : {}),
    ...(task.targets_files !== undefined ? { targets_files: task.targets_files } : {}),
    // The list itself only while it is small: a million targets are the file's to show.
    ...(task.targets.length <= task.max_target_series ? { target_list: task.targets } : {}),
  };
}

const json = (status: number, value: unknown): TaskAnswer => ({ status, body: JSON.stringify(value, null, 2) + '\n', contentType: 'application/json' });

export const TASKS_PATH = '/api/v1/tasks';

/**
 * GET of the list or of one task; PUT and DELETE go to deps.changes. Undefined: not a tasks path;
 * null: the body could not be read (and that was answered).
 */
export async function serveTasks(deps: TaskApiDeps, path: string, req: http.IncomingMessage, body: () => Promise<Buffer | undefined>): Promise<TaskAnswer | null | undefined> {
  if (path === TASKS_PATH || path === `${TASKS_PATH}/`) {
    if (req.method !== 'GET' && req.method !== 'HEAD') return { status: 405, body: 'This endpoint accepts GET; PUT and DELETE go to /api/v1/tasks/NAME.\n' };
    const list = deps.config().tasks.map((t) => taskView(t, deps.lifecycle.status(t.name), false));
    return json(200, list);
  }
  if (!path.startsWith(`${TASKS_PATH}/`)) return undefined;
  let name: string;
  try {
    name = decodeURIComponent(path.slice(TASKS_PATH.length + 1));
  } catch {
    return { status: 400, body: 'the task name in the path is not valid percent-encoding\n' };
  }
  switch (req.method) {
    case 'GET':
    case 'HEAD': {
      const task = deps.config().tasks.find((t) => t.name === name);
      return task ? json(200, taskView(task, deps.lifecycle.status(name), true)) : { status: 404, body: `no task ${JSON.stringify(name)}\n` };
    }
    case 'PUT':
    case 'DELETE': {
      if (!deps.changes) return { status: 405, body: 'this sonde takes no task changes\n' };
      // Acted on once the request is whole, as /-/reload: a request Node then refuses must not have acted.
      const b = await body();
      if (b === undefined) return null;
      return req.method === 'PUT' ? deps.changes.put(name, b, req.headers['content-type']) : deps.changes.remove(name);
    }
    default:
      return { status: 405, body: 'This endpoint accepts GET, PUT and DELETE.\n' };
  }
}

export { json as jsonAnswer };
