// The tcp_syn prober (port states by SYN half-open scan on the shared engine, issue 9): one
// descriptor, registered in src/probers/index.ts.
import { probeOnFirstUse, type ProberDescriptor, type TaskStateSpec } from '../descriptor';
import { PORT_STATES, writeTCPSyn } from './blackbox';
import { checkTCPSynTarget, tcpSynSection } from './config';

/** Each port's state over time, and its changes: the monitoring view of a scan. */
const taskStates: readonly TaskStateSpec[] = [
  {
    name: 'sonde_port_state',
    help: 'State of the port at the last tcp_syn probe (1 for the current state: open, closed, filtered)',
    keyLabel: 'port',
    stateLabel: 'state',
    states: PORT_STATES,
    transitions: { name: 'sonde_port_state_transitions_total', help: 'Changes of a port\'s state between two tcp_syn probes, by old and new state' },
    observe(result, set) {
      for (const p of result.tcpSyn?.ports ?? []) set(String(p.port), p.state);
    },
  },
];

export const tcpSynProber: ProberDescriptor<'tcp_syn'> = {
  name: 'tcp_syn',
  config: tcpSynSection,
  checkTarget: checkTCPSynTarget,
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded at its first probe (descriptor.ts)
  probe: probeOnFirstUse(() => (require('./probe') as typeof import('./probe')).probeTCPSyn),
  writeBlackbox: writeTCPSyn,
  json: (r) =>
    r.tcpSyn
      ? {
          tcp_syn: {
            ...r.tcpSyn,
            ports: r.tcpSyn.ports.map((p) => ({ port: p.port, state: p.state, reason: p.reason, icmp_code: p.icmpCode ?? null, ttl: p.ttl ?? null, rtt: p.rtt ?? null })),
          },
        }
      : {},
  taskMetrics: [],
  taskStates,
};
