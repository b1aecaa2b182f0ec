// sd_notify for Type=notify units. No-op when $NOTIFY_SOCKET is unset (not under systemd).
import { binding } from './addon';

const nativeNotify = binding.notify as (socketPath: string, state: string) => number;

/** Sends e.g. {READY: '1', STATUS: 'listening on :9116'}. Returns 0, or -errno, or 1 when not under systemd. */
export function sdNotify(fields: Record<string, string>, socketPath = process.env.NOTIFY_SOCKET): number {
  if (!socketPath) return 1;
  const state = Object.entries(fields)
    .map(([k, v]) => `${k}=${v.replace(/\n/g, ' ')}`)
    .join('\n');
  return nativeNotify(socketPath, state);
}
