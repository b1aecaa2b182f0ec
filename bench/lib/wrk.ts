// Drives a /probe endpoint with wrk (fixed connections, bounded duration) and counts how many
// answers reported probe_success 1, so that fast failures cannot pass for throughput. With a count,
// each wrk thread stops after its share of answers and wrk is ended (SIGINT, which makes it print
// its summary) once all have: a fixed number of probes, timed from the threads' start to the last
// thread's last answer (a monotonic clock through LuaJIT's ffi; wrk's own duration would be -d).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const WRK = '/usr/bin/wrk';
const THREADS = 2;

const SCRIPT = `
local ffi = require("ffi")
ffi.cdef[[ typedef struct { long tv_sec; long tv_nsec; } sonde_ts; int clock_gettime(int, sonde_ts *); ]]
local function now() local t = ffi.new("sonde_ts"); ffi.C.clock_gettime(1, t); return tonumber(t.tv_sec) + tonumber(t.tv_nsec) / 1e9 end
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) ok = 0; bad = 0; limit = tonumber(args[1] or "0"); t0 = now(); t1 = 0 end
function response(status, headers, body)
  if status == 200 and string.find(body, "\\nprobe_success 1\\n", 1, true) then ok = ok + 1 else bad = bad + 1 end
  if limit > 0 and t1 == 0 and ok + bad >= limit then t1 = now(); io.write("SONDE_LIMIT\\n"); io.flush(); wrk.thread:stop() end
end
function done(summary, latency, requests)
  local o, b, a, z = 0, 0, math.huge, 0
  for _, t in ipairs(threads) do o = o + t:get("ok"); b = b + t:get("bad"); a = math.min(a, t:get("t0")); z = math.max(z, t:get("t1")) end
  io.write(string.format("PROBES_OK %d PROBES_BAD %d SECONDS %f SPAN %f\\n", o, b, summary.duration / 1e6, z - a))
end
`;

export function haveWrk(): boolean {
  return existsSync(WRK);
}

export interface WrkResult {
  okPerSecond: number;
  ok: number;
  bad: number;
  seconds: number;
}

function script(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-bench-wrk-'));
  writeFileSync(path.join(dir, 'count.lua'), SCRIPT);
  return path.join(dir, 'count.lua');
}

function parse(out: string, counted: boolean): WrkResult {
  const m = /PROBES_OK (\d+) PROBES_BAD (\d+) SECONDS ([\d.]+) SPAN (-?[\d.]+)/.exec(out);
  if (!m) throw new Error(`wrk output not understood:\n${out}`);
  const ok = Number(m[1]);
  const seconds = counted && Number(m[4]) > 0 ? Number(m[4]) : Number(m[3]);
  return { ok, bad: Number(m[2]), seconds, okPerSecond: ok / seconds };
}

/** wrk on `url` for `seconds`. */
export function wrkProbe(url: string, connections: number, seconds: number): WrkResult {
  const out = execFileSync(WRK, [`-t${THREADS}`, `-c${connections}`, `-d${Math.ceil(seconds)}s`, '--timeout', '10s', '-s', script(), url], {
    encoding: 'utf8',
    timeout: (seconds + 30) * 1000,
  });
  return parse(out, false);
}

/** wrk on `url` until about `count` answers came back (at most `maxSeconds`; fewer answers then). */
export function wrkProbeCount(url: string, connections: number, count: number, maxSeconds: number): Promise<WrkResult> {
  const share = Math.ceil(count / THREADS);
  const child = spawn(WRK, [`-t${THREADS}`, `-c${connections}`, `-d${Math.ceil(maxSeconds)}s`, '--timeout', '10s', '-s', script(), url, String(share)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    // Counted over all output: a marker may come split across two chunks.
    if (out.split('SONDE_LIMIT').length - 1 >= THREADS && child.exitCode === null) child.kill('SIGINT');
  });
  child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
  // Bounded: wrk ends itself after -d; past that and a margin it is killed.
  const guard = setTimeout(() => child.exitCode === null && child.kill('SIGKILL'), (maxSeconds + 30) * 1000);
  return new Promise((resolve, reject) => {
    child.once('exit', (code, sig) => {
      clearTimeout(guard);
      try {
        resolve(parse(out, true));
      } catch (e) {
        reject(new Error(`wrk exited with ${code ?? sig}: ${err}\n${(e as Error).message}`));
      }
    });
  });
}

/** wrk's own rate with a fresh connection per request ("Connection: close"): this machine's ceiling for that work. */
export function wrkFreshConnections(url: string, connections: number, seconds: number): number {
  const out = execFileSync(WRK, [`-t${THREADS}`, `-c${connections}`, `-d${Math.ceil(seconds)}s`, '-H', 'Connection: close', url], {
    encoding: 'utf8',
    timeout: (seconds + 30) * 1000,
  });
  const m = /Requests\/sec:\s+([\d.]+)/.exec(out);
  if (!m) throw new Error(`wrk output not understood:\n${out}`);
  return Number(m[1]);
}
