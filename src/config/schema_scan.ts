// The `scan:` section (sonde only): what `sonde scan` and the tcp_syn prober may reach.
//   scan:
//     allow: [198.18.0.0/15, "fd5e:ed00::/32"]   # default: 127.0.0.0/8 and ::1/128 (loopback only)
//     exclude: [198.18.0.1]                       # never scanned, even when a target covers it
// Entries are addresses, CIDRs or ranges FIRST-LAST (src/scan/addrset.ts), each checked at load.
import { AddressSyntaxError, parseAddressSpec } from '../scan/addrset';
import { defaultScan } from './defaults';
import { list, str, struct } from './schema';
import type { Config, ScanConfig } from './types';

function addressSpecProblem(s: string): string | undefined {
  try {
    parseAddressSpec(s);
    return undefined;
  } catch (err) {
    if (err instanceof AddressSyntaxError) return `an address, CIDR or range FIRST-LAST (${err.message})`;
    throw err;
  }
}

const addressSpec = str({ nonEmpty: true, expected: 'an address, CIDR or range FIRST-LAST', check: addressSpecProblem });

export const scanDecoder = struct<ScanConfig>({
  fields: {
    allow: list(addressSpec),
    exclude: list(addressSpec),
  },
  defaults: defaultScan,
});

/** The scan settings of a config: its `scan:` section, or the defaults (loopback only). */
export function scanSettings(config: Pick<Config, 'scan'>): ScanConfig {
  return config.scan ?? defaultScan();
}
