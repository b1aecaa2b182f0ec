// The tasks made through the API, kept across restarts (--tasks.state-file): JSON, each task as its
// body was given (the config in force decodes them again at start and on reload). Written
// atomically: a temporary file beside it, fsync, rename over, fsync of the folder, so a crash
// leaves the old file or the new one, never half of one.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export const STATE_VERSION = 1;

export interface TaskState {
  version: number;
  /** by task name: the body given to PUT, as a JSON value */
  tasks: Record<string, unknown>;
}

/** A state file that cannot be used, with why. */
export class StateFileError extends Error {
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`${file}: ${reason}`);
    this.name = 'StateFileError';
  }
}

/** The specs in the file; none when it does not exist yet. Throws StateFileError. */
export function readTaskState(file: string): Map<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw new StateFileError(file, `cannot read it: ${(e as Error).message}`);
  }
  let state: TaskState;
  try {
    state = JSON.parse(text) as TaskState;
  } catch (e) {
    throw new StateFileError(file, `not JSON: ${(e as Error).message}`);
  }
  if (state?.version !== STATE_VERSION || typeof state.tasks !== 'object' || state.tasks === null || Array.isArray(state.tasks)) {
    throw new StateFileError(file, `expected {"version": ${STATE_VERSION}, "tasks": {...}}`);
  }
  return new Map(Object.entries(state.tasks));
}

/** Replaces the file with these specs, atomically. Throws on an I/O error (the old file stays). */
export function writeTaskState(file: string, specs: ReadonlyMap<string, unknown>): void {
  const state: TaskState = { version: STATE_VERSION, tasks: Object.fromEntries(specs) };
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, JSON.stringify(state, null, 2) + '\n');
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkSync(tmp);
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, file);
  // The rename is durable once the folder's entry is on disk too.
  const dir = openSync(dirname(file), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}
