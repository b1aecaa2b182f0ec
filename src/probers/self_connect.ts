// A TCP connect to a closed local port can meet itself: when the source port the kernel (or sonde,
// src/probers/source_ports.ts) chose equals the destination port, the SYN is its own SYN-ACK
// (simultaneous open, RFC 9293 3.5) and connect() succeeds with no listener. Such a connection is
// the refusal it stands for; the native stream engine checks the same (native/stream/probe.cc).
import type net from 'node:net';

/** Whether a connected socket's two ends are one address and port. */
export function selfConnected(sock: net.Socket): boolean {
  return sock.localPort !== undefined && sock.localPort === sock.remotePort && sock.localAddress === sock.remoteAddress;
}

/** The error a refused connect gives on Node sockets, for a self-connect to address:port. */
export function selfConnectError(address: string, port: number): Error {
  return Object.assign(new Error(`connect ECONNREFUSED ${address}:${port} (the connection met itself: no listener)`), { code: 'ECONNREFUSED' });
}
