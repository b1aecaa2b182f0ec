// prom-client's classes from their own files. Its index loads every class it has, the Pushgateway
// among them, which requires node:https and with it node:tls (~1.2 MB of idle RSS, issue 11) in a
// daemon that never pushes; the Summary's t-digest comes along too. Same files, same objects: a
// metric made here is the one prom-client's Registry (and a test importing 'prom-client') knows.
import type * as client from 'prom-client';

/* eslint-disable @typescript-eslint/no-require-imports -- the files, not the index (see above); types from the index */
export const Registry = require('prom-client/lib/registry') as typeof client.Registry;
export const Counter = require('prom-client/lib/counter') as typeof client.Counter;
export const Gauge = require('prom-client/lib/gauge') as typeof client.Gauge;
export const collectDefaultMetrics = require('prom-client/lib/defaultMetrics') as typeof client.collectDefaultMetrics;
/* eslint-enable @typescript-eslint/no-require-imports */

export type Registry = client.Registry;
export type Counter<T extends string = string> = client.Counter<T>;
export type Gauge<T extends string = string> = client.Gauge<T>;
