// Child of test/syn/loopback.test.ts: starts a long, slow scan of a loopback port range (the guard
// table is made), says so on stdout, and waits to be interrupted. Nothing here handles SIGINT: the
// engine's own handler must remove the table and let the signal end the process.
import { NativeSynEngineImpl } from '../../src/native/syn';

const engine = new NativeSynEngineImpl();
engine.scan({ runs: [{ family: 4, first: '127.0.0.1', count: 1 }], ports: [[1, 65535]], rate: 50, waitMs: 100, maxRuntimeMs: 120_000 }, { onHits: () => undefined });
process.stdout.write(`scanning ${process.pid}\n`);
setTimeout(() => process.exit(3), 120_000); // bounded: the test interrupts long before
