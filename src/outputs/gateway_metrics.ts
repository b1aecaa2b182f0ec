// /probe series on /metrics. The gateway's: how many /probe requests the native front door took
// (served by the same TypeScript as Node's server: src/api/probe_handler.ts), how many connections
// it handed to Node's HTTP server (other paths, malformed requests), closed over a bound or for a
// slow head. Admission's, whichever door: requests refused (503) and cancelled (the client left).
import { Counter, type Registry } from './prom_client';
import type { ProbeAdmission } from '../api/admission';
import { gatewayCounts } from '../api/gateway';
import { nodeListenerCounts } from '../api/server';

export function registerGatewayMetrics(reg: Registry): void {
  new Counter({
    name: 'sonde_gateway_requests_total',
    help: 'Requests to the listener by path through sonde: /probe requests taken by the native gateway, or connections handed to Node',
    labelNames: ['path'],
    registers: [reg],
    collect() {
      const c = gatewayCounts();
      this.reset();
      this.inc({ path: 'gateway' }, c.gateway);
      this.inc({ path: 'node' }, c.node);
    },
  });
}

/** `goneEarly`: requests whose client left before they reached admission (the gateway's). */
export function registerProbeRequestMetrics(reg: Registry, admission: ProbeAdmission, goneEarly: () => number = () => 0): void {
  new Counter({
    name: 'sonde_probe_requests_refused_total',
    help: '/probe requests answered 503 because too many ran at once, overall or from one client address',
    labelNames: ['reason'],
    registers: [reg],
    collect() {
      this.reset();
      this.inc({ reason: 'overall' }, admission.refused.overall);
      this.inc({ reason: 'client' }, admission.refused.client);
    },
  });
  new Counter({
    name: 'sonde_probe_requests_cancelled_total',
    help: '/probe requests whose client left before the answer: their probes were cancelled (or never started)',
    registers: [reg],
    collect() {
      this.reset();
      this.inc(admission.cancelled + goneEarly());
    },
  });
  new Counter({
    name: 'blackbox_module_unknown_total',
    help: 'Count of unknown modules requested by probes (blackbox_exporter\'s name, so its alerts keep working)',
    registers: [reg],
    collect() {
      this.reset();
      this.inc(admission.unknownModule);
    },
  });
  new Counter({
    name: 'sonde_probe_denied_total',
    help: '/probe requests the probe_policy of the config refused, by reason (docs: README "/probe target policy")',
    labelNames: ['reason'],
    registers: [reg],
    collect() {
      this.reset();
      for (const [reason, n] of admission.denied) this.inc({ reason }, n);
    },
  });
  new Counter({
    name: 'sonde_gateway_connections_closed_total',
    help: 'Connections the listener closed early, by reason: over the connection bounds (limit), or a request head not complete in time in the native gateway (header_timeout; Node answers those 408)',
    labelNames: ['reason'],
    registers: [reg],
    collect() {
      const c = gatewayCounts();
      this.reset();
      this.inc({ reason: 'limit' }, c.refused + nodeListenerCounts.refused);
      this.inc({ reason: 'header_timeout' }, c.headTimeouts);
    },
  });
}
