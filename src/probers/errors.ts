// Maps the errors Node's sockets, TLS and DNS throw onto sonde's closed set of failure reasons.
import type { FailureReason } from '../result';

/** Thrown inside a prober to end the probe with a reason; the prober turns it into a result. */
export class ProbeFailure extends Error {
  constructor(
    readonly reason: FailureReason,
    message: string,
  ) {
    super(message);
    this.name = 'ProbeFailure';
  }
}

/**
 * A response neither HTTP parser accepts, named by the stream engine's parse error kinds
 * (src/native/stream.ts HttpParseError): the same words whichever transport read it.
 */
export function malformedResponse(kind: string): ProbeFailure {
  return new ProbeFailure('protocol_error', `malformed HTTP response (${kind})`);
}

// OpenSSL verification codes as Node reports them in err.code (see `openssl verify` docs).
const TLS_CODES: Record<string, FailureReason> = {
  CERT_HAS_EXPIRED: 'cert_expired',
  CERT_NOT_YET_VALID: 'cert_not_yet_valid',
  ERR_TLS_CERT_ALTNAME_INVALID: 'cert_hostname',
  HOSTNAME_MISMATCH: 'cert_hostname',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'cert_untrusted',
  SELF_SIGNED_CERT_IN_CHAIN: 'cert_untrusted',
  UNABLE_TO_GET_ISSUER_CERT: 'cert_untrusted',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'cert_untrusted',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'cert_untrusted',
  CERT_UNTRUSTED: 'cert_untrusted',
  CERT_SIGNATURE_FAILURE: 'cert_untrusted',
  CERT_REVOKED: 'ocsp_revoked',
};

const NET_CODES: Record<string, FailureReason> = {
  ECONNREFUSED: 'refused',
  ECONNRESET: 'reset',
  EPIPE: 'reset',
  UND_ERR_SOCKET: 'reset',
  ETIMEDOUT: 'connect_timeout',
  UND_ERR_CONNECT_TIMEOUT: 'connect_timeout',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
  EADDRNOTAVAIL: 'network_error',
  ENOTFOUND: 'dns_nxdomain',
  ENODATA: 'dns_nxdomain',
  // getaddrinfo's temporary failure: refused, SERVFAIL or no answer; resolve.ts tells a timeout apart.
  EAI_AGAIN: 'dns_error',
  ABORT_ERR: 'timeout',
  UND_ERR_ABORTED: 'timeout',
  UND_ERR_HEADERS_TIMEOUT: 'timeout',
  UND_ERR_BODY_TIMEOUT: 'timeout',
  UND_ERR_RESPONSE_EXCEEDED_MAX_SIZE: 'body_too_large',
  HPE_INVALID_CONSTANT: 'protocol_error',
  HPE_INVALID_STATUS: 'protocol_error',
  ERR_SSL_WRONG_VERSION_NUMBER: 'tls_handshake',
  ECANCELED: 'cancelled',
  // The probe host's own limits, not the target's fault: said as such (RLIMIT_NOFILE, socket buffers).
  EMFILE: 'local_resources',
  ENFILE: 'local_resources',
  ENOBUFS: 'local_resources',
  ENOMEM: 'local_resources',
};

/** Walks err.cause chains (undici wraps socket errors) and returns the best reason. */
export function classifyError(err: unknown): { reason: FailureReason; message: string } {
  let e: unknown = err;
  for (let depth = 0; e && depth < 5; depth++) {
    if (e instanceof ProbeFailure) return { reason: e.reason, message: e.message };
    const code = (e as { code?: unknown }).code;
    // Engine outcomes arrive as plain { code, message } objects, not Errors.
    const m = (e as { message?: unknown }).message;
    const message = e instanceof Error ? e.message : typeof m === 'string' ? m : String(e);
    if (typeof code === 'string') {
      if (TLS_CODES[code]) return { reason: TLS_CODES[code], message: `${code}: ${message}` };
      if (NET_CODES[code]) return { reason: NET_CODES[code], message: `${code}: ${message}` };
      if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) return { reason: 'tls_handshake', message: `${code}: ${message}` };
    }
    if (e instanceof Error && e.name === 'AbortError') return { reason: 'timeout', message };
    e = (e as { cause?: unknown }).cause;
  }
  // Engine outcomes are plain { code, message } objects: their message, never "[object Object]".
  const m = (err as { message?: unknown } | undefined)?.message;
  const code = (err as { code?: unknown } | undefined)?.code;
  const text = err instanceof Error ? err.message : typeof m === 'string' ? m : typeof code === 'string' ? code : String(err);
  return { reason: 'network_error', message: text };
}

/** Marks a probe's result failed with the reason and message of `err` (what every prober's catch does). */
export function failResult(result: { success: boolean; reason?: FailureReason; message?: string }, err: unknown): void {
  const { reason, message } = classifyError(err);
  result.success = false;
  result.reason = reason;
  result.message = message;
}
