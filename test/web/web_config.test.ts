// The web config decoded as exporter-toolkit decodes it: strict keys, the toolkit's defaults and
// its checks, one case per refusal with the exact message.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseWebConfig, WebConfigError } from '../../src/web/config';

const HASH = '$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi';

test('a full web config decodes with the toolkit defaults, file names from its folder', () => {
  const c = parseWebConfig(
    `tls_server_config:
  cert_file: tls/server.crt
  key_file: /etc/sonde/server.key
  client_ca_file: ca.crt
  client_auth_type: VerifyClientCertIfGiven
  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]
  curve_preferences: [X25519, CurveP256]
http_server_config:
  http2: false
  headers:
    Strict-Transport-Security: max-age=31536000
rate_limit:
  burst: 10
  interval: 1s
basic_auth_users:
  prom: ${JSON.stringify(HASH)}
`,
    '/etc/sonde/web.yml',
  );
  assert.equal(c.tls?.cert_file, '/etc/sonde/tls/server.crt');
  assert.equal(c.tls?.key_file, '/etc/sonde/server.key');
  assert.equal(c.tls?.client_ca_file, '/etc/sonde/ca.crt');
  assert.equal(c.tls?.min_version, 'TLS12');
  assert.equal(c.tls?.max_version, 'TLS13');
  assert.deepEqual(c.http, { http2: false, headers: { 'Strict-Transport-Security': 'max-age=31536000' } });
  assert.deepEqual(c.rate_limit, { burst: 10, interval: 1 });
  assert.equal(c.users.get('prom'), HASH);
});

test('an empty web config is plain HTTP without auth', () => {
  const c = parseWebConfig('', 'web.yml');
  assert.equal(c.tls, null);
  assert.equal(c.users.size, 0);
});

const INVALID: Array<{ what: string; yaml: string; message: string }> = [
  { what: 'an unknown top-level key', yaml: 'tls_config: {}\n', message: 'web.yml:1:1: tls_config: unknown key (expected one of: tls_server_config, http_server_config, rate_limit, basic_auth_users)' },
  { what: 'an unknown TLS key', yaml: 'tls_server_config:\n  certfile: a\n', message: 'web.yml:2:3: tls_server_config.certfile: unknown key (expected one of: cert, key, client_ca, cert_file, key_file, client_ca_file, client_auth_type, cipher_suites, curve_preferences, min_version, max_version, prefer_server_cipher_suites, client_allowed_sans)' },
  { what: 'a certificate without its key', yaml: 'tls_server_config:\n  cert_file: a.crt\n', message: 'web.yml:2:3: tls_server_config.key_file: missing one of key or key_file' },
  { what: 'client CAs without a client auth policy', yaml: 'tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_file: c\n', message: "web.yml:2:3: tls_server_config.client_auth_type: client CA's have been configured without a Client Auth Policy" },
  { what: 'an unknown client auth type', yaml: 'tls_server_config:\n  client_auth_type: Always\n', message: 'web.yml:2:21: tls_server_config.client_auth_type: got "Always", expected one of: NoClientCert, RequestClientCert, RequireAnyClientCert, RequireClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert' },
  { what: 'an unknown cipher', yaml: 'tls_server_config:\n  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]\n', message: 'web.yml:2:19: tls_server_config.cipher_suites[0]: got "TLS_RSA_WITH_RC4_128_SHA", expected one of: ' },
  { what: 'an unknown TLS version', yaml: 'tls_server_config:\n  min_version: TLS14\n', message: 'web.yml:2:16: tls_server_config.min_version: got "TLS14", expected one of: TLS10, TLS11, TLS12, TLS13' },
  { what: 'min above max', yaml: 'tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS13\n  max_version: TLS12\n', message: 'web.yml:5:16: tls_server_config.max_version: got "TLS12", expected a version not below min_version TLS13' },
  { what: 'a header the toolkit does not allow', yaml: 'http_server_config:\n  headers:\n    Server: sonde\n', message: 'web.yml:3:5: http_server_config.headers.Server: HTTP header "Server" can not be configured' },
  { what: 'a header value the toolkit does not allow', yaml: 'http_server_config:\n  headers:\n    X-Frame-Options: allow\n', message: 'web.yml:3:22: http_server_config.headers.X-Frame-Options: got "allow", expected one of: deny, sameorigin' },
  { what: 'a password in clear', yaml: 'basic_auth_users:\n  prom: secret\n', message: 'web.yml:2:9: basic_auth_users.prom: got "secret", expected a bcrypt hash' },
  { what: 'a bcrypt cost over 31', yaml: `basic_auth_users:\n  prom: "${HASH.replace('$10$', '$32$')}"\n`, message: 'basic_auth_users.prom: got "$2y$32$' },
];

for (const c of INVALID) {
  test(`refused: ${c.what}`, () => {
    assert.throws(
      () => parseWebConfig(c.yaml, 'web.yml'),
      (err: unknown) => {
        assert.ok(err instanceof WebConfigError);
        assert.ok(err.message.includes(c.message), `${err.message}\n  does not include\n${c.message}`);
        return true;
      },
    );
  });
}
