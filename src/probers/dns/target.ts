// A dns target: [NAME@]SERVER, SERVER as blackbox takes it (host, host:port, [v6]:port, or a bare
// IPv6 address, which Go's SplitHostPort refuses and blackbox then uses whole with the default
// port). NAME, when given, is the query name, so one module serves many names (blackbox #331).
import { isIP } from 'node:net';
import { isHost } from '../../config/schema_values';
import type { DNSModule } from '../../config/types';
import { ProbeFailure } from '../errors';

export interface DNSTarget {
  /** the query name from the target, or undefined (the module's query_name) */
  name?: string;
  /** the server's host as written, brackets removed */
  host: string;
  port: number;
}

export function defaultPort(dns: Pick<DNSModule, 'dns_over_tls' | 'dns_over_https'>): number {
  if (dns.dns_over_https) return 443;
  return dns.dns_over_tls ? 853 : 53;
}

const NAME = /^(?=.{1,254}$)[^\s@]+$/;

/** Splits a target; undefined port: the transport's default. Returns a problem text instead when it cannot. */
function split(target: string): { name?: string; host: string; port?: number } | string {
  const at = target.lastIndexOf('@');
  const name = at >= 0 ? target.slice(0, at) : undefined;
  const server = at >= 0 ? target.slice(at + 1) : target;
  if (name !== undefined && !NAME.test(name)) return 'a query name before "@" (no spaces)';
  let host = server;
  let portText: string | undefined;
  const bracket = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(server);
  if (bracket) {
    host = bracket[1];
    portText = bracket[2];
    if (isIP(host) !== 6) return 'an IPv6 address inside [...]';
  } else if (isIP(server) === 0) {
    const colon = server.lastIndexOf(':');
    if (colon >= 0) {
      host = server.slice(0, colon);
      portText = server.slice(colon + 1);
      if (!/^\d{1,5}$/.test(portText)) return 'a port number after ":"';
    }
  }
  if (!isHost(host)) return 'a DNS server as host, host:port or [v6]:port, optionally after NAME@';
  const port = portText === undefined ? undefined : Number(portText);
  if (port !== undefined && (port < 1 || port > 65535)) return 'a port from 1 to 65535';
  return { name, host, port };
}

/** The descriptor's target check, at config load. */
export function checkDNSTarget(target: string): string | undefined {
  const s = split(target);
  return typeof s === 'string' ? s : undefined;
}

// Continuous mode asks the same targets over and over: each is split once (a bounded cache).
const SPLIT_CACHE = new Map<string, ReturnType<typeof split>>();
const MAX_CACHED = 65536;

function splitCached(target: string): ReturnType<typeof split> {
  let s = SPLIT_CACHE.get(target);
  if (s === undefined) {
    s = split(target);
    if (SPLIT_CACHE.size >= MAX_CACHED) SPLIT_CACHE.clear();
    SPLIT_CACHE.set(target, s);
  }
  return s;
}

/** The target with the module's defaults applied; ProbeFailure config for what load would refuse. */
export function parseDNSTarget(target: string, dns: DNSModule): DNSTarget & { queryName: string } {
  const s = splitCached(target);
  if (typeof s === 'string') throw new ProbeFailure('config', `target ${target}: expected ${s}`);
  const queryName = s.name ?? dns.query_name;
  if (queryName === '') throw new ProbeFailure('config', `target ${target}: no query name (set dns.query_name or write the target as NAME@${target})`);
  return { name: s.name, host: s.host, port: s.port ?? defaultPort(dns), queryName };
}
