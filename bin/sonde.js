#!/usr/bin/env node
'use strict';
// Thin launcher: the CLI is compiled TypeScript under dist/ (built by `npm start`, `npm test` or `npm run setup`).
// It exits explicitly once a command has finished, so that native engines and timers left open
// cannot keep a finished command alive (stdout and stderr are synchronous for files and pipes on Linux).
require('../dist/src/cli/main.js').main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err && err.stack ? err.stack : String(err));
    process.exit(2);
  },
);
