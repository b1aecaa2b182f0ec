// What a TLS handshake tells about the peer, in the form blackbox_exporter reports it (prober/tls.go
// and the probe_ssl_* series). Shared by the HTTP and TCP probers.
import { createHash, X509Certificate } from 'node:crypto';
import type { DetailedPeerCertificate, PeerCertificate, TLSSocket } from 'node:tls';
import type { CertFacts, TLSFacts } from '../result';

/** Go's zero time.Time as Unix seconds: what blackbox prints for an expiry it could not compute. */
export const GO_ZERO_TIME = -62135596800;

/** At most this many certificates are walked; a longer chain is a loop or an attack. */
const MAX_CHAIN = 16;

/** "TLSv1.3" (OpenSSL) -> "TLS 1.3" (blackbox's getTLSVersion). */
export function tlsVersionName(protocol: string | null): string {
  switch (protocol) {
    case 'TLSv1':
      return 'TLS 1.0';
    case 'TLSv1.1':
      return 'TLS 1.1';
    case 'TLSv1.2':
      return 'TLS 1.2';
    case 'TLSv1.3':
      return 'TLS 1.3';
    default:
      return 'unknown';
  }
}

// Go's pkix.Name keeps these attributes in fixed fields and prints them in this order (RDNs of
// ToRDNSequence reversed), whatever the order in the certificate. Keys: OpenSSL short names.
const GO_DN_ORDER: Array<[openssl: string, go: string]> = [
  ['serialNumber', 'SERIALNUMBER'],
  ['CN', 'CN'],
  ['OU', 'OU'],
  ['O', 'O'],
  ['postalCode', 'POSTALCODE'],
  ['street', 'STREET'],
  ['L', 'L'],
  ['ST', 'ST'],
  ['C', 'C'],
];

/** Go prints other attributes as OID=#hex-of-DER-value; emailAddress (an IA5String) is the usual one. */
function goOtherAttribute(key: string, value: string): string {
  if (key !== 'emailAddress') return `${key}=${value}`;
  const bytes = Buffer.from(value, 'latin1');
  if (bytes.length > 127) return `${key}=${value}`;
  return `1.2.840.113549.1.9.1=#16${bytes.length.toString(16).padStart(2, '0')}${bytes.toString('hex')}`;
}

/**
 * A distinguished name as Go's pkix.Name.String() renders it: the well-known attributes in Go's
 * fixed order (values of one type joined by "+"), then the others. Input is OpenSSL's multi-line
 * form (Node's X509Certificate.subject), one "KEY=value" per line, already escaped per RFC 2253.
 */
export function goDN(multiline: string): string {
  const byKey = new Map<string, string[]>();
  const others: string[] = [];
  const known = new Set(GO_DN_ORDER.map(([k]) => k));
  for (const line of multiline.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (known.has(key)) byKey.set(key, [...(byKey.get(key) ?? []), value]);
    else others.push(goOtherAttribute(key, value));
  }
  const rdns: string[] = [];
  for (const [key, goKey] of GO_DN_ORDER) {
    const values = byKey.get(key);
    if (values) rdns.push(values.map((v) => `${goKey}=${v}`).join('+'));
  }
  return [...rdns, ...others.reverse()].join(',');
}

/** DNS names of the subjectAltName, comma separated, as blackbox's getDNSNames. */
export function dnsNames(subjectAltName: string | undefined): string {
  if (!subjectAltName) return '';
  const names: string[] = [];
  // Node renders "DNS:a, IP Address:1.2.3.4, DNS:b"; DNS names cannot contain ", ".
  for (const part of subjectAltName.split(', ')) {
    if (part.startsWith('DNS:')) names.push(part.slice(4));
  }
  return names.join(',');
}

function seconds(openSSLDate: string): number {
  // OpenSSL prints "Nov 25 02:54:19 2026 GMT", which Date.parse accepts.
  const ms = Date.parse(openSSLDate);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : 0;
}

export function certFacts(raw: Buffer): CertFacts {
  const c = new X509Certificate(raw);
  return {
    subject: goDN(c.subject),
    issuer: goDN(c.issuer),
    subjectAlternative: dnsNames(c.subjectAltName),
    serialNumber: c.serialNumber.toLowerCase(),
    fingerprintSha256: createHash('sha256').update(raw).digest('hex'),
    notBefore: seconds(c.validFrom),
    notAfter: seconds(c.validTo),
  };
}

