// /probe request parameters with blackbox_exporter's semantics (main.go getTimeout, setHTTPHost).
import type { Module } from '../config/types';

// blackbox subtracts this from the scrape timeout so the answer reaches Prometheus in time.
const TIMEOUT_OFFSET = 0.5;
// blackbox's default when Prometheus sends no X-Prometheus-Scrape-Timeout-Seconds header.
const DEFAULT_SCRAPE_TIMEOUT = 120;

/** The probe timeout in seconds, or an error text for a malformed header. */
export function probeTimeout(module: Module, header: string | string[] | undefined): number | string {
  let scrape = DEFAULT_SCRAPE_TIMEOUT;
  const h = Array.isArray(header) ? header[0] : header;
  if (h !== undefined && h !== '') {
    scrape = Number(h);
    if (!Number.isFinite(scrape) || scrape <= 0) return `Failed to parse timeout from Prometheus header: ${JSON.stringify(h)}`;
  }
  const budget = Math.max(scrape - TIMEOUT_OFFSET, 0.001);
  return module.timeout > 0 && module.timeout < budget ? module.timeout : budget;
}
