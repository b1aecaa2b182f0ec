// blackbox_exporter's answer checks (prober/dns.go validRcode, validRRs): the rcode among
// valid_rcodes, then each section's records against its four kinds of regular expression rules.
import type { DNSRRValidator } from '../../config/types';
import { RCODE_CODES, rcodeName } from './codes';
import { rrText } from './rr_text';
import type { RR } from './wire';

/** Why the rcode is not valid, or undefined. */
export function checkRcode(rcode: number, valid: readonly string[]): string | undefined {
  if (valid.some((name) => RCODE_CODES[name] === rcode)) return undefined;
  return `rcode ${rcodeName(rcode)} is not one of the valid rcodes (${valid.join(', ')})`;
}

/**
 * Why the records of one section fail `v`, or undefined. As blackbox: no records fail the
 * not_matches and none_matches rules; any record matching a fail_if_matches rule fails; every
 * record must match each fail_if_not_matches rule. fail_if_all_match_regexp fails when some record
 * does NOT match, whatever its name says: blackbox's code does that ("Not all RRs matched regexp"),
 * and dashboards built on blackbox rely on the code, so sonde follows the code.
 */
export function checkRRs(rrs: readonly RR[], v: DNSRRValidator, section: string): string | undefined {
  if (rrs.length === 0 && v.fail_if_not_matches_regexp.length > 0) return `${section}: fail_if_not_matches_regexp is set but no records came back`;
  if (rrs.length === 0 && v.fail_if_none_matches_regexp.length > 0) return `${section}: fail_if_none_matches_regexp is set but no records came back`;
  // No rule: no record's text is needed (most modules set none, and every answer comes here).
  if (v.fail_if_matches_regexp.length + v.fail_if_all_match_regexp.length + v.fail_if_not_matches_regexp.length + v.fail_if_none_matches_regexp.length === 0) return undefined;
  let anyMatch = false;
  let allMatch = true;
  for (const rr of rrs) {
    const text = rrText(rr);
    for (const re of v.fail_if_matches_regexp) {
      if (re.test(text)) return `${section}: record ${JSON.stringify(text)} matched fail_if_matches_regexp ${re.source}`;
    }
    for (const re of v.fail_if_all_match_regexp) if (!re.test(text)) allMatch = false;
    for (const re of v.fail_if_not_matches_regexp) {
      if (!re.test(text)) return `${section}: record ${JSON.stringify(text)} did not match fail_if_not_matches_regexp ${re.source}`;
    }
    for (const re of v.fail_if_none_matches_regexp) if (re.test(text)) anyMatch = true;
  }
  if (v.fail_if_all_match_regexp.length > 0 && !allMatch) return `${section}: not every record matched fail_if_all_match_regexp`;
  if (v.fail_if_none_matches_regexp.length > 0 && !anyMatch) return `${section}: no record matched fail_if_none_matches_regexp`;
  return undefined;
}
