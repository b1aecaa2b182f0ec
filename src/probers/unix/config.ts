// The unix prober's module section (modules.<name>.unix): blackbox main's UnixProbe keys, the tcp
// prober's dialogue steps over a stream socket; targets are socket paths.
import { defaultUnix } from '../../config/defaults';
import { bool, list, struct } from '../../config/schema';
import { tlsConfig } from '../../config/schema_shared';
import type { UnixModule } from '../../config/types';
import type { ModuleSection } from '../descriptor';
import { queryResponse } from '../tcp/config';

const unixModule = struct<UnixModule>({
  fields: { query_response: list(queryResponse), tls: bool(), tls_config: tlsConfig },
  defaults: defaultUnix,
});

export const unixSection: ModuleSection<'unix'> = { decode: unixModule, defaults: defaultUnix };

/**
 * An absolute path of a stream socket (the kernel's sun_path holds 107 bytes and a NUL). Relative
 * paths would depend on the daemon's working directory, so they are refused.
 */
export function checkUnixTarget(t: string): string | undefined {
  if (!t.startsWith('/') || t.includes('\0')) return 'an absolute unix socket path (e.g. /run/app.sock)';
  return Buffer.byteLength(t) > 107 ? 'a unix socket path of at most 107 bytes' : undefined;
}
