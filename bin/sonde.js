#!/bin/sh
//bin/true; case "$1" in ping|trace|drops|discover-v6) unset NODE_EXTRA_CA_CERTS;; esac; exec node "$0" "$@"
'use strict';
// The first two lines are read by /bin/sh, then by node (the second is a comment to it): the shell
// starts node itself so that commands which never open a TLS connection (ping, trace, drops,
// discover-v6) run without NODE_EXTRA_CA_CERTS. Node 20 reads and parses that bundle at start,
// before any JavaScript runs: with Debian's whole bundle (220 KB), 50 ms and 1.8 MB of every
// `sonde ping`. Commands that may use TLS (run, probe, scan --then, dns-health) keep it. `exec`
// keeps the PID. `node bin/sonde.js ...` skips the shell and works the same, with the bundle read.
// Thin launcher: the CLI is compiled TypeScript under dist/ (built by `npm start`, `npm test` or `npm run setup`).
// It exits explicitly once a command has finished, so that native engines and timers left open
// cannot keep a finished command alive, but only after stdout and stderr have drained: a pipe
// takes 64 KiB at once and libuv queues the rest, which process.exit() would throw away.
const { main, exitAfterFlush, fatal } = require('../dist/src/cli/main.js');
main(process.argv.slice(2)).then(exitAfterFlush, fatal);
