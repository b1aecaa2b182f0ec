// The config used when no file is given: the daemon probes itself, so a fresh install shows live
// series at once. Written as YAML and run through the same loader as any file, so it obeys the
// same rules and stays an example of the format.
import type { Config } from './types';
import { loadConfigString } from './load';

export const BUILTIN_SOURCE = '<built-in>';

/** Where to reach a listener bound to `listen`: wildcard binds are reached over loopback. */
function reachable(listen: string): string {
  const m = /^(?:\[([^\]]*)\]|([^:]*)):(\d+)$/.exec(listen);
  if (!m) return listen; // left as is: the tcp target check reports it
  const host = m[1] ?? m[2];
  if (m[1] !== undefined) return `[${host === '::' || host === '' ? '::1' : host}]:${m[3]}`;
  return `${host === '' || host === '0.0.0.0' ? '127.0.0.1' : host}:${m[3]}`;
}

/** The built-in config: http_2xx on http://<listen>/-/healthy, tcp_connect to <listen>, icmp to 127.0.0.1; /probe to loopback only. */
export function builtinConfig(listenAddress: string): Config {
  const addr = reachable(listenAddress);
  // JSON strings are valid YAML flow scalars, which keeps odd addresses from breaking the YAML.
  const yaml = `
modules:
  http_2xx:
    prober: http
  tcp_connect:
    prober: tcp
  icmp:
    prober: icmp
# Without a config file nobody chose where /probe may go: a daemon listening on every interface
# would probe anything for anyone who reaches it. So the built-in config lets /probe reach this
# host's loopback addresses only; a config file says what else (README: "/probe target policy").
probe_policy:
  allow:
    cidrs: [127.0.0.0/8, "::1/128"]
tasks:
  - name: sonde_self_http
    module: http_2xx
    targets: [${JSON.stringify(`http://${addr}/-/healthy`)}]
    interval: 5s
  - name: sonde_self_tcp
    module: tcp_connect
    targets: [${JSON.stringify(addr)}]
    interval: 5s
  - name: sonde_self_icmp
    module: icmp
    targets: ["127.0.0.1"]
    interval: 5s
`;
  return loadConfigString(yaml, BUILTIN_SOURCE);
}
