// probe_policy: which targets a /probe request may name (the config's tasks are the operator's
// own and are not checked). Strict like the rest of the file: unknown keys, bad CIDRs, patterns or
// ports are refused at load with the field named.
import { BlockList, isIP } from 'node:net';
import { int, list, str, struct, type Decoder } from '../config/schema';

export interface PortRange {
  from: number;
  to: number;
}

export interface TargetRules {
  /** "10.0.0.0/8", "fd00::/8" (a bare address is a /32 or /128) */
  cidrs: string[];
  /** "probe.example.net", "*.example.net" (any name below), "*" (any name) */
  hosts: string[];
  ports: PortRange[];
}

export interface ProbePolicy {
  allow: TargetRules;
  deny: TargetRules;
}

/** A CIDR as BlockList takes it, or why not. */
export function parseCIDR(s: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | string {
  const [address, bits, more] = s.split('/');
  const v = isIP(address);
  if (v === 0 || more !== undefined) return 'a CIDR such as 10.0.0.0/8 or fd00::/8';
  const max = v === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
  if (!(prefix >= 0 && prefix <= max)) return `a prefix length from 0 to ${max}`;
  return { address, prefix, family: v === 4 ? 'ipv4' : 'ipv6' };
}

const cidr = str({ check: (s) => (typeof parseCIDR(s) === 'string' ? (parseCIDR(s) as string) : undefined) });

const HOST_PATTERN = /^(\*|(\*\.)?([a-zA-Z0-9_]([a-zA-Z0-9_-]*[a-zA-Z0-9_])?\.)*[a-zA-Z0-9_]([a-zA-Z0-9_-]*[a-zA-Z0-9_])?\.?)$/;
const hostPattern = str({ pattern: HOST_PATTERN, expected: 'a host name, "*.domain" (any name below it) or "*"' });

const port = int(1, 65535);
/** 443, or "8000-8999" */
const portRange: Decoder<PortRange> = (node, path, ctx) => {
  const text = node && 'value' in node ? String((node as { value: unknown }).value) : '';
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(text);
  if (m) {
    const r = { from: Number(m[1]), to: Number(m[2]) };
    if (r.from >= 1 && r.to <= 65535 && r.from <= r.to) return r;
    str({ check: () => 'a port range FROM-TO within 1-65535, FROM <= TO' })(node, path, ctx);
    return undefined;
  }
  const p = port(node, path, ctx);
  return p === undefined ? undefined : { from: p, to: p };
};

const rules = struct<TargetRules>({
  fields: { cidrs: list(cidr), hosts: list(hostPattern), ports: list(portRange) },
  defaults: () => ({ cidrs: [], hosts: [], ports: [] }),
});

export const probePolicyDecoder = struct<ProbePolicy>({
  fields: { allow: rules, deny: rules },
  defaults: () => ({ allow: { cidrs: [], hosts: [], ports: [] }, deny: { cidrs: [], hosts: [], ports: [] } }),
});

/** The CIDRs of a list as one BlockList (node:net matches addresses of either family against it). */
export function blockList(cidrs: readonly string[]): BlockList {
  const b = new BlockList();
  for (const c of cidrs) {
    const p = parseCIDR(c);
    if (typeof p !== 'string') b.addSubnet(p.address, p.prefix, p.family);
  }
  return b;
}
