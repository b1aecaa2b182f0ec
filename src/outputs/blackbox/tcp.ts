// Placeholder: replaced by the TCP prober's writer.
import type { Registry } from 'prom-client';
import type { Module } from '../../config/types';
import type { ProbeResult } from '../../result';
import { writeResolve } from './common';

export function writeTCP(result: ProbeResult, _module: Module, reg: Registry): void {
  writeResolve(result, reg);
}
