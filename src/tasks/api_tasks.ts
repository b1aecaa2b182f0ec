// The tasks made with PUT /api/v1/tasks/NAME: their specs (bodies) and the tasks decoded from them
// against the config file in force, merged with the file's tasks at start and on every reload.
// The file is the source of truth for its own tasks: the API cannot change or delete one (409),
// and a file task of the same name as an API task hides it (logged) until the file drops it.
import type { Logger } from 'pino';
import type { Config, Task } from '../config/types';
import { ConfigError } from '../config/load';
import { decodeTaskBody } from '../config/task_body';
import { jsonAnswer, type TaskAnswer, type TaskChanges } from '../api/tasks';
import { readTaskState, writeTaskState } from './state_file';

export interface ApiTasksOptions {
  /** --tasks.state-file; absent: API tasks live until the daemon stops */
  stateFile?: string;
  logger: Logger;
  /** applies a change (Daemon.changeTasks) */
  change(upsert: Task[], remove: string[]): void;
  /** the JSON of a task after a change, as GET shows it */
  view(task: Task): Record<string, unknown>;
}

/** Bodies read as JSON or YAML; curl -d sends its data as typed under x-www-form-urlencoded. */
const YAML_OR_JSON = /^(application\/(json|yaml|x-yaml|x-www-form-urlencoded)|text\/(yaml|x-yaml|plain))\s*(;|$)/i;

export class ApiTasks implements TaskChanges {
  /** name → the body as given (a JSON value), what the state file keeps */
  private specs = new Map<string, unknown>();
  /** name → the task decoded against the file config in force */
  private tasks = new Map<string, Task>();
  private file?: Config;
  private loaded = false;

  constructor(private readonly opts: ApiTasksOptions) {}

  /**
   * The file's config with the API tasks added (decoded again against it: a module or tenant the
   * file no longer has takes the task out, logged, until the file has it again). Reads the state
   * file the first time.
   */
  merge(file: Config): Config {
    if (!this.loaded && this.opts.stateFile) {
      // A state file that cannot be read stops the start: running without its tasks would drop them at the next write.
      this.specs = readTaskState(this.opts.stateFile);
      this.opts.logger.info({ file: this.opts.stateFile, tasks: this.specs.size }, 'API tasks loaded from the state file');
    }
    this.loaded = true;
    this.file = file;
    const fileNames = new Set(file.tasks.map((t) => t.name));
    this.tasks = new Map();
    for (const [name, spec] of this.specs) {
      if (fileNames.has(name)) {
        this.opts.logger.warn({ task: name }, 'the config file defines a task of this name: the API task of the same name is not run');
        continue;
      }
      try {
        this.tasks.set(name, decodeTaskBody(JSON.stringify(spec), name, file).task);
      } catch (err) {
        this.opts.logger.error({ task: name, error: (err as Error).message }, 'an API task does not fit the config in force and is not run');
      }
    }
    return { ...file, tasks: [...file.tasks, ...this.tasks.values()] };
  }

  private refusedForFileTask(name: string): TaskAnswer | undefined {
    if (!this.file?.tasks.some((t) => t.name === name)) return undefined;
    return {
      status: 409,
      body: `task ${JSON.stringify(name)} is defined in the config file ${this.file.source}: the file is the source of truth for its tasks; change it there and reload\n`,
    };
  }

  async put(name: string, body: Buffer, contentType: string | undefined): Promise<TaskAnswer> {
    if (!this.file) return { status: 503, body: 'not started yet\n' };
    const refused = this.refusedForFileTask(name);
    if (refused) return refused;
    if (contentType !== undefined && !YAML_OR_JSON.test(contentType)) {
      return { status: 415, body: `got Content-Type ${JSON.stringify(contentType)}, expected application/json or application/yaml\n` };
    }
    let decoded: { task: Task; spec: unknown };
    try {
      decoded = decodeTaskBody(body.toString('utf8'), name, this.file);
    } catch (err) {
      if (err instanceof ConfigError) return { status: 400, body: `${err.message}\n` };
      throw err;
    }
    const created = !this.specs.has(name);
    const specs = new Map(this.specs).set(name, decoded.spec);
    const failed = this.persist(specs);
    if (failed) return failed;
    this.specs = specs;
    this.tasks.set(name, decoded.task);
    this.opts.change([decoded.task], []);
    this.opts.logger.info({ task: name, targets: decoded.task.targets.length }, created ? 'task created through the API' : 'task replaced through the API');
    return jsonAnswer(created ? 201 : 200, this.opts.view(decoded.task));
  }

  async remove(name: string): Promise<TaskAnswer> {
    const refused = this.refusedForFileTask(name);
    if (refused) return refused;
    if (!this.specs.has(name)) return { status: 404, body: `no task ${JSON.stringify(name)}\n` };
    const specs = new Map(this.specs);
    specs.delete(name);
    const failed = this.persist(specs);
    if (failed) return failed;
    this.specs = specs;
    const planned = this.tasks.delete(name);
    if (planned) this.opts.change([], [name]);
    this.opts.logger.info({ task: name }, 'task deleted through the API');
    return jsonAnswer(200, { deleted: name });
  }

  /** Writes the specs to the state file; an answer when that failed (then nothing changes). */
  private persist(specs: ReadonlyMap<string, unknown>): TaskAnswer | undefined {
    if (!this.opts.stateFile) return undefined;
    try {
      writeTaskState(this.opts.stateFile, specs);
      return undefined;
    } catch (err) {
      this.opts.logger.error({ file: this.opts.stateFile, error: (err as Error).message }, 'cannot write the tasks state file');
      return { status: 500, body: `cannot write the tasks state file, nothing changed: ${(err as Error).message}\n` };
    }
  }
}
