// The fast file_sd YAML reader against the full YAML parser: on every sample it either declines or
// reads exactly what the parser reads, each target at the position the parser gives its node.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isNode, LineCounter, parseDocument } from 'yaml';
import { fastFileSD } from '../../src/config/file_sd_yaml_fast';

/** Samples the fast reader must take (the shapes tools write). */
const TAKEN: Record<string, string> = {
  'block lists, block labels': '- targets:\n  - 127.0.0.1:80\n  - web.example:443\n  labels:\n    env: prod\n    dc: eu\n- targets:\n    - 10.0.0.1\n',
  'flow lists and labels': '- targets: [127.0.0.1:80, "10.0.0.2:80", \'a.b:1\']\n  labels: {env: prod, team: "a, b"}\n',
  'labels first, comments, blank lines': '# generated\n\n- labels: {job: x}   # the job\n  targets:\n  # first\n  - h1:1\n\n  - h2:2 # second\n',
  'quotes and escapes': '- targets:\n  - "a\\"b"\n  - \'it\'\'s\'\n  - "\\u0041:1"\n  - http://x/#frag\n',
  'an empty flow list': '- targets: []\n',
};

/** Samples it may decline; when it takes one, the result must still match the parser's. */
const ANY: Record<string, string> = {
  'a number target': '- targets: [80]\n',
  'a bool label value': '- targets: [a]\n  labels: {up: true}\n',
  'a null targets': '- targets:\n- targets: [a]\n',
  'an anchor': '- targets: &t [a]\n- targets: *t\n',
  'a multi-line scalar': '- targets:\n  - >\n    folded\n',
  'nested flow': '- targets: [[a]]\n',
  'a tab': '- targets:\n\t- a\n',
  'a document marker': '---\n- targets: [a]\n',
  'an unknown key': '- targets: [a]\n  extra: 1\n',
  'a duplicate label': '- targets: [a]\n  labels: {a: x, a: y}\n',
  'odd indentation': '- targets:\n  - a\n   - b\n',
  'a colon in a plain value': '- targets: [a]\n  labels: {u: "x: y", v: w:z}\n',
  'a hash without a space': '- targets:\n  - a#b\n',
  'a mapping at the top': 'targets: [a]\n',
  'only comments': '# nothing\n',
  'a dash target': '- targets:\n  - -a\n',
  'numbers that look like versions': '- targets:\n  - 1.2.3\n  - 1.5\n',
  'a control character in quotes': '- targets:\n  - "a\u0001"\n',
  'an unclosed quote in a flow': '- targets: ["a, b]\n',
  'a trailing comma': '- targets: [a, b,]\n',
};

function check(name: string, text: string, mustTake: boolean): void {
  const fast = fastFileSD(text);
  if (fast === undefined) {
    assert.ok(!mustTake, `${name}: declined`);
    return;
  }
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true });
  assert.deepEqual(doc.errors, [], `${name}: the fast reader took a file the parser refuses`);
  assert.deepEqual(fast.groups, doc.toJS(), name);
  fast.groups.forEach((g, gi) =>
    (g.targets ?? []).forEach((_, j) => {
      const node = doc.getIn([gi, 'targets', j], true);
      const { line, col } = lc.linePos(isNode(node) ? node.range![0] : 0);
      assert.deepEqual(fast.positions[gi][j], [line, col], `${name}: position of targets[${j}] of group ${gi}`);
    }),
  );
}

for (const [name, text] of Object.entries(TAKEN)) test(`taken, as the parser reads it: ${name}`, () => check(name, text, true));
for (const [name, text] of Object.entries(ANY)) test(`declined or as the parser reads it: ${name}`, () => check(name, text, false));

test('declined or as the parser reads it: 3,000 files made of random pieces', () => {
  // A fixed-seed generator: the same files every run.
  let seed = 12345;
  const rnd = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
  const SCALARS = ['a', 'h:1', '127.0.0.1:80', '"q"', "'s'", '80', 'true', '~', 'a b', 'x#y', 'x #c', '"a,b"', "'it''s'", '-x', 'a:', '"\\t"', '[a]', '{k: v}', '', 'null', '1.2.3', '0x1f', '.inf'];
  const GOOD = ['a', 'h:1', '127.0.0.1:80', '"q"', "'s'", "'it''s'", '"a,b"', 'x#y', 'web.example:443'];
  const INDENTS = ['', ' ', '  ', '    '];
  let taken = 0;
  for (let n = 0; n < 3000; n++) {
    const lines: string[] = [];
    for (let g = 0; g < 1 + rnd(3); g++) {
      const targetsFlow = rnd(2) === 0;
      // Mostly what the fast reader takes, so that both of its answers are checked often.
      const pick = () => (rnd(8) > 0 ? GOOD[rnd(GOOD.length)] : SCALARS[rnd(SCALARS.length)]);
      const items = Array.from({ length: rnd(4) }, pick);
      if (targetsFlow) lines.push(`- targets: [${items.join(', ')}]`);
      else {
        lines.push('- targets:');
        const at = INDENTS[2 + rnd(2)];
        for (const it of items) lines.push(`${rnd(10) > 0 ? at : INDENTS[rnd(4)]}- ${it}`);
      }
      if (rnd(2) === 0) lines.push(`${rnd(10) > 0 ? '  ' : INDENTS[rnd(4)]}labels: {${Array.from({ length: rnd(3) }, (_, i) => `k${i}: ${pick()}`).join(', ')}}`);
      if (rnd(5) === 0) lines.push(`${INDENTS[rnd(4)]}# comment`);
    }
    const text = lines.join('\n') + '\n';
    if (fastFileSD(text)) taken++;
    check(`random file ${n}:\n${text}`, text, false);
  }
  assert.ok(taken >= 600 && taken <= 2900, `${taken} of 3000 taken: both answers are checked`);
  console.log(`# ${taken} of 3000 random files taken by the fast reader`);
});
