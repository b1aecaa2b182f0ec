// /probe gateway series on /metrics: how many /probe requests the native front door took (served by
// the same TypeScript as Node's server: src/api/probe_handler.ts), and how many connections it
// handed to Node's HTTP server (other paths, malformed requests).
import { Counter, type Registry } from 'prom-client';
import { gatewayCounts } from '../api/gateway';

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
