// The contract between the SYN scan engine (native/syn, wrapped by src/native/syn.ts) and what
// drives it (`sonde scan`, src/cli/scan*.ts, and the tcp_syn prober). Types only: the engine side
// implements SynEngine, the callers take one from the runtime. Both sides are written against
// this file, so it changes only by agreement of both.

/** One contiguous run of addresses of one family, already inside the allow list and outside the excludes. */
export interface AddressRun {
  family: 4 | 6;
  /** first address of the run, as text ("198.18.0.0", "fd5e:ed00::1") */
  first: string;
  /** how many consecutive addresses, >= 1 (a /17 is 32768); at most 2**32 per run */
  count: number;
}

/** Inclusive port ranges, each 1..65535 with lo <= hi, disjoint and sorted (parsed from nmap syntax by the caller). */
export type PortRange = readonly [lo: number, hi: number];

export interface ScanSpec {
  /**
   * The target space: every (address of `runs`) × (port of `ports`). The engine visits it in a
   * pseudo-random order with no memory per target (cyclic group or Feistel permutation over the
   * index space), mapping an index to an address through the runs' cumulative counts.
   */
  runs: readonly AddressRun[];
  ports: readonly PortRange[];
  /** packets per second, > 0; the engine never exceeds it (token bucket, no busy spin) */
  rate: number;
  /** extra SYNs to a silent (address, port) before it is filtered; default 1 */
  retries?: number;
  /** how long to wait for answers after the last send, ms; default 1000 */
  waitMs?: number;
  /** split of the same permutation across probe hosts: this host takes index ≡ shard.index (mod shard.count) */
  shard?: { index: number; count: number };
  /** permutation and cookie seed; random when absent; the same seed gives the same order */
  seed?: bigint;
  /** source address per family; default: the route's preferred source */
  source4?: string;
  source6?: string;
  /** the scanner's own source port range (inclusive); the engine keeps the kernel from answering SYN-ACKs to it */
  sourcePorts?: PortRange;
  /** the whole run ends by then at the latest, ms */
  maxRuntimeMs?: number;
  /** report closed and filtered ports too (`--all-states`, and the tcp_syn prober); default open only */
  allStates?: boolean;
}

export type PortState = 'open' | 'closed' | 'filtered';

/**
 * Why a port has its state, as nmap names it: "syn-ack", "reset", "no-response",
 * "host-unreach", "net-unreach", "proto-unreach", "port-unreach", "admin-prohibited", ...
 */
export type PortReason = string;

export interface ScanHit {
  address: string;
  port: number;
  state: PortState;
  reason: PortReason;
  /** ICMP type 3 (v4) / type 1 (v6) code for ICMP-filtered ports */
  icmpCode?: number;
  /** TTL (hop limit) of the reply; undefined for no-response */
  ttl?: number;
  /** seconds from the (first answered) SYN to the reply; undefined for no-response */
  rtt?: number;
}

export interface ScanProgress {
  /** SYNs sent so far, retries included */
  sent: number;
  /** SYNs the local stack refused to send (a local firewall's EPERM, no route): not in `sent` */
  refused: number;
  /** (address, port) pairs of the space this shard covers */
  total: number;
  /** packets the receive path saw for the scanner's ports (at the NIC / raw socket) */
  received: number;
  /** replies that validated against the cookie and were reported */
  validated: number;
  /** replies that did not validate (foreign, forged) or came after their pair was reported (duplicates, late) */
  foreign: number;
  duplicates: number;
  /** ports reported so far, by state */
  open: number;
  closed: number;
  filtered: number;
}

export interface ScanSummary extends ScanProgress {
  /** wall time of the run, seconds, and the send rate achieved */
  seconds: number;
  packetsPerSecond: number;
  /** true when maxRuntimeMs or stop() ended the run before the space was covered */
  truncated: boolean;
}

export interface ScanHandle {
  /** resolves when the run is over (space covered, wait window passed), or stop() was called */
  done: Promise<ScanSummary>;
  /** ends the run early; done then resolves with truncated: true */
  stop(): void;
  progress(): ScanProgress;
}

export interface ScanListener {
  /** hits in the batches the engine delivers; each (address, port) appears at most once per run */
  onHits(hits: readonly ScanHit[]): void;
}

export interface SynEngine {
  /** Starts a run. Several runs may share one engine (the tcp_syn prober runs many small ones). */
  scan(spec: ScanSpec, listener: ScanListener): ScanHandle;
  close(): void;
}
