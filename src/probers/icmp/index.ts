// The icmp prober (blackbox_exporter's icmp with SmokePing-style rounds): one descriptor,
// registered in src/probers/index.ts.
import { hostTarget } from '../../config/schema_values';
import { probeOnFirstUse, type ProberDescriptor, type TaskMetricSpec } from '../descriptor';
import { writeICMP } from './blackbox';
import { icmpSection } from './config';

/** Every echo of a continuous task counts, not only each probe's summary (SmokePing's view). */
const taskMetrics: readonly TaskMetricSpec[] = [
  {
    name: 'sonde_icmp_rtt_seconds',
    help: 'Round-trip time of each ICMP echo reply',
    type: 'histogram',
    labelNames: [],
    observe(result, add) {
      for (const rtt of result.icmp?.rtts ?? []) add(rtt);
    },
  },
  {
    name: 'sonde_icmp_packets_total',
    help: 'ICMP echo requests sent, replies received and duplicates',
    type: 'counter',
    labelNames: ['kind'],
    observe(result, add) {
      const icmp = result.icmp;
      if (!icmp) return;
      add(icmp.sent, 'sent');
      add(icmp.received, 'received');
      add(icmp.duplicates, 'duplicate');
    },
  },
];

export const icmpProber: ProberDescriptor<'icmp'> = {
  name: 'icmp',
  config: icmpSection,
  checkTarget: hostTarget,
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded at its first probe (descriptor.ts)
  probe: probeOnFirstUse(() => (require('./probe') as typeof import('./probe')).probeICMP),
  writeBlackbox: writeICMP,
  json: (r) => (r.icmp ? { icmp: r.icmp } : {}),
  taskMetrics,
};
