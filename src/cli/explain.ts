// --explain for one-shot commands: the eBPF drop tracer for the duration of the command.
import { BpfFlowRegistry, type FlowRegistryOptions } from '../attribution';
import { openDropTracer } from '../native/bpf';

export interface Explainer {
  flows: BpfFlowRegistry;
  close(): void;
}

/**
 * Opens the tracer; without eBPF it prints why once and returns a registry whose verdicts are `unknown`.
 * `xdpInterface`: attach the XDP observer there too, so a lost reply can be told "reached the NIC".
 */
export async function openExplainer(opts: { xdpInterface?: string; registry?: FlowRegistryOptions } = {}): Promise<Explainer> {
  const tracer = openDropTracer({}, (msg) => process.stderr.write(`sonde: ${msg}; attribution will be "unknown"\n`));
  if (tracer && opts.xdpInterface) {
    try {
      tracer.attachXdp(opts.xdpInterface);
    } catch (err) {
      process.stderr.write(`sonde: XDP observer not attached to ${opts.xdpInterface}: ${(err as Error).message}\n`);
    }
  }
  return { flows: new BpfFlowRegistry(tracer, opts.registry), close: () => tracer?.stop() };
}
