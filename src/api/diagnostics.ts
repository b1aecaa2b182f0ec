// Diagnostics the way Go exporters offer net/http/pprof, off unless --web.enable-diagnostics, and
// behind the web config's auth like every endpoint:
//   /debug/pprof/profile?seconds=N  a CPU profile of N seconds (default 30, as Go's), V8's
//                                   .cpuprofile JSON (Chrome DevTools, speedscope open it)
//   /debug/pprof/heap               a V8 heap snapshot (.heapsnapshot), taken now
//   /debug/pprof/runtime            runtime stats as JSON: memory, heap spaces, event-loop delay,
//                                   CPU and resource usage, open handles
// A profile or snapshot is one at a time: a second ask while one runs gets 409.
import type http from 'node:http';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import v8 from 'node:v8';

const MAX_PROFILE_SECONDS = 300;

let busy = false;
let loopDelay: IntervalHistogram | undefined;

const INDEX = `sonde diagnostics (--web.enable-diagnostics)
  debug/pprof/profile?seconds=30   CPU profile (.cpuprofile)
  debug/pprof/heap                 heap snapshot (.heapsnapshot)
  debug/pprof/runtime              runtime stats (JSON)
`;

function text(res: http.ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

async function cpuProfile(res: http.ServerResponse, q: URLSearchParams): Promise<void> {
  const raw = q.get('seconds') ?? '30';
  const seconds = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw) || seconds <= 0 || seconds > MAX_PROFILE_SECONDS) return text(res, 400, `seconds: got ${JSON.stringify(raw)}, expected a number from 0 to ${MAX_PROFILE_SECONDS}\n`);
  // Loaded here, at the first profile: an idle daemon need not carry the inspector's modules (issue 11).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Session } = require('node:inspector/promises') as typeof import('node:inspector/promises');
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const { profile } = await session.post('Profiler.stop');
    const body = JSON.stringify(profile);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Disposition': 'attachment; filename="sonde.cpuprofile"', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  } finally {
    session.disconnect();
  }
}

function heapSnapshot(res: http.ServerResponse): Promise<void> {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Disposition': 'attachment; filename="sonde.heapsnapshot"' });
  return new Promise((resolve) => {
    const snap = v8.getHeapSnapshot();
    snap.pipe(res);
    snap.once('end', () => resolve());
    snap.once('error', () => {
      res.destroy();
      resolve();
    });
    res.once('close', () => {
      snap.destroy();
      resolve();
    });
  });
}

function runtimeStats(): string {
  // The event-loop monitor starts at the first ask: it costs a timer, and only diagnostics read it.
  if (!loopDelay) {
    loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
  }
  const ms = (ns: number) => ns / 1e6;
  const proc = process as unknown as { getActiveResourcesInfo?: () => string[] };
  const handles: Record<string, number> = {};
  for (const h of proc.getActiveResourcesInfo?.() ?? []) handles[h] = (handles[h] ?? 0) + 1;
  return `${JSON.stringify(
    {
      uptime_seconds: process.uptime(),
      node: process.version,
      memory: process.memoryUsage(),
      heap: v8.getHeapStatistics(),
      heap_spaces: v8.getHeapSpaceStatistics(),
      cpu: process.cpuUsage(),
      resources: process.resourceUsage(),
      event_loop_delay_ms: { min: ms(loopDelay.min), mean: ms(loopDelay.mean), p50: ms(loopDelay.percentile(50)), p99: ms(loopDelay.percentile(99)), max: ms(loopDelay.max) },
      active_resources: handles,
    },
    null,
    2,
  )}\n`;
}

/** Serves `path` when it is a diagnostics path; false when it is not one. */
export async function serveDiagnostics(path: string, q: URLSearchParams, res: http.ServerResponse): Promise<boolean> {
  if (path !== '/debug/pprof' && !path.startsWith('/debug/pprof/')) return false;
  const what = path.slice('/debug/pprof'.length).replace(/^\//, '');
  if (what === '') return text(res, 200, INDEX), true;
  if (what === 'runtime') return text(res, 200, runtimeStats(), 'application/json'), true;
  if (what !== 'profile' && what !== 'heap') return false;
  if (busy) return text(res, 409, 'a profile or heap snapshot is being taken; try again when it is done\n'), true;
  busy = true;
  try {
    await (what === 'profile' ? cpuProfile(res, q) : heapSnapshot(res));
  } finally {
    busy = false;
  }
  return true;
}
