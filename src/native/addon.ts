// The only module that loads the compiled addon. Typed wrappers per capability live beside it
// (notify.ts, icmp.ts, bpf.ts) and import `binding` from here.
import { existsSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..', '..');

function load(): Record<string, unknown> {
  // SONDE_ADDON lets the sanitizer build of the addon be tested with the same JS.
  const file = process.env.SONDE_ADDON ?? path.join(ROOT, 'build', 'Release', 'sonde.node');
  if (!existsSync(file)) {
    throw new Error(`native addon not built: ${file} is missing (run \`npm run setup\`)`);
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(file) as Record<string, unknown>;
}

export const binding: Record<string, unknown> = load();

/** Project root (the checkout), for locating build outputs such as BPF objects. */
export const PROJECT_ROOT = ROOT;
