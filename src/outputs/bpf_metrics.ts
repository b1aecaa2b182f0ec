// eBPF series on /metrics: whether attribution is available, ring overflow, and each program's
// cost per run (run_time_ns / run_cnt, from the kernel's BPF run-time statistics).
import { Gauge, type Registry } from './prom_client';
import type { DropTracer } from '../native/bpf';

export function registerBpfMetrics(reg: Registry, tracer: () => DropTracer | null): void {
  const registers = [reg];
  new Gauge({
    name: 'sonde_bpf_available',
    help: '1 when the eBPF drop tracer is loaded and losses are attributed, 0 when attribution is unknown',
    registers,
    collect() {
      this.set(tracer() ? 1 : 0);
    },
  });
  new Gauge({
    name: 'sonde_bpf_events_lost_total',
    help: 'eBPF events dropped because the ring buffer was full (a counter kept by the kernel side)',
    registers,
    collect() {
      this.set(tracer()?.stats().eventsLost ?? 0);
    },
  });
  new Gauge({
    name: 'sonde_bpf_program_run_seconds_per_run',
    help: 'Average kernel time of one run of each eBPF program',
    labelNames: ['program'],
    registers,
    collect() {
      this.reset();
      for (const p of tracer()?.stats().programs ?? []) this.set({ program: p.name }, p.nsPerRun / 1e9);
    },
  });
  new Gauge({
    name: 'sonde_bpf_program_runs',
    help: 'Runs of each eBPF program since it was loaded',
    labelNames: ['program'],
    registers,
    collect() {
      this.reset();
      for (const p of tracer()?.stats().programs ?? []) this.set({ program: p.name }, p.runCnt);
    },
  });
}
