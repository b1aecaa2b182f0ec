// Drives a /probe endpoint with wrk (fixed connections, bounded duration) and counts how many
// answers reported probe_success 1, so that fast failures cannot pass for throughput.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const SCRIPT = `
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) ok = 0; bad = 0 end
function response(status, headers, body)
  if status == 200 and string.find(body, "\\nprobe_success 1\\n", 1, true) then ok = ok + 1 else bad = bad + 1 end
end
function done(summary, latency, requests)
  local o, b = 0, 0
  for _, t in ipairs(threads) do o = o + t:get("ok"); b = b + t:get("bad") end
  io.write(string.format("PROBES_OK %d PROBES_BAD %d SECONDS %f\\n", o, b, summary.duration / 1e6))
end
`;

export function haveWrk(): boolean {
  return existsSync('/usr/bin/wrk');
}

export interface WrkResult {
  okPerSecond: number;
  ok: number;
  bad: number;
}

export function wrkProbe(url: string, connections: number, seconds: number): WrkResult {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sonde-bench-wrk-'));
  writeFileSync(path.join(dir, 'count.lua'), SCRIPT);
  const out = execFileSync('/usr/bin/wrk', ['-t2', `-c${connections}`, `-d${seconds}s`, '--timeout', '10s', '-s', path.join(dir, 'count.lua'), url], {
    encoding: 'utf8',
    timeout: (seconds + 30) * 1000,
  });
  const m = /PROBES_OK (\d+) PROBES_BAD (\d+) SECONDS ([\d.]+)/.exec(out);
  if (!m) throw new Error(`wrk output not understood:\n${out}`);
  const ok = Number(m[1]);
  return { ok, bad: Number(m[2]), okPerSecond: ok / Number(m[3]) };
}

/** wrk's own rate with a fresh connection per request ("Connection: close"): this machine's ceiling for that work. */
export function wrkFreshConnections(url: string, connections: number, seconds: number): number {
  const out = execFileSync('/usr/bin/wrk', ['-t2', `-c${connections}`, `-d${seconds}s`, '-H', 'Connection: close', url], {
    encoding: 'utf8',
    timeout: (seconds + 30) * 1000,
  });
  const m = /Requests\/sec:\s+([\d.]+)/.exec(out);
  if (!m) throw new Error(`wrk output not understood:\n${out}`);
  return Number(m[1]);
}
