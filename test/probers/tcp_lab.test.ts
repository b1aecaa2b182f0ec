// Connect timeouts need a peer that swallows SYNs, which loopback never does: a lab namespace
// whose nftables input chain drops them (IPv4 198.19.207.0/30, IPv6 fd5e:ed00:cf::/64).
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { probeTCP } from '../../src/probers/tcp/probe';
import { Lab } from '../lab/netns';
import { isRoot, privilegedTest } from '../lab/privileged';
import { metric, probeContext, probeText, tcpModule } from './tcp_helpers';

let lab: Lab | undefined;

before(() => {
  if (!isRoot()) return;
  lab = new Lab('sdtcp');
  lab.addNs('srv');
  lab.link(
    { ns: null, ifname: 'sdtcp0', addrs: ['198.19.207.1/30', 'fd5e:ed00:cf::1/64'] },
    { ns: 'srv', ifname: 'sdtcp1', addrs: ['198.19.207.2/30', 'fd5e:ed00:cf::2/64'] },
  );
  lab.nft('srv', 'table inet sdtcp { chain input { type filter hook input priority 0; policy accept; tcp dport 9 drop; }; }');
});

after(() => lab?.close());

for (const target of ['198.19.207.2:9', '[fd5e:ed00:cf::2]:9']) {
  privilegedTest(`a SYN that is dropped (${target}) ends as connect_timeout at the deadline`, async () => {
    const mod = tcpModule({}, 0.5);
    const started = Date.now();
    const r = await probeTCP(target, mod, probeContext(0.5));
    const took = (Date.now() - started) / 1000;
    assert.equal(r.success, false);
    assert.equal(r.reason, 'connect_timeout', r.message);
    assert.ok(took >= 0.45 && took < 1.5, `returned after ${took} s`);
    const text = await probeText(r, mod);
    assert.equal(metric(text, 'probe_success'), 0);
    assert.equal(metric(text, 'probe_failed_due_to_regex'), 0);
    assert.equal(metric(text, 'sonde_probe_failure_reason', { reason: 'connect_timeout' }), 1);
  });
}
