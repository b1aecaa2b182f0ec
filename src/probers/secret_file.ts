// Secret files of prometheus/common's client config (password_file, credentials_file, ...): read
// per probe and trimmed, as prometheus/common does, so a rotated credential needs no reload.
import { readFile } from 'node:fs/promises';
import { ProbeFailure } from './errors';

/** A secret file's content, trimmed; a missing file fails the probe with reason config. */
export async function readSecretFile(file: string, what: string): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (err) {
    throw new ProbeFailure('config', `reading ${what} ${file}: ${(err as Error).message}`);
  }
}
