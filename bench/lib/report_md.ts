// The Markdown report of one bench run (bench/results/<timestamp>.md) from the same object as the
// JSON file: host facts, per scenario a table of figures (sonde's median and spread, the peer's,
// the ratio, the target and whether it is met), its printed lines, and SVG plots beside it.
import type { FigureRecord, ScenarioResult } from './figures';
import type { HostFacts } from './host';
import { fmt } from './stats';
import { barChart, cdfChart, lineChart, type BarGroup } from './svg';
import { targetText } from './stats';

export interface ScenarioRun extends ScenarioResult {
  name: string;
  seconds: number;
  /** the scenario threw: its message (its figures so far are kept) */
  error?: string;
}

export interface BenchRun {
  started: string;
  seconds: number;
  quick: boolean;
  argv: string[];
  host: HostFacts;
  scenarios: ScenarioRun[];
}

export interface RenderedReport {
  markdown: string;
  /** files to write beside the report, named relative to it */
  svgs: Array<{ file: string; svg: string }>;
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const val = (x: number | null | undefined) => (x === null || x === undefined ? '-' : fmt(x));

function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60) || 'plot';
}

function figureRow(f: FigureRecord): string {
  const spread = f.spread ? `${fmt(f.spread[0])}..${fmt(f.spread[1])}` : '-';
  const peer = f.peer ? `${f.peer.name}: ${val(f.peer.median)}` : '-';
  const ratio = f.ratio !== undefined ? `${f.ratio.toFixed(2)}x` : '-';
  const target = f.target ? `${targetText(f.target, f.unit)}: ${f.target.met === null ? 'not judged' : f.target.met ? 'met' : '**NOT met**'}` : '-';
  return `| ${cell(f.name)} | ${val(f.median)} ${cell(f.unit)} | ${spread} | ${f.runs.length} | ${cell(peer)} | ${ratio} | ${cell(target)} |`;
}

/** Bar groups per unit: one chart each, rates only (a bar of seconds beside one of MiB says nothing). */
function barGroups(figures: FigureRecord[]): Map<string, BarGroup[]> {
  const out = new Map<string, BarGroup[]>();
  for (const f of figures) {
    if (!f.unit.endsWith('/s') || f.median === null) continue;
    const bars = [{ name: 'sonde', value: f.median }];
    if (f.peer && f.peer.median !== null) bars.push({ name: f.peer.name, value: f.peer.median });
    out.set(f.unit, [...(out.get(f.unit) ?? []), { label: f.name, bars }]);
  }
  return out;
}

function hostTable(h: HostFacts): string[] {
  return [
    '| host | |',
    '|---|---|',
    `| CPU | ${cell(h.cpu)} |`,
    `| cores | ${h.cores} (${h.physicalCores} physical) |`,
    `| memory | ${fmt(h.memoryBytes / 2 ** 30)} GiB |`,
    `| OS, kernel | ${cell(h.os)}, ${cell(h.kernel)} |`,
    `| Node | ${cell(h.node)} |`,
  ];
}

export function renderReport(run: BenchRun, svgDir: string): RenderedReport {
  const svgs: RenderedReport['svgs'] = [];
  const md: string[] = [
    `# sonde bench ${run.started}${run.quick ? ' (--quick: small runs, for checking the bench, not figures to publish)' : ''}`,
    '',
    `\`npm run bench${run.argv.length ? ` -- ${run.argv.join(' ')}` : ''}\`, ${fmt(run.seconds)} s in all. Every ratio is sonde's median over the peer's median measured in the same run.`,
    '',
    ...hostTable(run.host),
    '',
  ];
  const plot = (scenario: string, title: string, svg: string) => {
    const file = `${svgDir}/${slug(scenario)}-${slug(title)}-${svgs.length}.svg`;
    svgs.push({ file, svg });
    md.push(`![${cell(title)}](${file})`, '');
  };
  for (const s of run.scenarios) {
    md.push(`## ${s.name}`, '', `${fmt(s.seconds)} s${s.error ? `; **failed**: ${cell(s.error)}` : ''}`, '');
    if (s.figures.length > 0) {
      md.push('| figure | sonde median | spread | runs | peer median | ratio | target |', '|---|---|---|---|---|---|---|', ...s.figures.map(figureRow), '');
    }
    // A chart of one bar (a ceiling alone) says nothing a table row does not.
    for (const [unit, groups] of barGroups(s.figures)) if (groups.flatMap((g) => g.bars).length > 1) plot(s.name, `${s.name}: ${unit}`, barChart(`${s.name}: sonde against its peers`, unit, groups));
    for (const series of s.series) {
      if (series.kind === 'cdf') plot(s.name, series.name, cdfChart(series.name, series.unit, series.samples));
      else plot(s.name, series.name, lineChart(series.name, series.xUnit, series.unit, series.points));
    }
    if (s.lines.length > 0) md.push('```', ...s.lines, '```', '');
  }
  return { markdown: md.join('\n'), svgs };
}
