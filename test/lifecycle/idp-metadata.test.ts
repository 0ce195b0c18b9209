/**
 * A gateway whose TESSERA_ISSUER does not match what the discovery document names: sign-in is
 * refused with a 503 that says the settings do not match (not "try again in a moment"), and the
 * log names both issuers under the request id the page shows.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../../src/observability/log.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { requestWith } from '../instances/support.js';

describe('an issuer that does not match the discovery document', () => {
  const lines: string[] = [];
  let stack: Stack;
  before(async () => {
    const logger = createLogger({ level: 'info', destination: { write: (line) => void lines.push(line) } });
    stack = await startStack({ logger, options: { issuer: 'http://localhost:1/not-the-issuer' } });
  });
  after(() => stack.close());

  const logged = () => lines.map((line) => JSON.parse(line) as { level: string; msg: string; requestId?: string; error?: string });

  test('a page gets a 503 that names a configuration problem and a request id; the log has the details under it', async () => {
    const response = await requestWith(`${stack.url}/auth/login?returnTo=%2F`, undefined, 'page');
    assert.equal(response.status, 503);
    assert.equal(response.headers['retry-after'], '5');
    const page = response.text;
    assert.match(page, /Sign-in is not available/);
    assert.match(page, /settings do not match this site(&#39;|&#x27;|')s configuration/);
    assert.doesNotMatch(page, /not-the-issuer/, 'the page does not show the configuration itself');
    const requestId = /<code id="request-id">([^<]+)<\/code>/.exec(page)?.[1];
    assert.ok(requestId, 'the page shows a request id');
    const line = logged().find((entry) => entry.requestId === requestId);
    assert.ok(line, `a log line with request id ${requestId}`);
    assert.equal(line.level, 'error', 'logged as an error');
    assert.match(line.error ?? '', /names issuer "http:\/\/localhost:\d+\/?[^"]*", expected TESSERA_ISSUER "http:\/\/localhost:1\/not-the-issuer"/);
  });

  test('an API client gets JSON with the same description', async () => {
    const response = await requestWith(`${stack.url}/auth/login?returnTo=%2F`, undefined, 'api');
    assert.equal(response.status, 503);
    const body = JSON.parse(response.text) as { error: string; error_description: string };
    assert.equal(body.error, 'temporarily_unavailable');
    assert.match(body.error_description, /settings do not match/);
  });

  test('the provider reports the mismatch as an error, not as "unreachable"', () => {
    const messages = logged().map((entry) => entry.msg);
    assert.equal(messages.filter((msg) => msg === 'identity provider metadata unusable').length >= 1, true);
    assert.equal(messages.includes('identity provider unreachable'), false);
  });
});
