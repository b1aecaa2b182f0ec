// HTTP probes to a host inside a lab namespace (198.18.77.0/24) whose firewall silently drops
// SYNs: the probe must end at its deadline with connect_timeout, not hang or throw.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { Lab } from '../lab/netns';
import { isRoot, privilegedTest } from '../lab/privileged';
import { httpModule, metric, probe, render } from './http_lab';

let lab: Lab | undefined;

before(() => {
  if (!isRoot()) return;
  lab = new Lab('sdhttp');
  lab.addNs('srv');
  lab.link({ ns: null, ifname: 'sdhttp0', addrs: ['198.18.77.1/24'] }, { ns: 'srv', ifname: 'sdhttp1', addrs: ['198.18.77.2/24'] });
  // Drop (not reject) so the SYN goes unanswered, as behind a black-holing firewall.
  lab.nft('srv', 'table inet sdhttp { chain input { type filter hook input priority 0; tcp dport 8080 drop; }; }');
});
after(() => lab?.close());

privilegedTest('a silently dropped SYN ends in connect_timeout at the deadline', async () => {
  const m = httpModule({}, 0.6);
  const t0 = Date.now();
  const r = await probe('http://198.18.77.2:8080/', m);
  const took = Date.now() - t0;
  assert.equal(r.success, false);
  assert.equal(r.reason, 'connect_timeout', r.message);
  assert.ok(took >= 550 && took < 1500, `took ${took} ms`);
  const text = await render(r, m);
  assert.equal(metric(text, 'probe_http_status_code'), 0);
  assert.equal(metric(text, 'probe_success'), 0);
});

privilegedTest('a closed port in the namespace is refused at once', async () => {
  const r = await probe('http://198.18.77.2:8081/', httpModule({}, 2));
  assert.equal(r.reason, 'refused', r.message);
  assert.ok(r.durationSeconds < 0.5);
});
