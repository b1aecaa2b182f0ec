// The grpc prober's module section (modules.<name>.grpc): blackbox_exporter's GRPCProbe keys. sonde
// cannot run grpc probes yet (src/probers/index.ts lists it as known, not available).
import { defaultGRPC } from '../../config/defaults';
import { bool, str, struct } from '../../config/schema';
import { ipProtocol, tlsConfig } from '../../config/schema_shared';
import type { GRPCModule } from '../../config/types';
import type { ModuleSection } from '../descriptor';

const grpcModule = struct<GRPCModule>({
  fields: { service: str(), preferred_ip_protocol: ipProtocol, ip_protocol_fallback: bool(), tls: bool(), tls_config: tlsConfig },
  defaults: defaultGRPC,
});

export const grpcSection: ModuleSection<'grpc'> = { decode: grpcModule, defaults: defaultGRPC };
