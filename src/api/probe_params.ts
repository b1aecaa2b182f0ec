// /probe request parameters with blackbox_exporter's semantics (main.go getTimeout, setHTTPHost).
import type { Module } from '../config/types';

// blackbox's default when Prometheus sends no X-Prometheus-Scrape-Timeout-Seconds header.
const DEFAULT_SCRAPE_TIMEOUT = 120;

export interface TimeoutLimits {
  /** blackbox's --timeout-offset: subtracted so the answer reaches Prometheus in time */
  timeoutOffsetSeconds: number;
  /** the longest probe a client may ask for: a header of days holds nothing for days */
  maxTimeoutSeconds: number;
}

/**
 * The probe timeout in seconds, or an error text for a malformed header. As blackbox: the module's
 * timeout when shorter than the scrape timeout minus the offset, else that budget; then at most
 * the daemon's maximum. Parsed as a double: no width to overflow.
 */
export function probeTimeout(module: Module, header: string | string[] | undefined, limits: TimeoutLimits): number | string {
  let scrape = DEFAULT_SCRAPE_TIMEOUT;
  const h = Array.isArray(header) ? header[0] : header;
  if (h !== undefined && h !== '') {
    scrape = Number(h);
    if (!Number.isFinite(scrape) || scrape <= 0) return `Failed to parse timeout from Prometheus header: ${JSON.stringify(h)}`;
  }
  const budget = Math.max(scrape - limits.timeoutOffsetSeconds, 0.001);
  const t = module.timeout > 0 && module.timeout < budget ? module.timeout : budget;
  return Math.min(t, limits.maxTimeoutSeconds);
}
