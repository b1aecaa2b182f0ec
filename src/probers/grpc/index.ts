// The grpc prober (blackbox_exporter's grpc: the gRPC health checking protocol over @grpc/grpc-js):
// one descriptor, registered in src/probers/index.ts.
import { probeOnFirstUse, type ProberDescriptor } from '../descriptor';
import { writeGRPC } from './blackbox';
import { checkGRPCTarget, grpcSection } from './config';

export const grpcProber: ProberDescriptor<'grpc'> = {
  name: 'grpc',
  config: grpcSection,
  checkTarget: checkGRPCTarget,
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded at its first probe (descriptor.ts)
  probe: probeOnFirstUse(() => (require('./probe') as typeof import('./probe')).probeGRPC),
  offload: (_target, m) => m.grpc.tls,
  writeBlackbox: writeGRPC,
  json: (r) => (r.grpc ? { grpc: r.grpc } : {}),
  taskMetrics: [],
};
