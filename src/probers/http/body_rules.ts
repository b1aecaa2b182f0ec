// The body rules' decision on a body's text, shared by the matching worker (body_match_worker.ts)
// and nothing else: plain data in, plain data out, so that it runs the same on any thread.

export interface PatternSpec {
  source: string;
  flags: string;
}

/** Which rule the text breaks first: fail_if_body_matches_regexp before the not_matches list. */
export interface BrokenRule {
  list: 'matches' | 'not_matches';
  index: number;
}

/** blackbox's order: the first matching "matches" pattern, else the first "not_matches" one that does not match. */
export function firstBrokenRule(text: string, matches: readonly RegExp[], notMatches: readonly RegExp[]): BrokenRule | undefined {
  for (let i = 0; i < matches.length; i++) {
    matches[i].lastIndex = 0;
    if (matches[i].test(text)) return { list: 'matches', index: i };
  }
  for (let i = 0; i < notMatches.length; i++) {
    notMatches[i].lastIndex = 0;
    if (!notMatches[i].test(text)) return { list: 'not_matches', index: i };
  }
  return undefined;
}
