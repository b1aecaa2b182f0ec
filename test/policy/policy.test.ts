// probe_policy: each rule refuses what it should and lets through what it should, names through
// their resolution (a module's dns_resolver on loopback answers ok.test with 192.0.2.53/.54, so no
// query reaches the machine's resolver and no packet goes to the refused addresses).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ConfigError, loadConfigString } from '../../src/config/load';
import { ProbeDenied, TargetPolicy } from '../../src/policy/check';
import { startResponder, type Responder } from '../probers/dns_responder';
import { testRuntime } from '../runtime';

let srv: Responder;
before(async () => {
  srv = await startResponder();
});
after(() => srv.close());

function setup(policy: string) {
  const cfg = loadConfigString(
    `modules:
  tcp: { prober: tcp, tcp: { preferred_ip_protocol: ip4, ip_protocol_fallback: false, dns_resolver: { server: '127.0.0.1:${srv.port}' } } }
  http: { prober: http, http: { preferred_ip_protocol: ip4, ip_protocol_fallback: false, dns_resolver: { server: '127.0.0.1:${srv.port}' } } }
  icmp: { prober: icmp }
probe_policy:
${policy}`,
    'p.yml',
  );
  const policyOf = new TargetPolicy(cfg.probe_policy!);
  return async (target: string, module: string): Promise<string> => {
    try {
      await policyOf.check(target, cfg.modules.get(module)!, testRuntime, AbortSignal.timeout(10_000));
      return 'allowed';
    } catch (err) {
      if (err instanceof ProbeDenied) return `${err.reason}: ${err.message}`;
      throw err;
    }
  };
}

const CASES: Array<{ what: string; policy: string; target: string; module: string; want: string }> = [
  { what: 'a name resolving into a denied network', policy: '  deny: { cidrs: [192.0.2.0/24] }\n', target: 'ok.test:80', module: 'tcp', want: 'address_denied: ok.test resolves to 192.0.2.53, which is in a denied network' },
  { what: 'an address in a denied network', policy: '  deny: { cidrs: [169.254.0.0/16] }\n', target: 'http://169.254.169.254/latest/', module: 'http', want: 'address_denied: 169.254.169.254 is in a denied network' },
  { what: 'an IPv4-mapped IPv6 address is its IPv4 address', policy: '  deny: { cidrs: [127.0.0.0/8] }\n', target: '[::ffff:127.0.0.1]:22', module: 'tcp', want: 'address_denied: ::ffff:127.0.0.1 is in a denied network' },
  { what: 'a denied host pattern', policy: '  deny: { hosts: ["*.test"] }\n', target: 'ok.test:80', module: 'tcp', want: 'host_denied: host ok.test matches denied host pattern *.test' },
  { what: 'a denied port (the http default)', policy: '  deny: { ports: [80] }\n', target: 'http://127.0.0.1/', module: 'http', want: 'port_denied: port 80 is denied' },
  { what: 'a port outside the allowed ranges', policy: '  allow: { ports: [443, "8000-8999"] }\n', target: '127.0.0.1:22', module: 'tcp', want: 'port_not_allowed: port 22 is not in the allowed ports' },
  { what: 'a port inside an allowed range', policy: '  allow: { ports: [443, "8000-8999"] }\n', target: '127.0.0.1:8080', module: 'tcp', want: 'allowed' },
  { what: 'an allowed network', policy: '  allow: { cidrs: [127.0.0.0/8] }\n', target: '127.0.0.1:22', module: 'tcp', want: 'allowed' },
  { what: 'a name resolving outside the allowed networks', policy: '  allow: { cidrs: [127.0.0.0/8] }\n', target: 'ok.test:80', module: 'tcp', want: 'not_allowed: ok.test (192.0.2.53) is not in the allowed hosts or networks' },
  { what: 'an allowed host pattern admits the name', policy: '  allow: { hosts: ["*.test"] }\n', target: 'ok.test:80', module: 'tcp', want: 'allowed' },
  { what: 'deny wins over allow', policy: '  allow: { hosts: ["*.test"] }\n  deny: { cidrs: [192.0.2.53/32] }\n', target: 'ok.test:80', module: 'tcp', want: 'address_denied: ok.test resolves to 192.0.2.53, which is in a denied network' },
  { what: 'a name that does not resolve', policy: '  deny: { cidrs: [10.0.0.0/8] }\n', target: 'nx.test:80', module: 'tcp', want: 'unresolved: nx.test does not resolve, so its addresses cannot be checked' },
  { what: 'ICMP has no port: port rules do not apply', policy: '  allow: { ports: [443], cidrs: [127.0.0.0/8] }\n', target: '127.0.0.1', module: 'icmp', want: 'allowed' },
  { what: 'an unparsable target', policy: '  allow: { cidrs: [127.0.0.0/8] }\n', target: '127.0.0.1', module: 'tcp', want: 'unparsable: cannot tell where 127.0.0.1 goes: target 127.0.0.1: missing port in address (want HOST:PORT)' },
];

for (const c of CASES) {
  test(`probe_policy: ${c.what}`, async () => {
    assert.equal(await setup(c.policy)(c.target, c.module), c.want);
  });
}

const INVALID: Array<[string, string]> = [
  ['  allow: { cidrs: [10.0.0.0/33] }\n', 'probe_policy.allow.cidrs[0]: got "10.0.0.0/33", expected a prefix length from 0 to 32'],
  ['  allow: { cidrs: [example.test/8] }\n', 'probe_policy.allow.cidrs[0]: got "example.test/8", expected a CIDR such as 10.0.0.0/8 or fd00::/8'],
  ['  deny: { hosts: ["exa*mple.test"] }\n', 'probe_policy.deny.hosts[0]: got "exa*mple.test", expected a host name, "*.domain" (any name below it) or "*"'],
  ['  deny: { ports: ["90-80"] }\n', 'probe_policy.deny.ports[0]: got "90-80", expected a port range FROM-TO within 1-65535, FROM <= TO'],
  ['  deny: { ports: [0] }\n', 'probe_policy.deny.ports[0]: got 0, expected an integer from 1 to 65535'],
  ['  allow: { networks: [] }\n', 'probe_policy.allow.networks: unknown key (expected one of: cidrs, hosts, ports)'],
  ['  permit: {}\n', 'probe_policy.permit: unknown key (expected one of: allow, deny)'],
];

for (const [policy, message] of INVALID) {
  test(`probe_policy refused at load: ${message.split(':')[0]}`, () => {
    assert.throws(() => loadConfigString(`probe_policy:\n${policy}`, 'p.yml'), (err: unknown) => err instanceof ConfigError && err.message.includes(message));
  });
}
