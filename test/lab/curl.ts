// curl as the independent client of sonde's listeners (TLS, basic auth): what it got, headers and all.
import { spawn } from 'node:child_process';

export interface CurlAnswer {
  /** 0 when curl could not connect or the TLS handshake failed (exitCode says why) */
  status: number;
  headers: Record<string, string>;
  body: string;
  exitCode: number;
}

/** Runs curl with `args` (e.g. ['--cacert', ca, '-u', 'user:pass']) against `url`; never throws. */
export function curl(url: string, args: string[] = []): Promise<CurlAnswer> {
  return new Promise((resolve) => {
    // --noproxy: an http_proxy in the environment must not carry loopback requests away.
    const child = spawn('curl', ['-sS', '--noproxy', '*', '--max-time', '60', '-i', ...args, url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => {
      // The last header block (after any 100 Continue) and the body.
      const blocks = out.split('\r\n\r\n');
      let i = 0;
      while (i < blocks.length - 1 && /^HTTP\/\S+ 1\d\d/.test(blocks[i])) i++;
      const head = blocks[i] ?? '';
      const status = Number(/^HTTP\/\S+ (\d{3})/.exec(head)?.[1] ?? 0);
      const headers: Record<string, string> = {};
      for (const line of head.split('\r\n').slice(1)) {
        const c = line.indexOf(':');
        if (c > 0) headers[line.slice(0, c).toLowerCase()] = line.slice(c + 1).trim();
      }
      resolve({ status, headers, body: status ? blocks.slice(i + 1).join('\r\n\r\n') : err, exitCode: code ?? -1 });
    });
  });
}
