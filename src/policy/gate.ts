// The probe_policy inside a /probe probe: the target's name is answered with the addresses the
// policy checked before the probe (pinned, so a DNS server that answers the prober otherwise than
// the check cannot rebind it), and every other name or hop the probe reaches on its own (an HTTP
// redirect) is checked before it connects. A refusal there fails the probe (policy_denied) and is
// counted as the check's refusals are.
import { isIP } from 'node:net';
import { ProbeFailure } from '../probers/errors';
import { canonicalName } from '../probers/hosts_file';
import type { ProbeGate } from '../probers/types';
import { ProbeDenied, type Checked, type TargetPolicy } from './check';

export class PolicyGate implements ProbeGate {
  private readonly name: string | undefined;

  constructor(
    private readonly policy: TargetPolicy,
    private readonly checked: Checked,
    /** sees every refusal (the daemon counts it in sonde_probe_denied_total{reason}) */
    private readonly onDeny: (denied: ProbeDenied) => void,
  ) {
    this.name = isIP(checked.host) === 0 ? canonicalName(checked.host) : undefined;
  }

  pinned(host: string): Checked | undefined {
    return this.name !== undefined && canonicalName(host) === this.name ? this.checked : undefined;
  }

  check(host: string, addresses: readonly string[]): void {
    this.guard(() => this.policy.checkAddresses(host, addresses));
  }

  endpoint(host: string, port: number): void {
    this.guard(() => this.policy.checkEndpoint(host, port));
  }

  private guard(rule: () => void): void {
    try {
      rule();
    } catch (err) {
      if (!(err instanceof ProbeDenied)) throw err;
      this.onDeny(err);
      throw new ProbeFailure('policy_denied', `refused by probe_policy (${err.reason}): ${err.message}`);
    }
  }
}
