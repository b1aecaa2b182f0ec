// Small SVG plots for the bench report (no plotting dependency): grouped horizontal bars (a
// scenario's throughput against its peers), CDFs (latency samples) and lines (RSS over time).
// Output is a standalone SVG 1.1 document; every text is escaped.
import { fmt } from './stats';

const W = 720;
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];
const FONT = 'font-family="sans-serif" font-size="12"';

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const num = (x: number) => (Number.isFinite(x) ? Number(x.toFixed(2)) : 0);

function doc(height: number, title: string, body: string[]): string {
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}">`,
    `<rect width="${W}" height="${height}" fill="#ffffff"/>`,
    `<text x="${W / 2}" y="18" text-anchor="middle" ${FONT} font-weight="bold">${esc(title)}</text>`,
    ...body,
    `</svg>`,
    '',
  ].join('\n');
}

/** About five round tick values covering [0, max]. */
export function ticks(max: number, n = 5): number[] {
  if (!(max > 0) || !Number.isFinite(max)) return [0, 1];
  const raw = max / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) out.push(v);
  if (out[out.length - 1] < max) out.push(out[out.length - 1] + step);
  return out;
}

export interface BarGroup {
  label: string;
  bars: Array<{ name: string; value: number }>;
}

/** One group per figure (sonde and its peers), horizontal bars on a shared axis from 0. */
export function barChart(title: string, unit: string, groups: BarGroup[]): string {
  const names = [...new Set(groups.flatMap((g) => g.bars.map((b) => b.name)))];
  const color = (n: string) => COLORS[names.indexOf(n) % COLORS.length];
  const left = 20;
  const plotW = W - left - 110;
  const barH = 14;
  const top = 40 + 16 * Math.ceil(names.length / 3);
  const max = Math.max(0, ...groups.flatMap((g) => g.bars.map((b) => b.value)).filter(Number.isFinite));
  const ts = ticks(max);
  const x = (v: number) => left + (v / ts[ts.length - 1]) * plotW;
  const body: string[] = [];
  names.forEach((n, i) => {
    const lx = left + (i % 3) * 230;
    const ly = 32 + 16 * Math.floor(i / 3);
    body.push(`<rect x="${lx}" y="${ly - 9}" width="10" height="10" fill="${color(n)}"/>`, `<text x="${lx + 14}" y="${ly}" ${FONT}>${esc(n)}</text>`);
  });
  let y = top;
  for (const g of groups) {
    body.push(`<text x="${left}" y="${y + 12}" ${FONT}>${esc(g.label)}</text>`);
    y += 16;
    for (const b of g.bars) {
      const v = Number.isFinite(b.value) ? b.value : 0;
      body.push(
        `<rect x="${left}" y="${y}" width="${num(x(v) - left)}" height="${barH}" fill="${color(b.name)}"><title>${esc(`${b.name}: ${fmt(v)} ${unit}`)}</title></rect>`,
        `<text x="${num(x(v) + 4)}" y="${y + barH - 3}" ${FONT}>${esc(fmt(v))}</text>`,
      );
      y += barH + 2;
    }
    y += 8;
  }
  const axisY = y;
  body.push(`<line x1="${left}" y1="${top}" x2="${left}" y2="${axisY}" stroke="#000"/>`, `<line x1="${left}" y1="${axisY}" x2="${left + plotW}" y2="${axisY}" stroke="#000"/>`);
  for (const t of ts) {
    body.push(`<line x1="${num(x(t))}" y1="${axisY}" x2="${num(x(t))}" y2="${axisY + 4}" stroke="#000"/>`, `<text x="${num(x(t))}" y="${axisY + 16}" text-anchor="middle" ${FONT}>${esc(fmt(t))}</text>`);
  }
  body.push(`<text x="${left + plotW / 2}" y="${axisY + 32}" text-anchor="middle" ${FONT}>${esc(unit)}</text>`);
  return doc(axisY + 42, title, body);
}

interface XY {
  label: string;
  points: Array<[number, number]>;
}

/** Lines on linear axes from 0 (the shared body of the CDF and the time plots). */
function xyChart(title: string, xLabel: string, yLabel: string, series: XY[], yMax?: number): string {
  const H = 360;
  const left = 70, right = 20, top = 50, bottom = 50;
  const pw = W - left - right, ph = H - top - bottom;
  const all = series.flatMap((s) => s.points).filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b));
  const xt = ticks(Math.max(0, ...all.map((p) => p[0])));
  const yt = yMax !== undefined ? [0, 0.25, 0.5, 0.75, 1].map((f) => f * yMax) : ticks(Math.max(0, ...all.map((p) => p[1])));
  const X = (v: number) => left + (v / xt[xt.length - 1]) * pw;
  const Y = (v: number) => top + ph - (v / yt[yt.length - 1]) * ph;
  const body: string[] = [];
  series.forEach((s, i) => {
    const lx = left + (i % 3) * 220;
    const ly = 34 + 14 * Math.floor(i / 3);
    body.push(`<rect x="${lx}" y="${ly - 9}" width="10" height="10" fill="${COLORS[i % COLORS.length]}"/>`, `<text x="${lx + 14}" y="${ly}" ${FONT}>${esc(s.label)}</text>`);
  });
  body.push(`<rect x="${left}" y="${top}" width="${pw}" height="${ph}" fill="none" stroke="#000"/>`);
  for (const t of xt) body.push(`<text x="${num(X(t))}" y="${top + ph + 16}" text-anchor="middle" ${FONT}>${esc(fmt(t))}</text>`);
  for (const t of yt) {
    body.push(`<line x1="${left}" y1="${num(Y(t))}" x2="${left + pw}" y2="${num(Y(t))}" stroke="#ddd"/>`, `<text x="${left - 6}" y="${num(Y(t) + 4)}" text-anchor="end" ${FONT}>${esc(fmt(t))}</text>`);
  }
  body.push(
    `<text x="${left + pw / 2}" y="${H - 12}" text-anchor="middle" ${FONT}>${esc(xLabel)}</text>`,
    `<text x="16" y="${top + ph / 2}" text-anchor="middle" transform="rotate(-90 16 ${top + ph / 2})" ${FONT}>${esc(yLabel)}</text>`,
  );
  series.forEach((s, i) => {
    const pts = s.points.filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b)).map(([a, b]) => `${num(X(a))},${num(Y(b))}`);
    if (pts.length) body.push(`<polyline fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="1.5" points="${pts.join(' ')}"/>`);
  });
  return doc(H, title, body);
}

/**
 * Empirical CDFs: for each label, the fraction of samples at or below x. The x axis stops at the
 * largest p99 of the series, so one slow outlier does not squeeze every curve against the y axis.
 */
export function cdfChart(title: string, unit: string, samples: Record<string, number[]>): string {
  const sorted = Object.entries(samples).map(([label, xs]) => ({ label, s: [...xs].sort((a, b) => a - b) }));
  const cut = Math.max(0, ...sorted.filter((x) => x.s.length).map((x) => x.s[Math.floor(0.99 * (x.s.length - 1))]));
  const series = sorted.map(({ label, s }) => ({ label, points: s.map((v, i): [number, number] => [v, (i + 1) / s.length]).filter(([v]) => v <= cut) }));
  return xyChart(`${title} (to p99)`, unit, 'fraction of probes', series, 1);
}

export function lineChart(title: string, xUnit: string, unit: string, points: Record<string, Array<[number, number]>>): string {
  return xyChart(title, xUnit, unit, Object.entries(points).map(([label, p]) => ({ label, points: p })));
}
