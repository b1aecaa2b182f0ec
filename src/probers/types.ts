// The one interface every prober implements. A prober never touches metrics or logs' format:
// it returns a ProbeResult, and outputs turn that into series, log lines and JSON.
import type { Logger } from 'pino';
import type { Module } from '../config/types';
import type { EngineClass } from '../native/qos';
import type { Attribution, ProbeResult } from '../result';
import type { Runtime } from '../runtime';
import type { AddressGate } from './resolve';

/** A lost ICMP echo: `seq` as the caller numbers its probes, echoId/echoSeq as sent on the wire. */
export interface LostEcho {
  seq: number;
  echoId: number;
  echoSeq: number;
}

/** Lets probes that use kernel sockets tell the eBPF flow map which 5-tuple is theirs (issue 4). */
export interface FlowRegistry {
  /** returns an id to pass to remove(); must never throw */
  addSocketFlow(flow: { protocol: 'tcp' | 'udp'; local: string; localPort: number; remote: string; remotePort: number }): number;
  /** A flow known by its local port alone (a port sonde chose and holds exclusively). */
  addPortFlow?(protocol: 'tcp' | 'udp', localPort: number): number;
  /** ICMP echoes of the native engine to and from one host (issue 4); returns an id for remove(). */
  addEchoFlow?(flow: { family: 4 | 6; remote: string }): number;
  /** One attribution per lost echo of an addEchoFlow() id; rawSocket: the engine reads replies on a raw socket. */
  explainEchoes?(id: number, lost: readonly LostEcho[], opts?: { rawSocket?: boolean }): Promise<Attribution[]>;
  remove(id: number): void;
  /** A SYN scan's source ports as flows until done() (src/attribution/scan_flows.ts); since: CLOCK_MONOTONIC s. */
  watchScanPorts?(ports: readonly [number, number]): { since: number; done(): void };
  /** One attribution per silent (address, port) of a scan on watched ports begun at `since` (CLOCK_MONOTONIC s). */
  explainSilent?(ports: readonly [number, number], silent: readonly { address: string; port: number }[], since: number): Promise<Attribution[]>;
  /** Where a lost probe of this flow was lost (one entry per ICMP sequence in `seqs`); absent without eBPF. */
  explain?(id: number, seqs?: readonly number[]): Promise<Attribution[]>;
}

/** What aborts a probe from outside (an AbortSignal, or a lighter object of the same shape). */
export interface CancelSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', fn: () => void, opts?: { once?: boolean }): void;
  removeEventListener(type: 'abort', fn: () => void): void;
}

export interface ProbeContext {
  /** aborted when the probe's deadline passes (or the daemon stops); runProbe makes it on first read */
  readonly signal: AbortSignal;
  /** signal.aborted without making the signal; absent: read signal.aborted */
  readonly aborted?: boolean;
  /** the probe must return by this performance.now() value */
  deadline: number;
  logger: Logger;
  flows?: FlowRegistry;
  /** the engines this probe may use (src/runtime.ts) */
  readonly runtime: Runtime;
  /**
   * The /probe policy's hold on the probe (src/policy/gate.ts): every name the probe resolves goes
   * through it (probers pass it to resolverFor), and every redirect hop (gate.endpoint); absent: no policy.
   */
  readonly gate?: ProbeGate;
  /**
   * Hands over how to end the engine probe running now (the native fast path keeps no signal):
   * called when the probe is cancelled from outside (its /probe client left, the daemon stops).
   */
  cancellable?(cancel: () => void): void;
  /**
   * The probe's QoS class in the native engines (src/native/qos.ts): its task's class, 'probe' for
   * /probe requests; which share of an engine's slots it may take. Absent: critical.
   */
  readonly qos?: EngineClass;
}

/** AddressGate, and the check of a host and port the probe goes to on its own (a redirect). */
export interface ProbeGate extends AddressGate {
  /** throws ProbeFailure('policy_denied') when the host name or port is refused */
  endpoint(host: string, port: number): void;
}

export type Prober = (target: string, module: Module, ctx: ProbeContext) => Promise<ProbeResult>;
