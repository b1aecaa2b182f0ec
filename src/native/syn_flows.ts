// eBPF attribution of a SYN scan: the scanner's source ports are the flows of its probes, held by
// the scanner alone (outside the kernel's ephemeral range), so they are registered by port with the
// flow registry (src/attribution/scan_flows.ts): the drop tracer then sees a lost SYN leave, or a
// SYN-ACK / RST die on the way in, and `--explain` can name where. This file says which ports.
import { binding } from './addon';
import type { PortRange, ScanSpec } from './syn_types';

/** The source port range a scan uses: its own, or the engine's default (native DefaultSourcePorts). */
export function synSourcePorts(spec: Pick<ScanSpec, 'sourcePorts'>, native: () => unknown = binding.synDefaultSourcePorts as () => unknown): PortRange {
  if (spec.sourcePorts) return spec.sourcePorts;
  const [lo, hi] = (native as () => [number, number])();
  return [lo, hi];
}
