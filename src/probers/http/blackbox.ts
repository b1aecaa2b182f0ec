// blackbox_exporter 0.23's /probe series for the http prober (names, labels and help strings as
// its prober/http.go registers them). Series are written for failed probes too, with zeros, as
// blackbox pre-registers them.
import type { ProbeRegistry as Registry } from '../../outputs/blackbox/registry';
import type { Module } from '../../config/types';
import type { ProbeResult } from '../../result';
import { gauge, writeResolve } from '../../outputs/blackbox/common';
import { HTTP_TLS, writeTLS } from '../../outputs/blackbox/tls';
import { hasCELRules } from './rules';

const PHASES = ['resolve', 'connect', 'tls', 'processing', 'transfer'];

export function writeHTTP(result: ProbeResult, module: Module, reg: Registry): void {
  writeResolve(result, reg);
  const http = result.http;
  const phases = reg.gauge('probe_http_duration_seconds', 'Duration of http request by phase, summed over all redirects', ['phase']);
  // A probe that ended in its lookup has only the resolve phase, as blackbox adds the others per hop.
  for (const phase of http ? PHASES : ['resolve']) phases.set({ phase }, result.phases[phase] ?? 0);
  gauge(reg, 'probe_http_content_length', 'Length of http content response', http?.contentLength ?? 0);
  gauge(reg, 'probe_http_uncompressed_body_length', 'Length of uncompressed response body', http?.uncompressedBodyLength ?? 0);
  gauge(reg, 'probe_http_redirects', 'The number of redirects', http?.redirects ?? 0);
  gauge(reg, 'probe_http_ssl', 'Indicates if SSL was used for the final redirect', http?.ssl ? 1 : 0);
  gauge(reg, 'probe_http_status_code', 'Response HTTP status code', http?.statusCode ?? 0);
  gauge(reg, 'probe_http_version', 'Returns the version of HTTP of the probe response', http?.version ?? 0);
  gauge(reg, 'probe_failed_due_to_regex', 'Indicates if probe failed due to regex', http?.failedDueToRegex ? 1 : 0);
  // blackbox registers it only for a module with a CEL rule.
  if (hasCELRules(module.http)) gauge(reg, 'probe_failed_due_to_cel', 'Indicates if probe failed due to CEL expression not matching', http?.failedDueToCEL ? 1 : 0);
  if (http?.lastModified !== undefined) {
    gauge(reg, 'probe_http_last_modified_timestamp_seconds', 'Returns the Last-Modified HTTP response header in unixtime', http.lastModified);
  }
  if (result.tls && http?.ssl) writeTLS(result.tls, reg, HTTP_TLS);
}
