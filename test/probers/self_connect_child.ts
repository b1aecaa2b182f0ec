// Run inside a lab namespace whose ephemeral port range is a handful of ports (by
// tcp_self_connect.test.ts): probes every port of that range, all closed, with the tcp and http
// probers over both transports, and prints how each probe ended as one JSON line.
import { probeHTTP } from '../../src/probers/http/probe';
import { probeTCP } from '../../src/probers/tcp/probe';
import { Runtime } from '../../src/runtime';
import { httpModule } from './http_lab';
import { probeContext, tcpModule } from './tcp_helpers';

async function main(): Promise<void> {
  const [low, high, rounds] = process.argv.slice(2).map(Number);
  const out: Record<string, Record<string, number>> = {};
  for (const fastPath of [true, false]) {
    const runtime = new Runtime({ fastPath });
    for (const prober of ['tcp', 'http'] as const) {
      const counts: Record<string, number> = {};
      for (let round = 0; round < rounds; round++) {
        for (let port = low; port <= high; port++) {
          const r =
            prober === 'tcp'
              ? await probeTCP(`127.0.0.1:${port}`, tcpModule({ preferred_ip_protocol: 'ip4' }), probeContext(2, undefined, runtime))
              : await probeHTTP(`http://127.0.0.1:${port}/`, httpModule({}, 2), probeContext(2, undefined, runtime));
          const key = r.success ? 'success' : (r.reason ?? 'unknown');
          counts[key] = (counts[key] ?? 0) + 1;
        }
      }
      out[`${prober}/${fastPath ? 'engine' : 'node'}`] = counts;
    }
    runtime.close();
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

void main();
