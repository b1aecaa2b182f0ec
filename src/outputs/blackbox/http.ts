// Placeholder: replaced by the HTTP prober's writer.
import type { Registry } from 'prom-client';
import type { Module } from '../../config/types';
import type { ProbeResult } from '../../result';
import { writeResolve } from './common';

export function writeHTTP(result: ProbeResult, _module: Module, reg: Registry): void {
  writeResolve(result, reg);
}
