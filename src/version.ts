// The version printed by `sonde --version` and exported as sonde_build_info.
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const VERSION: string = (require('../../package.json') as { version: string }).version;

/**
 * The User-Agent of HTTP, websocket and OAuth 2.0 requests when the module sets none: blackbox
 * 0.28's form (prober/http.go: "Blackbox-Exporter/<version>"), so servers, logs and WAF rules that
 * know blackbox's probes recognise these; the version is blackbox's whose behaviour sonde follows.
 */
export const USER_AGENT = 'Blackbox-Exporter/0.28.0';
