// blackbox_exporter's query_response dialogue (prober/query_response.go), independent of sockets:
// for each step, read lines until `expect` matches one, expand the captures into `send` and the
// expect-info labels, send the line with "\n", then upgrade to TLS when `starttls` is set.
import type { QueryResponse } from '../../config/types';
import type { TCPFacts } from '../../result';
import { ProbeFailure } from '../errors';
import { expandTemplate } from './expand';
import { regexText } from '../../config/regex';

export interface DialogueIO {
  /** next line without terminator, null at EOF; rejects on socket errors and at the deadline */
  readLine(): Promise<string | null>;
  /** the next n bytes, fewer at EOF */
  readBytes(n: number): Promise<Buffer>;
  /** latin1: each character is one byte (a !!binary send) */
  write(data: string, encoding: 'utf8' | 'latin1'): Promise<void>;
  /** upgrades the connection to TLS; later reads and writes go over it */
  startTLS(): Promise<void>;
}

/** A cap on lines read for one expect, on top of the deadline (a peer streaming short lines fast). */
export const MAX_LINES_PER_EXPECT = 100_000;

/** A copy without the g/y flags, whose lastIndex would make exec() depend on the previous line. */
function stateless(re: RegExp): RegExp {
  return re.global || re.sticky ? new RegExp(re.source, re.flags.replace(/[gy]/g, '')) : re;
}

async function awaitMatch(re: RegExp, io: DialogueIO, step: number): Promise<RegExpExecArray | undefined> {
  for (let n = 0; n < MAX_LINES_PER_EXPECT; n++) {
    const line = await io.readLine();
    if (line === null) return undefined;
    const m = re.exec(line);
    if (m) return m;
  }
  throw new ProbeFailure('protocol_error', `query_response[${step}]: no match in ${MAX_LINES_PER_EXPECT} lines`);
}

/**
 * Runs the steps, recording probe_failed_due_to_regex and probe_expect_info in `facts`.
 * Throws ProbeFailure('expect_mismatch') when the peer closes before an expect matched; socket
 * errors and the deadline propagate as thrown by `io` (blackbox leaves the regex gauge at 0 then).
 */
export async function runDialogue(steps: QueryResponse[], io: DialogueIO, facts: TCPFacts): Promise<void> {
  for (const [i, qr] of steps.entries()) {
    let send = qr.send ?? '';
    if (qr.expect) {
      const re = stateless(qr.expect);
      const m = await awaitMatch(re, io, i);
      if (!m) {
        facts.failedDueToRegex = true;
        throw new ProbeFailure('expect_mismatch', `query_response[${i}]: no line matched /${regexText(qr.expect)}/ before the peer closed the connection`);
      }
      facts.failedDueToRegex = false;
      send = expandTemplate(send, m);
      if (qr.labels.length > 0) {
        const labels = Object.fromEntries(qr.labels.map((l) => [l.name, expandTemplate(l.value, m)]));
        (facts.expectInfo ??= []).push({ labels });
      }
    }
    if (qr.expect_bytes) {
      const want = qr.expect_bytes;
      const got = await io.readBytes(want.length);
      if (got.length < want.length) {
        throw new ProbeFailure('expect_mismatch', `query_response[${i}]: the peer closed after ${got.length} of the ${want.length} expected bytes`);
      }
      if (!got.equals(want)) {
        facts.failedDueToBytes = true;
        throw new ProbeFailure('expect_mismatch', `query_response[${i}]: got bytes ${got.toString('hex')}, expected ${want.toString('hex')}`);
      }
      facts.failedDueToBytes = false;
    }
    if (send !== '') await io.write(`${send}\n`, qr.send_binary ? 'latin1' : 'utf8');
    if (qr.starttls) await io.startTLS();
  }
}
