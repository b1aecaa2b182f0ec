// The runtime of a test process: probers under test reach their engines through it, as in the
// daemon. Idle engines do not keep the process alive.
import { Runtime } from '../src/runtime';

export const testRuntime = new Runtime();
