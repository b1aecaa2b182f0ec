// The bytes of an HTTP/1.1 request: sonde's one writer of them. The fast path sends them on the
// native stream engine, and they are what undici writes for the same request (the field order of
// lib/dispatcher/client-h1.js writeH1, with connection: close; exchange.ts asks undici for it), so
// a target sees the same request whichever transport carries the probe.

/** Methods whose request carries a Content-Length even without a body (undici; Go sends Content-Length: 0 too). */
const PAYLOAD_METHODS: ReadonlySet<string> = new Set(['PUT', 'POST', 'PATCH', 'QUERY', 'PROPFIND', 'PROPPATCH']);

/** Fields the writer sets itself: a header of one of these names in `headers` is not sent again. */
const OWN_FIELDS: ReadonlySet<string> = new Set(['host', 'connection', 'content-length']);

const LINE_BREAK = /[\r\n\0]/;

/**
 * Request line, host, "connection: close" (the server closes first, so TIME_WAIT lands on its
 * side, not on the probing host), the fields in their order with their names as given (sonde
 * passes lower case), then content-length, then the body. A CR, LF or NUL in a name or value
 * would split the request: RangeError.
 */
export function requestBytes(method: string, pathAndQuery: string, host: string, headers: Readonly<Record<string, string>> = {}, body?: Buffer): Buffer {
  if (LINE_BREAK.test(host) || LINE_BREAK.test(pathAndQuery)) throw new RangeError('host or path contains CR, LF or NUL');
  let text = `${method} ${pathAndQuery} HTTP/1.1\r\nhost: ${host}\r\nconnection: close\r\n`;
  for (const name in headers) {
    if (OWN_FIELDS.has(name.toLowerCase())) continue;
    const value = headers[name];
    if (LINE_BREAK.test(name) || LINE_BREAK.test(value)) throw new RangeError(`header ${name} contains CR, LF or NUL`);
    text += `${name}: ${value}\r\n`;
  }
  const length = body?.length ?? 0;
  if (length > 0 || PAYLOAD_METHODS.has(method)) text += `content-length: ${length}\r\n`;
  const head = Buffer.from(`${text}\r\n`, 'latin1');
  return length > 0 && body ? Buffer.concat([head, body]) : head;
}
