// A throw-away PKI for TLS tests: one trusted CA, one untrusted CA, leaf certificates in every state
// a prober must tell apart, a client certificate, and stapleable OCSP responses for the valid leaf.
// ECDSA P-256 keeps generation fast (a few ms per key). Everything is written under `dir` as PEM so
// module configs can point ca_file/cert_file/key_file at it.
//
//   const pki = await makePKI(dir);
//   tls.createServer({ cert: pki.leaves.valid.cert, key: pki.leaves.valid.key }) ...
//   module.tls_config.ca_file = pki.ca.certPath;
//   server.on('OCSPRequest', (_c, _i, cb) => cb(null, pki.ocspResponse('revoked')));
import { webcrypto } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as x509 from '@peculiar/x509';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';

// Both libraries type their crypto as the DOM's Crypto, which this Node-only project does not load.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
pkijs.setEngine('node', new pkijs.CryptoEngine({ name: 'node', crypto: webcrypto as unknown as pkijs.ICryptoEngine['crypto'] }));

type CryptoKeyPair = webcrypto.CryptoKeyPair;

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const DAY = 86_400_000;

export interface KeyPairPEM {
  /** PEM certificate */
  cert: string;
  /** PEM PKCS#8 private key */
  key: string;
  certPath: string;
  keyPath: string;
  /** the certificate's notBefore/notAfter, unix seconds */
  notBefore: number;
  notAfter: number;
  serialNumber: string; // hex
}

export type LeafKind = 'valid' | 'expired' | 'notYetValid' | 'wrongHost' | 'untrusted';
export type OCSPStatus = 'good' | 'revoked' | 'unknown';

export interface PKI {
  dir: string;
  /** the CA tests trust (pass certPath as tls_config.ca_file) */
  ca: KeyPairPEM;
  /** a CA nobody trusts; signs leaves.untrusted */
  otherCA: KeyPairPEM;
  /**
   * Server leaves. All but wrongHost carry SANs localhost, 127.0.0.1 and ::1; wrongHost carries only
   * wrong.invalid. expired ended a day ago, notYetValid starts in a day.
   */
  leaves: Record<LeafKind, KeyPairPEM>;
  /** a client certificate (extendedKeyUsage clientAuth) signed by ca, for cert_file/key_file */
  client: KeyPairPEM;
  /** DER OCSPResponse for leaves.valid signed by ca; thisUpdate now-1h, nextUpdate now+1d */
  ocspResponse(status: OCSPStatus): Buffer;
  /** revocation time written into the 'revoked' response, unix seconds */
  revokedAt: number;
  ocspThisUpdate: number;
  ocspNextUpdate: number;
}

async function keyPEM(keys: CryptoKeyPair): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

function newKeys(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
}

interface Issued {
  pem: KeyPairPEM;
  cert: x509.X509Certificate;
  keys: CryptoKeyPair;
}

function save(dir: string, name: string, cert: x509.X509Certificate, key: string): KeyPairPEM {
  const certPath = path.join(dir, `${name}.pem`);
  const keyPath = path.join(dir, `${name}.key`);
  const pem = cert.toString('pem');
  writeFileSync(certPath, pem + '\n');
  writeFileSync(keyPath, key + '\n', { mode: 0o600 });
  return {
    cert: pem,
    key,
    certPath,
    keyPath,
    notBefore: Math.floor(cert.notBefore.getTime() / 1000),
    notAfter: Math.floor(cert.notAfter.getTime() / 1000),
    serialNumber: cert.serialNumber,
  };
}

async function makeCA(dir: string, name: string, cn: string, serial: string): Promise<Issued> {
  const keys = await newKeys();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial,
    name: `CN=${cn}, O=sonde tests`,
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 3650 * DAY),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { pem: save(dir, name, cert, await keyPEM(keys)), cert, keys };
}

interface LeafSpec {
  name: string;
  cn: string;
  serial: string;
  notBefore: Date;
  notAfter: Date;
  sans: x509.JsonGeneralNames;
  client?: boolean;
}

async function makeLeaf(dir: string, issuer: Issued, spec: LeafSpec): Promise<Issued> {
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: spec.serial,
    subject: `CN=${spec.cn}, O=sonde tests`,
    issuer: issuer.cert.subject,
    notBefore: spec.notBefore,
    notAfter: spec.notAfter,
    publicKey: keys.publicKey,
    signingKey: issuer.keys.privateKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([spec.client ? x509.ExtendedKeyUsage.clientAuth : x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(spec.sans),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(issuer.cert),
    ],
  });
  return { pem: save(dir, spec.name, cert, await keyPEM(keys)), cert, keys };
}

function pkijsCert(c: x509.X509Certificate): pkijs.Certificate {
  return pkijs.Certificate.fromBER(new Uint8Array(c.rawData));
}

