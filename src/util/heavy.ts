// Packages that cost megabytes of resident memory each and that the default daemon never uses:
// each is loaded at its first use, so an idle daemon does not pay for probers it does not run
// (issue 11: idle RSS at most 60 MB; undici alone is ~20 MB, grpc-js ~12 MB, CEL ~14 MB). Node's
// own TLS modules too: the built-in config probes plain HTTP, TCP and ICMP only, and node:tls
// (+0.8 MB once node:crypto is in) and node:https (+0.45 MB over node:http) are needed by a TLS
// probe or listener alone.
// Code that needs one calls the getter where it uses it and imports only its types statically.
// test/util/heavy.test.ts checks that the daemon's start loads none of them.

/** A value made on the first call and returned by every later one. */
export function lazy<T>(load: () => T): () => T {
  let value: T | undefined;
  let loaded = false;
  return () => {
    if (!loaded) {
      value = load();
      loaded = true;
    }
    return value as T;
  };
}

/* eslint-disable @typescript-eslint/no-require-imports -- a require at first use is the point of this file */
export const undici = lazy(() => require('undici') as typeof import('undici'));
export const grpc = lazy(() => require('@grpc/grpc-js') as typeof import('@grpc/grpc-js'));
export const cel = lazy(() => require('@bufbuild/cel') as typeof import('@bufbuild/cel'));
export const ws = lazy(() => require('ws') as typeof import('ws'));
export const pkijs = lazy(() => require('pkijs') as typeof import('pkijs'));
export const asn1js = lazy(() => require('asn1js') as typeof import('asn1js'));
export const bcrypt = lazy(() => require('bcryptjs') as typeof import('bcryptjs'));
export const nodeTLS = lazy(() => require('node:tls') as typeof import('node:tls'));
export const nodeHTTPS = lazy(() => require('node:https') as typeof import('node:https'));
/* eslint-enable @typescript-eslint/no-require-imports */

/** The packages above by the name a require of them resolves (the test's list). */
export const HEAVY_PACKAGES = ['undici', '@grpc/grpc-js', '@bufbuild/cel', 'ws', 'pkijs', 'asn1js', 'bcryptjs'] as const;
/** The built-in modules above by their name in process.moduleLoadList ("NativeModule tls"). */
export const HEAVY_BUILTINS = ['tls', 'https'] as const;
