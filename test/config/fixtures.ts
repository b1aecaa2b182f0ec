// Where the config fixtures live, from the compiled test (dist/test/config) or the source tree.
import { join, resolve } from 'node:path';

export const FIXTURES = resolve(__dirname, '../../../test/fixtures/config');
export const fixture = (name: string): string => join(FIXTURES, name);