/** Builds a signed RFC 6960 OCSPResponse (successful, id-pkix-ocsp-basic) for one certificate. */
async function buildOCSP(
  leaf: Issued,
  issuer: Issued,
  status: OCSPStatus,
  times: { thisUpdate: Date; nextUpdate: Date; revokedAt: Date },
): Promise<Buffer> {
  const issuerCert = pkijsCert(issuer.cert);
  const certID = new pkijs.CertID();
  await certID.createForCertificate(pkijsCert(leaf.cert), { hashAlgorithm: 'SHA-1', issuerCertificate: issuerCert });
  // CertStatus ::= CHOICE { good [0] IMPLICIT NULL, revoked [1] IMPLICIT RevokedInfo, unknown [2] IMPLICIT NULL }
  let certStatus: asn1js.BaseBlock;
  if (status === 'revoked') {
    certStatus = new asn1js.Constructed({
      idBlock: { tagClass: 3, tagNumber: 1 },
      value: [new asn1js.GeneralizedTime({ valueDate: times.revokedAt })],
    });
  } else {
    certStatus = new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: status === 'good' ? 0 : 2 } });
  }
  const single = new pkijs.SingleResponse({ certID, certStatus, thisUpdate: times.thisUpdate, nextUpdate: times.nextUpdate });
  const basic = new pkijs.BasicOCSPResponse();
  basic.tbsResponseData.responderID = issuerCert.subject;
  basic.tbsResponseData.producedAt = new Date();
  basic.tbsResponseData.responses.push(single);
  await basic.sign(issuer.keys.privateKey, 'SHA-256');
  const resp = new pkijs.OCSPResponse();
  resp.responseStatus.valueBlock.valueDec = 0; // successful
  resp.responseBytes = new pkijs.ResponseBytes({
    responseType: '1.3.6.1.5.5.7.48.1.1',
    response: new asn1js.OctetString({ valueHex: basic.toSchema().toBER(false) }),
  });
  return Buffer.from(resp.toSchema().toBER(false));
}

const LOCAL_SANS: x509.JsonGeneralNames = [
  { type: 'dns', value: 'localhost' },
  { type: 'ip', value: '127.0.0.1' },
  { type: 'ip', value: '::1' },
];

/** Creates a fresh PKI under `dir` (created if missing). Takes well under a second. */
export async function makePKI(dir: string): Promise<PKI> {
  mkdirSync(dir, { recursive: true });
  const now = Date.now();
  const ca = await makeCA(dir, 'ca', 'sonde test CA', '01');
  const otherCA = await makeCA(dir, 'other-ca', 'sonde untrusted CA', '02');
  const ok = { notBefore: new Date(now - DAY), notAfter: new Date(now + 90 * DAY) };
  const valid = await makeLeaf(dir, ca, { name: 'leaf-valid', cn: 'localhost', serial: '1001', sans: LOCAL_SANS, ...ok });
  const expired = await makeLeaf(dir, ca, {
    name: 'leaf-expired',
    cn: 'localhost',
    serial: '1002',
    sans: LOCAL_SANS,
    notBefore: new Date(now - 30 * DAY),
    notAfter: new Date(now - DAY),
  });
  const notYetValid = await makeLeaf(dir, ca, {
    name: 'leaf-not-yet-valid',
    cn: 'localhost',
    serial: '1003',
    sans: LOCAL_SANS,
    notBefore: new Date(now + DAY),
    notAfter: new Date(now + 30 * DAY),
  });
  const wrongHost = await makeLeaf(dir, ca, {
    name: 'leaf-wrong-host',
    cn: 'wrong.invalid',
    serial: '1004',
    sans: [{ type: 'dns', value: 'wrong.invalid' }],
    ...ok,
  });
  const untrusted = await makeLeaf(dir, otherCA, { name: 'leaf-untrusted', cn: 'localhost', serial: '1005', sans: LOCAL_SANS, ...ok });
  const client = await makeLeaf(dir, ca, {
    name: 'client',
    cn: 'sonde test client',
    serial: '1006',
    sans: [{ type: 'dns', value: 'client.invalid' }],
    client: true,
    ...ok,
  });
  // Whole seconds: OCSP times are GeneralizedTime without fractions, so tests can compare exactly.
  const sec = (ms: number) => new Date(Math.floor(ms / 1000) * 1000);
  const times = { thisUpdate: sec(now - 3_600_000), nextUpdate: sec(now + DAY), revokedAt: sec(now - 7_200_000) };
  const responses: Record<OCSPStatus, Buffer> = {
    good: await buildOCSP(valid, ca, 'good', times),
    revoked: await buildOCSP(valid, ca, 'revoked', times),
    unknown: await buildOCSP(valid, ca, 'unknown', times),
  };
  return {
    dir,
    ca: ca.pem,
    otherCA: otherCA.pem,
    leaves: { valid: valid.pem, expired: expired.pem, notYetValid: notYetValid.pem, wrongHost: wrongHost.pem, untrusted: untrusted.pem },
    client: client.pem,
    ocspResponse: (status) => responses[status],
    revokedAt: times.revokedAt.getTime() / 1000,
    ocspThisUpdate: times.thisUpdate.getTime() / 1000,
    ocspNextUpdate: times.nextUpdate.getTime() / 1000,
  };
}
