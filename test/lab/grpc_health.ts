// A grpc.health.v1 server for tests: Check answers SERVING (1) to every service, with the
// messages encoded by hand (HealthCheckResponse { status = 1 }), so no proto files are needed.
import * as grpc from '@grpc/grpc-js';

/** grpc.health.v1.Health with raw byte messages: a test server encodes its answers itself. */
export const HEALTH: grpc.ServiceDefinition = {
  Check: {
    path: '/grpc.health.v1.Health/Check',
    requestStream: false,
    responseStream: false,
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: (b: Buffer) => b,
    responseDeserialize: (b: Buffer) => b,
  },
};

/** Starts a server answering SERVING at `address` ("127.0.0.1:0"); resolves with it and its port. */
export async function servingHealthServer(address: string, creds = grpc.ServerCredentials.createInsecure()): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  server.addService(HEALTH, { Check: (_call: unknown, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.from([0x08, 1])) });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync(address, creds, (err, p) => (err ? reject(err) : resolve(p))));
  return { server, port };
}
