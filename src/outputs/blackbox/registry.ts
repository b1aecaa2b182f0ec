// A fresh registry per /probe request, as blackbox_exporter makes one: only gauges, rendered in the
// Prometheus text format exactly as prom-client renders it. prom-client's Registry costs about
// 30 µs per request for the ~20 series of a probe, a large share of a plain probe; this costs a few.

export interface ProbeGauge {
  set(labels: Record<string, string>, value: number): void;
  set(value: number): void;
}

interface Series {
  name: string;
  help: string;
  labelNames: readonly string[];
  values: Map<string, { labels?: Record<string, string>; value: number }>;
}

// Prometheus text format 0.0.4: help escapes \ and newline; label values also escape ".
function escapeHelp(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function escapeLabel(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

export class ProbeRegistry {
  readonly contentType = 'text/plain; version=0.0.4; charset=utf-8';
  private readonly series: Series[] = [];

  /** Registers a gauge; label sets are written in the order given by labelNames. */
  gauge(name: string, help: string, labelNames: readonly string[] = []): ProbeGauge {
    if (this.series.some((s) => s.name === name)) throw new Error(`A metric with the name ${name} has already been registered.`);
    const s: Series = { name, help, labelNames, values: new Map() };
    this.series.push(s);
    return {
      set(a: Record<string, string> | number, b?: number): void {
        if (typeof a === 'number') {
          s.values.set('', { value: a });
          return;
        }
        for (const k of Object.keys(a)) if (!labelNames.includes(k)) throw new Error(`Added label "${k}" is not included in initial labelset: ${JSON.stringify(labelNames)}`);
        s.values.set(labelNames.map((n) => a[n] ?? '').join('\u0000'), { labels: a, value: b as number });
      },
    };
  }

  metricsSync(): string {
    const out: string[] = [];
    for (const s of this.series) {
      let text = `# HELP ${s.name} ${escapeHelp(s.help)}\n# TYPE ${s.name} gauge`;
      const values = s.values.size > 0 || s.labelNames.length > 0 ? [...s.values.values()] : [{ value: 0 }];
      for (const { labels, value } of values as Array<{ labels?: Record<string, string>; value: number }>) {
        const l = labels
          ? Object.keys(labels)
              .map((k) => `${k}="${escapeLabel(labels[k])}"`)
              .join(',')
          : '';
        text += `\n${s.name}${l ? `{${l}}` : ''} ${formatValue(value)}`;
      }
      out.push(text);
    }
    return out.length ? `${out.join('\n\n')}\n` : '';
  }

  /** prom-client's Registry.metrics() shape, so callers and tests need not care which they hold. */
  async metrics(): Promise<string> {
    return this.metricsSync();
  }
}
