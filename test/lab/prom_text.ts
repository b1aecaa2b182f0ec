// Prometheus text as /probe answers it, compared series by series with blackbox_exporter's (the
// drop-in checks of test/probers/*_comparison.test.ts and the dns server tests).
import assert from 'node:assert/strict';

/** series name -> sorted label names, from Prometheus text format */
export function seriesShape(text: string): Map<string, string> {
  const shape = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s/.exec(line);
    assert.ok(m, `unparsable sample line: ${line}`);
    const labels = [...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"/g)].map((x) => x[1]).sort();
    shape.set(m[1], labels.join(','));
  }
  return shape;
}

function helps(text: string): Map<string, string> {
  return new Map([...text.matchAll(/^# HELP (\S+) (.*)$/gm)].map((m) => [m[1], m[2]]));
}

/** The same series names, label names and help texts as blackbox; `extra` names the series sonde may add. */
export function assertSameSeries(sonde: string, blackbox: string, what: string, extra: (name: string) => boolean): void {
  const ours = seriesShape(sonde);
  const theirs = seriesShape(blackbox);
  const ourHelp = helps(sonde);
  const theirHelp = helps(blackbox);
  for (const [name, labels] of theirs) {
    assert.ok(ours.has(name), `${what}: sonde lacks ${name}`);
    assert.equal(ours.get(name), labels, `${what}: label names of ${name}`);
    assert.equal(ourHelp.get(name), theirHelp.get(name), `${what}: help text of ${name}`);
  }
  for (const name of ours.keys()) {
    assert.ok(theirs.has(name) || extra(name), `${what}: sonde has ${name}, blackbox does not`);
  }
}

/** name{labels} -> value of every sample of one series. */
export function samples(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name} `) && !line.startsWith(`${name}{`)) continue;
    const sp = line.lastIndexOf(' ');
    out.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return out;
}
