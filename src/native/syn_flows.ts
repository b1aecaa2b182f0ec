// eBPF attribution of a SYN scan: the scanner's source ports are the flows of its probes, held by
// the scanner alone (outside the kernel's ephemeral range), so they are registered by port with the
// daemon's flow registry (src/attribution) as the ICMP engine's echo flows are: the drop tracer then
// sees a lost SYN leave, or a SYN-ACK / RST die on the way in, and `--explain` can name where.
import type { FlowRegistry } from '../probers/types';
import { binding } from './addon';
import type { PortRange, ScanSpec } from './syn_types';

/** The source port range a scan uses: its own, or the engine's default (native DefaultSourcePorts). */
export function synSourcePorts(spec: Pick<ScanSpec, 'sourcePorts'>, native: () => unknown = binding.synDefaultSourcePorts as () => unknown): PortRange {
  if (spec.sourcePorts) return spec.sourcePorts;
  const [lo, hi] = (native as () => [number, number])();
  return [lo, hi];
}

/**
 * Registers every source port of the scan as a TCP port flow (at most `limit`: the flow map is
 * shared with every other probe); returns what removes them again. No-op without a registry or
 * without port flows (no eBPF).
 */
export function registerSynFlows(flows: FlowRegistry | undefined, ports: PortRange, limit = 4096): () => void {
  if (!flows?.addPortFlow) return () => undefined;
  const ids: number[] = [];
  for (let p = ports[0]; p <= ports[1] && ids.length < limit; p++) {
    const id = flows.addPortFlow('tcp', p);
    if (id > 0) ids.push(id);
  }
  return () => {
    for (const id of ids.splice(0)) flows.remove(id);
  };
}
