// The websocket prober's module section (modules.<name>.websocket): blackbox main's WebsocketProbe
// keys: an HTTP client config under http_config, headers, and a dialogue of messages.
import { defaultWebsocket } from '../../config/defaults';
import { bool, list, struct } from '../../config/schema';
import { httpClientConfig, httpHeaders } from '../../config/schema_http_client';
import { ipProtocol } from '../../config/schema_shared';
import type { WebsocketModule } from '../../config/types';
import type { ModuleSection } from '../descriptor';
import { queryResponse } from '../tcp/config';

const websocketModule = struct<WebsocketModule>({
  fields: {
    http_config: httpClientConfig,
    headers: httpHeaders,
    query_response: list(queryResponse),
    preferred_ip_protocol: ipProtocol,
    ip_protocol_fallback: bool(),
  },
  defaults: defaultWebsocket,
});

export const websocketSection: ModuleSection<'websocket'> = { decode: websocketModule, defaults: defaultWebsocket };

/** ws:// or wss:// URLs (blackbox parses the target as a URL and dials it as is). */
export function checkWebsocketTarget(t: string): string | undefined {
  const expected = 'a ws:// or wss:// URL';
  try {
    const u = new URL(t);
    return (u.protocol === 'ws:' || u.protocol === 'wss:') && u.hostname !== '' ? undefined : expected;
  } catch {
    return expected;
  }
}
