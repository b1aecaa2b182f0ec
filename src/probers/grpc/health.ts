// The grpc.health.v1.Health/Check call (gRPC health checking protocol) over @grpc/grpc-js: its two
// messages are small enough to encode by hand (protobuf wire format: field 1, a string or an enum).
import type * as Grpc from '@grpc/grpc-js';
import { grpc } from '../../util/heavy';
import type { TLSSocket } from 'node:tls';

/** HealthCheckResponse.ServingStatus by number, as grpc_health_v1 names them. */
export const SERVING_STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'] as const;

/** HealthCheckRequest { string service = 1; } */
export function encodeRequest(service: string): Buffer {
  const s = Buffer.from(service, 'utf8');
  return s.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a]), varint(s.length), s]);
}

function varint(n: number): Buffer {
  const out: number[] = [];
  for (let v = n; ; v = Math.floor(v / 128)) {
    if (v < 128) {
      out.push(v);
      return Buffer.from(out);
    }
    out.push((v % 128) | 0x80);
  }
}

/** HealthCheckResponse { ServingStatus status = 1; }: the status number; unknown fields skipped. */
export function decodeResponse(b: Buffer): number {
  let status = 0;
  let i = 0;
  const readVarint = (): number => {
    let v = 0;
    for (let shift = 1; i < b.length; shift *= 128) {
      const byte = b[i++];
      v += (byte & 0x7f) * shift;
      if (byte < 0x80) return v;
    }
    throw new Error('truncated varint in HealthCheckResponse');
  };
  while (i < b.length) {
    const key = readVarint();
    const wire = key & 7;
    if (wire === 0) {
      const v = readVarint();
      if (key >>> 3 === 1) status = v;
    } else if (wire === 2) {
      const len = readVarint(); // read first: `i += readVarint()` would add to the old i
      i += len;
    }
    else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else throw new Error(`unexpected wire type ${wire} in HealthCheckResponse`);
  }
  return status;
}

/**
 * Credentials whose TLS socket is handed to `onSocket` once connected: grpc-js exposes no peer
 * certificate, and blackbox reports the peer's chain (probe_ssl_*). The hook wraps the secure
 * connector grpc-js makes per connection (ChannelCredentials._createSecureConnector, declared in its
 * types, underscored as internal), so the TLS facts come from the connection the call used.
 */
export function observedCredentials(creds: Grpc.ChannelCredentials, onSocket: (s: TLSSocket) => void): Grpc.ChannelCredentials {
  const make = creds._createSecureConnector.bind(creds);
  creds._createSecureConnector = (...args) => {
    const connector = make(...args);
    const connect = connector.connect.bind(connector);
    connector.connect = async (socket) => {
      const r = await connect(socket);
      if (r.secure) onSocket(r.socket as TLSSocket);
      return r;
    };
    return connector;
  };
  return creds;
}

export interface CheckOutcome {
  /** gRPC status code of the call (0: OK) */
  code: number;
  /** the serving status named, when the call answered */
  servingStatus?: string;
  details?: string;
}

/** One Check call on `client`; settles with the call's status, never rejects. */
export function check(client: Grpc.Client, service: string, metadata: Grpc.Metadata, deadline: Date): Promise<CheckOutcome> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      '/grpc.health.v1.Health/Check',
      (req: Buffer) => req,
      (res: Buffer) => res,
      encodeRequest(service),
      metadata,
      { deadline },
      (err: Grpc.ServiceError | null, res?: Buffer) => {
        if (err || !res) {
          resolve({ code: err?.code ?? grpc().status.UNKNOWN, details: err?.details ?? 'no response' });
          return;
        }
        try {
          const n = decodeResponse(res);
          resolve({ code: grpc().status.OK, servingStatus: SERVING_STATUS[n] ?? String(n) });
        } catch (e) {
          resolve({ code: grpc().status.INTERNAL, details: (e as Error).message });
        }
      },
    );
  });
}
