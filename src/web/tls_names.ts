// Go's names for what a web config's tls_server_config lists, and OpenSSL's for Node's TLS.
// cipher_suites takes the names of Go's tls.CipherSuites() (the secure suites); as in Go, they
// choose among TLS 1.2 suites only and TLS 1.3 keeps its own (crypto/tls does not let them be set).

/** Go name → OpenSSL name (`openssl ciphers -stdname`). */
export const GO_CIPHERS = {
  TLS_AES_128_GCM_SHA256: 'TLS_AES_128_GCM_SHA256',
  TLS_AES_256_GCM_SHA384: 'TLS_AES_256_GCM_SHA384',
  TLS_CHACHA20_POLY1305_SHA256: 'TLS_CHACHA20_POLY1305_SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
} as const;
export type GoCipher = keyof typeof GO_CIPHERS;

const TLS13_SUITES = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];

/** Node's `ciphers` string for a cipher_suites list (undefined: Node's defaults). */
export function opensslCiphers(list: readonly GoCipher[]): string | undefined {
  const tls12 = list.map((c) => GO_CIPHERS[c]).filter((c) => !TLS13_SUITES.includes(c));
  if (tls12.length === 0) return undefined;
  return [...TLS13_SUITES, ...tls12].join(':');
}

/** curve_preferences names (the toolkit's) → OpenSSL group names for Node's `ecdhCurve`. */
export const GO_CURVES = { CurveP256: 'P-256', CurveP384: 'P-384', CurveP521: 'P-521', X25519: 'X25519' } as const;
export type GoCurve = keyof typeof GO_CURVES;

export function opensslCurves(list: readonly GoCurve[]): string | undefined {
  return list.length === 0 ? undefined : list.map((c) => GO_CURVES[c]).join(':');
}

/** TLS10..TLS13 → Node's minVersion/maxVersion. */
export const NODE_TLS_VERSION = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' } as const;
