// Registers a kernel-socket probe's TCP flow with the eBPF flow map as soon as the kernel has
// chosen the source port, which is when connect() is issued (Node issues it on the next tick for an
// IP literal), not when the handshake completes, so that a dropped SYN is attributed too.
import type net from 'node:net';
import type { FlowRegistry } from './types';

/** Returns the function that removes the flow again (call it once the probe ends). */
export function trackSocketFlow(sock: net.Socket, flows: FlowRegistry | undefined, remote: string, remotePort: number): () => void {
  if (!flows) return () => undefined;
  let id: number | undefined;
  let removed = false;
  const register = () => {
    if (id !== undefined || removed || !sock.localAddress || !sock.localPort) return;
    id = flows.addSocketFlow({ protocol: 'tcp', local: sock.localAddress, localPort: sock.localPort, remote, remotePort });
  };
  process.nextTick(register);
  sock.once('connect', register);
  return () => {
    removed = true;
    if (id !== undefined && id > 0) flows.remove(id);
  };
}
