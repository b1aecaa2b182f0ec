// Failure reasons of errors as transports report them: engine outcomes arrive as plain objects,
// and the probe host's own limits are named as such (issue 14: EMFILE read "[object Object]").
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyError, ProbeFailure } from '../../src/probers/errors';

test('the probe host running out of descriptors or buffers is local_resources, with the code in the message', () => {
  for (const code of ['EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM']) {
    const r = classifyError({ code, message: `connecting to 127.0.0.1:80: ${code}` });
    assert.equal(r.reason, 'local_resources', code);
    assert.match(r.message, new RegExp(code));
  }
  const sock = Object.assign(new Error('connect EMFILE 127.0.0.1:80 - Local (undefined:undefined)'), { code: 'EMFILE' });
  assert.equal(classifyError(sock).reason, 'local_resources');
});

test('an error nobody maps keeps its own words, never "[object Object]"', () => {
  assert.deepEqual(classifyError({ code: 'EWHATEVER', message: 'connecting to 127.0.0.1:80: EWHATEVER' }), {
    reason: 'network_error',
    message: 'connecting to 127.0.0.1:80: EWHATEVER',
  });
  assert.equal(classifyError({ code: 'EXDEV' }).message, 'EXDEV');
  assert.equal(classifyError('plain text').message, 'plain text');
  assert.equal(classifyError(new ProbeFailure('refused', 'no')).reason, 'refused');
  assert.equal(classifyError({ code: 'ECANCELED', message: 'x' }).reason, 'cancelled');
});
