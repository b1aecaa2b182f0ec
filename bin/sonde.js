#!/usr/bin/env node
'use strict';
// Thin launcher: the CLI is compiled TypeScript under dist/ (built by `npm start`, `npm test` or `npm run setup`).
// It exits explicitly once a command has finished, so that native engines and timers left open
// cannot keep a finished command alive, but only after stdout and stderr have drained: a pipe
// takes 64 KiB at once and libuv queues the rest, which process.exit() would throw away.
const { main, exitAfterFlush, fatal } = require('../dist/src/cli/main.js');
main(process.argv.slice(2)).then(exitAfterFlush, fatal);
