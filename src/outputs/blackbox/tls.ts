// TLS series of blackbox_exporter's http, tcp and grpc probers (help strings copied from 0.23), plus
// sonde's per-certificate and OCSP extras. Only called when the probe completed a handshake.
import type { ProbeRegistry as Registry } from './registry';
import type { TLSFacts } from '../../result';
import { gauge } from './common';

/** A certificate serial (hex, as Node prints it) as Go's %x of big.Int.Bytes(): no leading zero bytes, even length. */
export function goSerialHex(hex: string): string {
  let h = hex.toLowerCase().replace(/^(?:00)+/, '');
  if (h.length % 2 === 1) h = `0${h}`;
  return h;
}

/**
 * Which of blackbox 0.28's TLS families a prober registers (test/fixtures/blackbox/v0.28-series.json):
 * http all of them (prober/http.go), tcp and unix no cipher (prober/query_response.go), grpc neither
 * the cipher nor the last chain expiry (prober/grpc.go). sonde writes the same, so text diffs are clean.
 */
export interface TLSFamilies {
  cipher: boolean;
  lastChainExpiry: boolean;
}

export const HTTP_TLS: TLSFamilies = { cipher: true, lastChainExpiry: true };
export const QUERY_RESPONSE_TLS: TLSFamilies = { cipher: false, lastChainExpiry: true };
export const GRPC_TLS: TLSFamilies = { cipher: false, lastChainExpiry: false };

export function writeTLS(facts: TLSFacts, reg: Registry, families: TLSFamilies): void {
  gauge(reg, 'probe_ssl_earliest_cert_expiry', 'Returns last SSL chain expiry in unixtime', facts.earliestExpiry);
  if (families.lastChainExpiry) gauge(reg, 'probe_ssl_last_chain_expiry_timestamp_seconds', 'Returns last SSL chain expiry in timestamp', facts.lastChainExpiry);
  const leaf = facts.chain[0];
  if (leaf) {
    gauge(reg, 'probe_ssl_last_chain_info', 'Contains SSL leaf certificate information', 1, {
      // label order as blackbox prints them (sorted)
      fingerprint_sha256: leaf.fingerprintSha256,
      issuer: leaf.issuer,
      // blackbox 0.26: fmt.Sprintf("%x", cert.SerialNumber.Bytes()), minimal big-endian bytes
      serialnumber: goSerialHex(leaf.serialNumber),
      subject: leaf.subject,
      subjectalternative: leaf.subjectAlternative,
    });
  }
  gauge(reg, 'probe_tls_version_info', 'Returns the TLS version used or NaN when unknown', 1, { version: facts.version });
  // Not in 0.23; added by later blackbox releases with this name, label and help (http only).
  if (families.cipher && facts.cipher) {
    gauge(reg, 'probe_tls_cipher_info', 'Returns the TLS cipher negotiated during handshake', 1, { cipher: facts.cipher });
  }
  writeChain(facts, reg);
  writeOCSP(facts, reg);
}

/** sonde: validity window of every certificate in the chain, so alerts can name the one expiring. */
function writeChain(facts: TLSFacts, reg: Registry): void {
  if (facts.chain.length === 0) return;
  const labelNames = ['depth', 'subject', 'issuer', 'serial', 'fingerprint_sha256'];
  const before = reg.gauge('sonde_ssl_cert_not_before', 'notBefore of each certificate in the peer chain (depth 0 is the leaf), unix seconds', labelNames);
  const after = reg.gauge('sonde_ssl_cert_not_after', 'notAfter of each certificate in the peer chain (depth 0 is the leaf), unix seconds', labelNames);
  facts.chain.forEach((c, depth) => {
    const labels = { depth: String(depth), subject: c.subject, issuer: c.issuer, serial: c.serialNumber, fingerprint_sha256: c.fingerprintSha256 };
    before.set(labels, c.notBefore);
    after.set(labels, c.notAfter);
  });
}

/** sonde: the stapled OCSP response for the leaf (RFC 6066 status_request, RFC 6960 response). */
function writeOCSP(facts: TLSFacts, reg: Registry): void {
  const o = facts.ocsp;
  if (!o) return;
  gauge(reg, 'sonde_ocsp_status', 'Stapled OCSP status of the leaf certificate: good, revoked, unknown or absent (none stapled)', 1, {
    status: o.status,
  });
  if (o.thisUpdate !== undefined) {
    gauge(reg, 'sonde_ocsp_this_update_timestamp_seconds', 'thisUpdate of the stapled OCSP response, unix seconds', o.thisUpdate);
  }
  if (o.nextUpdate !== undefined) {
    gauge(reg, 'sonde_ocsp_next_update_timestamp_seconds', 'nextUpdate of the stapled OCSP response, unix seconds', o.nextUpdate);
  }
  if (o.revokedAt !== undefined) {
    gauge(reg, 'sonde_ocsp_revoked_timestamp_seconds', 'revocationTime in the stapled OCSP response, unix seconds', o.revokedAt);
  }
}
