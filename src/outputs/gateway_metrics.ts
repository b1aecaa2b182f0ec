// /probe gateway series on /metrics: how many /probe requests the native gateway answered itself,
// how many it left to the TypeScript prober to finish, and how many connections it handed to Node.
import { Counter, type Registry } from 'prom-client';
import { gatewayCounts } from '../api/gateway';

export function registerGatewayMetrics(reg: Registry): void {
  new Counter({
    name: 'sonde_gateway_requests_total',
    help: 'Requests to the listener by path through sonde: answered natively, finished by the TypeScript prober, or connections handed to Node',
    labelNames: ['path'],
    registers: [reg],
    collect() {
      const c = gatewayCounts();
      this.reset();
      this.inc({ path: 'native' }, c.native);
      this.inc({ path: 'typescript' }, c.typescript);
      this.inc({ path: 'node' }, c.node);
    },
  });
}
