// The worker thread that runs body rules (body_match.ts): a regular expression over megabytes of
// body text can take long, and on the JS thread it would stall every other probe and the API.
import { parentPort } from 'node:worker_threads';
import { firstBrokenRule, type BrokenRule, type PatternSpec } from './body_rules';

export interface MatchJob {
  id: number;
  body: Uint8Array;
  matches: PatternSpec[];
  notMatches: PatternSpec[];
}

export interface MatchAnswer {
  id: number;
  broken?: BrokenRule;
  error?: string;
}

// Modules are few and long-lived: compiled patterns are kept, up to a bound (a reload may bring new ones).
const compiled = new Map<string, RegExp>();
function compile(p: PatternSpec): RegExp {
  const key = `${p.flags}/${p.source}`;
  let re = compiled.get(key);
  if (re === undefined) {
    if (compiled.size >= 1024) compiled.clear();
    re = new RegExp(p.source, p.flags);
    compiled.set(key, re);
  }
  return re;
}

parentPort?.on('message', (job: MatchJob) => {
  let answer: MatchAnswer;
  try {
    const text = Buffer.from(job.body.buffer, job.body.byteOffset, job.body.byteLength).toString('utf8');
    answer = { id: job.id, broken: firstBrokenRule(text, job.matches.map(compile), job.notMatches.map(compile)) };
  } catch (err) {
    answer = { id: job.id, error: err instanceof Error ? err.message : String(err) };
  }
  parentPort?.postMessage(answer);
});
