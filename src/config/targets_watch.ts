// Targets files re-read on change (the daemon's side of `targets_files:`): every interval each file
// in use is stat'ed; one whose mtime or size moved is read and hashed, and when its bytes changed
// the tasks using it get their targets rebuilt (task_targets.ts, the loader's checks) and only
// those tasks go to Daemon.changeTasks. A bad edit keeps the running targets and logs every
// problem with its file and line; sonde_targets_file_reload_success{file} says which files are good.
// Polling rather than fs.watch: it sees editors' rename-over writes, NFS and bind mounts alike.
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type { Logger } from 'pino';
import { Gauge, type Registry } from '../outputs/prom_client';
import type { Config, Task } from './types';
import { formatIssue } from './schema';
import { scanSettings } from './schema_scan';
import { rebuildTaskTargets, withTargets } from './task_targets';

/** What the watcher last saw of a file. */
interface Seen {
  mtimeMs: number;
  size: number;
  /** sha256 of the bytes; "" when it could not be read */
  hash: string;
}

export interface TargetsWatchOptions {
  logger: Logger;
  registry: Registry;
  /** the config in force (modules and scan.allow, for the checks) */
  config(): Config;
  /** applies rebuilt tasks (Daemon.changeTasks) */
  change(upsert: Task[], remove: string[]): void;
}

function look(file: string): Seen {
  try {
    const st = statSync(file);
    return { mtimeMs: st.mtimeMs, size: st.size, hash: '' };
  } catch {
    return { mtimeMs: -1, size: -1, hash: '' };
  }
}

function digest(file: string): string {
  try {
    return createHash('sha256').update(readFileSync(file)).digest('hex');
  } catch {
    return '';
  }
}

function sameTargets(task: Task, targets: readonly string[], labels: Task['target_labels']): boolean {
  if (task.targets.length !== targets.length || task.targets.some((t, i) => t !== targets[i])) return false;
  const was = task.target_labels;
  if (was === undefined || labels === undefined) return was === labels;
  return was.every((l, i) => l === labels[i] || JSON.stringify(l) === JSON.stringify(labels[i]));
}

export class TargetsWatcher {
  /** file → names of the tasks reading it */
  private users = new Map<string, Set<string>>();
  private seen = new Map<string, Seen>();
  private timer?: NodeJS.Timeout;
  private readonly gauge: Gauge;

  constructor(private readonly opts: TargetsWatchOptions) {
    this.gauge = new Gauge({ name: 'sonde_targets_file_reload_success', help: 'Whether the last read of the targets file succeeded (1) or was refused, the running targets kept (0)', labelNames: ['file'], registers: [opts.registry] });
  }

  /** The tasks planned now (after every apply): files no task reads any more are forgotten. */
  setTasks(tasks: readonly Task[]): void {
    const users = new Map<string, Set<string>>();
    for (const t of tasks) for (const f of t.targets_files ?? []) (users.get(f) ?? users.set(f, new Set()).get(f)!).add(t.name);
    for (const f of this.users.keys()) {
      if (users.has(f)) continue;
      this.seen.delete(f);
      this.gauge.remove({ file: f });
    }
    for (const f of users.keys()) {
      if (this.seen.has(f)) continue;
      // Just loaded with the config: good, and this is what it looked like.
      this.seen.set(f, { ...look(f), hash: digest(f) });
      this.gauge.set({ file: f }, 1);
    }
    this.users = users;
  }

  start(everyMs: number): void {
    this.timer = setInterval(() => this.check(), everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One round: files whose bytes changed since the last round rebuild the tasks that read them. */
  check(): void {
    const tasks = new Set<string>();
    for (const [file, was] of this.seen) {
      const now = look(file);
      if (now.mtimeMs === was.mtimeMs && now.size === was.size) continue;
      now.hash = digest(file);
      this.seen.set(file, now);
      if (now.hash === was.hash) continue;
      for (const name of this.users.get(file) ?? []) tasks.add(name);
    }
    if (tasks.size === 0) return;
    const config = this.opts.config();
    const scope = { scanAllow: scanSettings(config).allow };
    const upsert: Task[] = [];
    for (const task of config.tasks) {
      if (!tasks.has(task.name)) continue;
      const prober = config.modules.get(task.module)?.prober;
      const r = rebuildTaskTargets(task, prober, scope, (i) => `tasks[${task.name}].targets_files[${i}]`);
      const bad = new Set(r.issues.map((i) => i.file));
      for (const f of task.targets_files ?? []) this.gauge.set({ file: f }, bad.has(f) ? 0 : 1);
      if (!r.ok) {
        this.opts.logger.error({ task: task.name, issues: r.issues.map(formatIssue) }, 'a targets file changed and is refused; the running targets stay');
        continue;
      }
      if (sameTargets(task, r.targets, r.labels)) continue; // a comment or the order of groups' keys changed
      upsert.push(withTargets(task, r));
      const before = new Set(task.targets);
      const added = r.targets.reduce((n, t) => (before.has(t) ? n : n + 1), 0);
      const removed = task.targets.length - (r.targets.length - added);
      this.opts.logger.info({ task: task.name, targets: r.targets.length, added, removed }, 'targets file changed: targets updated');
    }
    if (upsert.length > 0) this.opts.change(upsert, []);
  }
}
