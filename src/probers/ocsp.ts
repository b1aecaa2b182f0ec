// Reads a stapled OCSP response (RFC 6066 status_request; RFC 6960 OCSPResponse) for one
// certificate. The prober asks for the staple with tls.connect({ requestOCSP: true }) and gets the
// raw DER in the socket's 'OCSPResponse' event; this file only decodes it.
//
// The response's signature is not verified: the staple comes from the server being probed, which
// gains nothing by stapling a forged "revoked", and a forged "good" is out of scope for monitoring.
import type * as Asn1js from 'asn1js';
import type * as Pkijs from 'pkijs';
import { asn1js, pkijs } from '../util/heavy';
import type { TLSFacts } from '../result';

export type OCSPFacts = NonNullable<TLSFacts['ocsp']>;

const ID_PKIX_OCSP_BASIC = '1.3.6.1.5.5.7.48.1.1';

export class OCSPParseError extends Error {
  override readonly name = 'OCSPParseError';
}

function normalSerial(hex: string): string {
  return hex.toLowerCase().replace(/^0+(?=.)/, '');
}

function unixSeconds(d: Date | undefined): number | undefined {
  return d ? Math.floor(d.getTime() / 1000) : undefined;
}

/**
 * Status of the certificate with serial `serialHex` (as X509Certificate.serialNumber gives it) in
 * a DER OCSPResponse. A response that does not mention the serial says 'unknown'.
 * Throws OCSPParseError on a malformed or unsuccessful response.
 */
export function parseOCSPResponse(der: Buffer, serialHex: string): OCSPFacts {
  let resp: Pkijs.OCSPResponse;
  try {
    resp = pkijs().OCSPResponse.fromBER(new Uint8Array(der));
  } catch (err) {
    throw new OCSPParseError(`malformed OCSPResponse: ${(err as Error).message}`);
  }
  const status = resp.responseStatus.valueBlock.valueDec;
  if (status !== 0) throw new OCSPParseError(`OCSP responseStatus ${status} (not successful)`);
  if (!resp.responseBytes || resp.responseBytes.responseType !== ID_PKIX_OCSP_BASIC) {
    throw new OCSPParseError('OCSP response is not id-pkix-ocsp-basic');
  }
  let basic: Pkijs.BasicOCSPResponse;
  try {
    basic = pkijs().BasicOCSPResponse.fromBER(resp.responseBytes.response.valueBlock.valueHexView);
  } catch (err) {
    throw new OCSPParseError(`malformed BasicOCSPResponse: ${(err as Error).message}`);
  }
  const want = normalSerial(serialHex);
  for (const single of basic.tbsResponseData.responses) {
    const serial = Buffer.from(single.certID.serialNumber.valueBlock.valueHexView).toString('hex');
    if (normalSerial(serial) !== want) continue;
    const times = { thisUpdate: unixSeconds(single.thisUpdate), nextUpdate: unixSeconds(single.nextUpdate) };
    // CertStatus ::= CHOICE { good [0], revoked [1] RevokedInfo, unknown [2] }
    const cs = single.certStatus as Asn1js.BaseBlock;
    switch (cs.idBlock.tagNumber) {
      case 0:
        return { status: 'good', ...times };
      case 1: {
        const inner = (cs as Asn1js.Constructed).valueBlock.value?.[0];
        const revokedAt = inner instanceof asn1js().GeneralizedTime ? unixSeconds(inner.toDate()) : undefined;
        return { status: 'revoked', ...times, revokedAt };
      }
      default:
        return { status: 'unknown', ...times };
    }
  }
  return { status: 'unknown' };
}
