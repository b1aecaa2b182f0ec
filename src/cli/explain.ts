// --explain for one-shot commands: the eBPF drop tracer for the duration of the command.
import { BpfFlowRegistry } from '../attribution';
import { openDropTracer } from '../native/bpf';

export interface Explainer {
  flows: BpfFlowRegistry;
  close(): void;
}

/** Opens the tracer; without eBPF it prints why once and returns a registry whose verdicts are `unknown`. */
export async function openExplainer(): Promise<Explainer> {
  const tracer = openDropTracer({}, (msg) => process.stderr.write(`sonde: ${msg}; attribution will be "unknown"\n`));
  return { flows: new BpfFlowRegistry(tracer), close: () => tracer?.stop() };
}
