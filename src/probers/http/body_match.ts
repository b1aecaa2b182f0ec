// Body rules run off the JS thread, on a small pool of worker threads, bounded by the probe's
// deadline: a job still running at its deadline has its worker terminated (a regular expression
// cannot be interrupted otherwise) and the probe fails with a timeout, on time.
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import type { HTTPModule } from '../../config/types';
import { regexText } from '../../config/regex';
import { ProbeFailure } from '../errors';
import type { MatchAnswer, MatchJob } from './body_match_worker';
import type { PatternSpec } from './body_rules';
import { celVerdict } from './cel';
import { hasCELRules, type BodyVerdict } from './rules';

// Two cores is the machine sonde is measured on; more workers would only queue on them.
const MAX_WORKERS = 2;
const WORKER_FILE = path.join(__dirname, 'body_match_worker.js');

interface Pending {
  job: MatchJob;
  deadline: number;
  resolve: (broken: MatchAnswer) => void;
  reject: (err: ProbeFailure) => void;
}

class MatchPool {
  private readonly idle: Worker[] = [];
  private readonly busy = new Map<Worker, { pending: Pending; timer: NodeJS.Timeout }>();
  private readonly queue: Pending[] = [];
  private nextId = 1;

  run(body: Buffer, matches: PatternSpec[], notMatches: PatternSpec[], deadline: number): Promise<MatchAnswer> {
    return new Promise((resolve, reject) => {
      // A copy the worker owns: the caller's buffer may be a slice of a larger pool.
      const copy = new Uint8Array(body.length);
      copy.set(body);
      this.queue.push({ job: { id: this.nextId++, body: copy, matches, notMatches }, deadline, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const p = this.queue[0];
      if (performance.now() >= p.deadline) {
        this.queue.shift();
        p.reject(timeoutFailure());
        continue;
      }
      const worker = this.idle.pop() ?? (this.busy.size < MAX_WORKERS ? this.spawn() : undefined);
      if (!worker) return;
      this.queue.shift();
      worker.ref();
      const timer = setTimeout(() => this.expire(worker), Math.max(0, p.deadline - performance.now()));
      this.busy.set(worker, { pending: p, timer });
      worker.postMessage(p.job, [p.job.body.buffer as ArrayBuffer]); // a fresh ArrayBuffer (run() made it)
    }
  }

  private spawn(): Worker {
    const worker = new Worker(WORKER_FILE);
    worker.on('message', (answer: MatchAnswer) => {
      const entry = this.busy.get(worker);
      if (!entry || entry.pending.job.id !== answer.id) return;
      clearTimeout(entry.timer);
      this.busy.delete(worker);
      worker.unref(); // an idle pool must not keep a CLI process alive
      this.idle.push(worker);
      entry.pending.resolve(answer);
      this.pump();
    });
    worker.on('error', (err) => this.lose(worker, new ProbeFailure('internal', `body rule worker failed: ${err.message}`)));
    worker.on('exit', () => this.lose(worker, new ProbeFailure('internal', 'body rule worker exited')));
    return worker;
  }

  /** The job's deadline passed while its pattern ran: only terminating the thread stops it. */
  private expire(worker: Worker): void {
    this.lose(worker, timeoutFailure());
    void worker.terminate();
  }

  private lose(worker: Worker, failure: ProbeFailure): void {
    const i = this.idle.indexOf(worker);
    if (i >= 0) this.idle.splice(i, 1);
    const entry = this.busy.get(worker);
    if (entry) {
      clearTimeout(entry.timer);
      this.busy.delete(worker);
      entry.pending.reject(failure);
    }
    worker.removeAllListeners('message');
    this.pump();
  }
}

function timeoutFailure(): ProbeFailure {
  return new ProbeFailure('timeout', 'the body rules did not finish before the deadline');
}

const pool = new MatchPool();
// Specs per module object: made once, not per probe.
const specs = new WeakMap<HTTPModule, { matches: PatternSpec[]; notMatches: PatternSpec[] }>();
const spec = (re: RegExp): PatternSpec => ({ source: re.source, flags: re.flags });

/**
 * The first body rule `body` breaks, as the probe's failure (dueToRegex), or a timeout when the
 * matching could not finish by `deadline` (performance.now() ms).
 */
export async function checkBodyRules(h: HTTPModule, body: Buffer, deadline: number): Promise<BodyVerdict> {
  const regex = h.fail_if_body_matches_regexp.length > 0 || h.fail_if_body_not_matches_regexp.length > 0 ? await checkRegexRules(h, body, deadline) : { dueToRegex: false };
  if (regex.failure || !hasCELRules(h)) return regex;
  // blackbox: the CEL rules after the regular expressions, on the same body.
  const why = celVerdict(body.toString('utf8'), h.fail_if_body_json_matches_cel, h.fail_if_body_json_not_matches_cel);
  return why === undefined ? { dueToRegex: false, dueToCEL: false } : { failure: new ProbeFailure('cel_body', why), dueToRegex: false, dueToCEL: true };
}

async function checkRegexRules(h: HTTPModule, body: Buffer, deadline: number): Promise<BodyVerdict> {
  let s = specs.get(h);
  if (!s) {
    s = { matches: h.fail_if_body_matches_regexp.map(spec), notMatches: h.fail_if_body_not_matches_regexp.map(spec) };
    specs.set(h, s);
  }
  let answer: MatchAnswer;
  try {
    answer = await pool.run(body, s.matches, s.notMatches, deadline);
  } catch (err) {
    return { failure: err as ProbeFailure, dueToRegex: false };
  }
  if (answer.error !== undefined) return { failure: new ProbeFailure('internal', `body rules: ${answer.error}`), dueToRegex: false };
  const b = answer.broken;
  if (!b) return { dueToRegex: false };
  if (b.list === 'matches') {
    return { failure: new ProbeFailure('regex_body', `body matched regular expression ${regexText(h.fail_if_body_matches_regexp[b.index])}`), dueToRegex: true };
  }
  return { failure: new ProbeFailure('regex_body', `body did not match regular expression ${regexText(h.fail_if_body_not_matches_regexp[b.index])}`), dueToRegex: true };
}