/**
 * Chains by leaf certificate. getPeerCertificate(true) converts every certificate to a JS object
 * and costs about as much as a loopback handshake; a probe target's chain rarely changes, so it is
 * walked again only after CHAIN_TTL_MS or for a new leaf.
 */
const chains = new Map<string, { at: number; chain: CertFacts[] }>();
const MAX_CHAINS = 256;
const CHAIN_TTL_MS = 60_000;

/** The leaf as Node's identity check got it (leafOnlyIdentityCheck), kept for the facts. */
const LEAF = Symbol('sonde.peerLeaf');
type WithLeaf = TLSSocket & { [LEAF]?: PeerCertificate };

/**
 * Node's client, after OpenSSL verified the chain, reads getPeerCertificate(true) for its host
 * name check (tls.checkServerIdentity), which needs only the leaf's subject and subjectAltName:
 * the detailed form re-parses every certificate of the chain and converts each to a JS object, a
 * sixth of a loopback DoT probe's CPU. Call right after tls.connect(): that one call gets the leaf
 * alone, which the check reads the same, and which tlsFactsFromSocket then reuses (the detailed
 * chain, when the facts need it, comes from the prototype's method, untouched).
 */
export function leafOnlyIdentityCheck(sock: TLSSocket): void {
  const own = sock as WithLeaf;
  own.getPeerCertificate = function getPeerLeaf(this: WithLeaf): DetailedPeerCertificate {
    delete (this as Partial<WithLeaf>).getPeerCertificate;
    const leaf = this.getPeerCertificate(false);
    this[LEAF] = leaf;
    return leaf as DetailedPeerCertificate;
  } as TLSSocket['getPeerCertificate'];
}

function peerChain(sock: TLSSocket): CertFacts[] {
  // The abbreviated form converts only the leaf (~1/4 of the full walk). Not
  // getPeerX509Certificate(): on Node 20 it leaves later getPeerCertificate() calls empty.
  const leaf = (sock as WithLeaf)[LEAF] ?? sock.getPeerCertificate(false);
  if (!leaf?.raw) return [];
  // Node computed the SHA-256 fingerprint of the DER with the object: the key costs nothing more.
  const key = leaf.fingerprint256;
  const now = Date.now();
  const hit = chains.get(key);
  if (hit && now - hit.at < CHAIN_TTL_MS) return hit.chain;
  const chain = walkChain(sock);
  chains.delete(key);
  if (chains.size >= MAX_CHAINS) chains.delete(chains.keys().next().value as string);
  chains.set(key, { at: now, chain });
  return chain;
}

/**
 * The peer chain, leaf first. Node builds it from the certificates the peer sent, completed from
 * the trusted store (getPeerCertificate(true) walks issuerCertificate until a self-issued root,
 * which points at itself).
 */
function walkChain(sock: TLSSocket): CertFacts[] {
  const chain: CertFacts[] = [];
  let cert: DetailedPeerCertificate | undefined = sock.getPeerCertificate(true);
  const seen = new Set<string>();
  while (cert && cert.raw && chain.length < MAX_CHAIN) {
    const facts = certFacts(cert.raw);
    if (seen.has(facts.fingerprintSha256)) break;
    seen.add(facts.fingerprintSha256);
    chain.push(facts);
    cert = cert.issuerCertificate;
  }
  return chain;
}

/** Facts of an established TLS connection (call after 'secureConnect'). */
export function tlsFactsFromSocket(sock: TLSSocket): TLSFacts {
  const chain = peerChain(sock);
  const expiries = chain.map((c) => c.notAfter).filter((t) => t !== 0);
  const earliest = expiries.length > 0 ? Math.min(...expiries) : GO_ZERO_TIME;
  // blackbox's getLastChainExpiry takes the earliest expiry within each *verified* chain. Node
  // exposes one chain, verified only when the socket is authorized; an unverified connection
  // (insecure_skip_verify) has no verified chain, so blackbox reports Go's zero time.
  const lastChainExpiry = sock.authorized ? earliest : GO_ZERO_TIME;
  return {
    version: tlsVersionName(sock.getProtocol()),
    cipher: sock.getCipher()?.standardName ?? '',
    chain,
    earliestExpiry: earliest,
    lastChainExpiry,
  };
}
