// The version printed by `sonde --version` and exported as sonde_build_info.
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const VERSION: string = (require('../../package.json') as { version: string }).version;
