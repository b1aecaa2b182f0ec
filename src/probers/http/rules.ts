// The checks blackbox's ProbeHTTP applies to the final response, in its order: status code, body
// regular expressions (matched off the JS thread, body_match.ts), header regular expressions, HTTP
// version, then fail_if_ssl/fail_if_not_ssl.
import type { IncomingHttpHeaders } from 'node:http';
import type { HTTPModule } from '../../config/types';
import { ProbeFailure } from '../errors';
import { regexText } from '../../config/regex';

export interface FinalResponse {
  statusCode: number;
  headers: IncomingHttpHeaders;
  /** "1.1" */
  httpVersion: string;
  ssl: boolean;
}

/** The body rules' verdict (src/probers/http/body_match.ts), judged before the header rules. */
export interface BodyVerdict {
  failure?: ProbeFailure;
  dueToRegex: boolean;
  /** a CEL rule failed (blackbox's probe_failed_due_to_cel) */
  dueToCEL?: boolean;
}

export function statusOK(h: HTTPModule, code: number): boolean {
  if (h.valid_status_codes.length > 0) return h.valid_status_codes.includes(code);
  return code >= 200 && code < 300;
}

export function hasHeaderRules(h: HTTPModule): boolean {
  return h.fail_if_header_matches.length > 0 || h.fail_if_header_not_matches.length > 0;
}

export function hasCELRules(h: HTTPModule): boolean {
  return h.fail_if_body_json_matches_cel !== undefined || h.fail_if_body_json_not_matches_cel !== undefined;
}

/** Rules that read the body: then the exchange keeps body_rules_window bytes of it. */
export function hasBodyRules(h: HTTPModule): boolean {
  return h.fail_if_body_matches_regexp.length > 0 || h.fail_if_body_not_matches_regexp.length > 0 || hasCELRules(h);
}

function values(headers: IncomingHttpHeaders, name: string): string[] {
  const key = name.toLowerCase();
  // Own fields only: a rule for "constructor" must not find Object's.
  const v = Object.hasOwn(headers, key) ? headers[key] : undefined;
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

function headerRule(h: HTTPModule, headers: IncomingHttpHeaders): ProbeFailure | undefined {
  for (const spec of h.fail_if_header_matches) {
    const vals = values(headers, spec.header);
    if (vals.length === 0 && !spec.allow_missing) return new ProbeFailure('regex_header', `missing required header ${spec.header}`);
    for (const v of vals) {
      spec.regexp.lastIndex = 0;
      if (spec.regexp.test(v)) return new ProbeFailure('regex_header', `header ${spec.header} matched regular expression ${regexText(spec.regexp)}`);
    }
  }
  for (const spec of h.fail_if_header_not_matches) {
    const vals = values(headers, spec.header);
    if (vals.length === 0) {
      if (!spec.allow_missing) return new ProbeFailure('regex_header', `missing required header ${spec.header}`);
      continue;
    }
    const any = vals.some((v) => {
      spec.regexp.lastIndex = 0;
      return spec.regexp.test(v);
    });
    if (!any) return new ProbeFailure('regex_header', `header ${spec.header} did not match regular expression ${regexText(spec.regexp)}`);
  }
  return undefined;
}

/** The first rule the response breaks (with whether it was a regex rule), or nothing. */
export function checkResponse(h: HTTPModule, r: FinalResponse, body?: BodyVerdict): { failure?: ProbeFailure; dueToRegex: boolean } {
  if (!statusOK(h, r.statusCode)) {
    return { failure: new ProbeFailure('http_status', `invalid HTTP response status code ${r.statusCode}`), dueToRegex: false };
  }
  if (body?.failure) return body;
  const hf = headerRule(h, r.headers);
  if (hf) return { failure: hf, dueToRegex: true };
  const proto = `HTTP/${r.httpVersion}`;
  if (h.valid_http_versions.length > 0 && !h.valid_http_versions.includes(proto)) {
    return { failure: new ProbeFailure('http_version', `invalid HTTP version ${proto}`), dueToRegex: false };
  }
  if (r.ssl && h.fail_if_ssl) return { failure: new ProbeFailure('ssl_forbidden', 'final response was over TLS and fail_if_ssl is set'), dueToRegex: false };
  if (!r.ssl && h.fail_if_not_ssl) {
    return { failure: new ProbeFailure('ssl_required', 'final response was not over TLS and fail_if_not_ssl is set'), dueToRegex: false };
  }
  return { dueToRegex: false };
}
