export { classifyLoss, xdpSawReplyBeforeDrop, type LossEvidence } from './classify';
export { BpfFlowRegistry, type FlowRegistryOptions } from './registry';
