// blackbox's pages: / (modules and the recent probes with links to their logs), /logs?id= or
// ?target=&module= (one probe's debug text), /config (the loaded config as YAML, secrets masked
// as prometheus/common's Secret marshals them: "<secret>").
import { stringify } from 'yaml';
import type { Config } from '../config/types';
import type { ResultHistory } from '../outputs/history';

export interface PageDeps {
  config(): Config;
  /** the recent /probe results (none kept when absent) */
  history?: ResultHistory;
}

export interface Page {
  status: number;
  contentType: string;
  body: string;
}

const TEXT = 'text/plain; charset=utf-8';
const HTML = 'text/html; charset=utf-8';

function escapeHTML(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function home(deps: PageDeps): Page {
  const cfg = deps.config();
  // Links are relative, as blackbox's: they stay right under any --web.route-prefix.
  const modules = [...cfg.modules.values()].map((m) => `<tr><td>${escapeHTML(m.name)}</td><td>${escapeHTML(m.prober)}</td></tr>`).join('');
  const probes = [...(deps.history?.list() ?? [])]
    .reverse()
    .map(
      (e) =>
        `<tr><td>${escapeHTML(e.module)}</td><td>${escapeHTML(e.target)}</td><td>${e.success ? 'Success' : '<strong>Failure</strong>'}</td><td><a href="logs?id=${e.id}">Logs</a></td></tr>`,
    )
    .join('');
  const body = `<html>
<head><title>sonde</title></head>
<body>
<h1>sonde</h1>
<p><a href="metrics">Metrics</a> · <a href="config">Configuration</a> · <a href="results">Results</a></p>
<h2>Modules</h2>
<table border="1"><tr><th>Module</th><th>Prober</th></tr>${modules}</table>
<h2>Recent Probes</h2>
<table border="1"><tr><th>Module</th><th>Target</th><th>Result</th><th>Debug</th></tr>${probes}</table>
</body>
</html>
`;
  return { status: 200, contentType: HTML, body };
}

/** blackbox's /logs, with its answers and texts for each wrong combination of parameters. */
function logs(deps: PageDeps, q: URLSearchParams): Page {
  const idText = q.get('id');
  const id = idText !== null && /^\d+$/.test(idText) ? Number(idText) : -1;
  const target = q.get('target') ?? '';
  const module = q.get('module') ?? '';
  const bad = (status: number, body: string): Page => ({ status, contentType: TEXT, body: `${body}\n` });
  if (id >= 0 && target !== '') return bad(400, "Probe id and target can't be defined at the same time");
  if (id < 0 && target === '') return bad(400, 'Probe id or target must be defined as http query parameters');
  if (target === '' && module !== '') return bad(400, 'Probe module filter only works in conjunction with target parameter');
  const e = target !== '' ? deps.history?.latest(target, module || undefined) : deps.history?.byId(id);
  if (!e) return bad(404, target !== '' ? 'Probe target not found' : 'Probe id not found');
  return { status: 200, contentType: TEXT, body: e.log() };
}

/** Keys whose values are secrets (prometheus/common Secret fields: basic_auth, authorization, oauth2, TLS inline keys). */
const SECRET_KEYS = new Set(['password', 'bearer_token', 'credentials', 'client_secret', 'key', 'secrets']);

/** The config as YAML: modules, tasks (and tenants, scheduler) with their defaults, secrets as "<secret>". */
export function configYAML(cfg: Config): string {
  const doc = {
    modules: Object.fromEntries(cfg.modules),
    tasks: cfg.tasks,
    ...(cfg.tenants ? { tenants: [...cfg.tenants.values()] } : {}),
    ...(cfg.scheduler ? { scheduler: cfg.scheduler } : {}),
  };
  return stringify(doc, (key, value: unknown) => {
    if (SECRET_KEYS.has(key) && value !== undefined && value !== '') return '<secret>';
    if (value instanceof RegExp) return value.source;
    if (value instanceof Map) return Object.fromEntries(value);
    return value;
  });
}

/** The page at `path`, or undefined when it is none of these. */
export async function servePages(deps: PageDeps, path: string, q: URLSearchParams): Promise<Page | undefined> {
  switch (path) {
    case '/':
      return home(deps);
    case '/logs':
      return logs(deps, q);
    case '/config':
      return { status: 200, contentType: TEXT, body: configYAML(deps.config()) };
    default:
      return undefined;
  }
}
