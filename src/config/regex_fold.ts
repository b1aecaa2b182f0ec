// Case folding of a JS character class body, for the parts of a Go RE2 pattern under a scoped
// (?i) (regex.ts): JS has no scoped flags, so such a class carries both cases itself.

/**
 * A class body emitted under a scoped (?i): ASCII letters and letter ranges get their other case
 * (RE2 folds Unicode; letters beyond ASCII keep their case here).
 */
export function foldClass(body: string): string {
  let extra = '';
  const isLetter = (c: string) => /^[A-Za-z]$/.test(c);
  const swap = (c: string) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase());
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '\\') {
      i += 1; // an escape: its next character is not a letter of the class
      continue;
    }
    if (body[i + 1] === '-' && i + 2 < body.length && body[i + 2] !== '\\') {
      const d = body[i + 2];
      // The letters of the range [c-d], in the other case.
      for (const [a, z] of [['a', 'z'], ['A', 'Z']]) {
        const from = c > a ? c : a;
        const to = d < z ? d : z;
        if (from <= to) extra += `${swap(from)}-${swap(to)}`;
      }
      i += 2;
      continue;
    }
    if (isLetter(c)) extra += swap(c);
  }
  return body + extra;
}
