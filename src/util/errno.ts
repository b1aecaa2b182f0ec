// errno numbers as a user reads them: the name and strerror(3)'s text, "EPERM (operation not
// permitted)", never a bare number (engines report send failures and socket errors by number).
import { constants as osConstants } from 'node:os';

export const ERRNO_NAMES = new Map<number, string>(Object.entries(osConstants.errno).map(([k, v]) => [v, k]));

// strerror(3) texts of the errnos a probe host meets most; others print their name alone.
export const ERRNO_TEXT: Record<string, string> = {
  EPERM: 'operation not permitted',
  EACCES: 'permission denied',
  ENETUNREACH: 'network unreachable',
  EHOSTUNREACH: 'no route to host',
  EADDRINUSE: 'address already in use',
  EADDRNOTAVAIL: 'address not available',
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by peer',
  EMSGSIZE: 'message too long',
  ENOBUFS: 'no buffer space available',
  EMFILE: 'too many open files',
  ENOENT: 'no such file or directory',
  EINVAL: 'invalid argument',
  ETIMEDOUT: 'timed out',
};

/** "EPERM (operation not permitted)" for 1 (or -1), "errno 999" for what the system does not name. */
export function errnoText(errno: number): string {
  const name = ERRNO_NAMES.get(Math.abs(errno));
  if (!name) return `errno ${errno}`;
  const text = ERRNO_TEXT[name];
  return text ? `${name} (${text})` : name;
}

