import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../../src/observability/log.js';
import { prettyDestination } from '../../src/observability/pretty.js';

test('on a terminal, tessera dev shows one readable line per event, a stack trace below it', () => {
  const out: string[] = [];
  const logger = createLogger({ level: 'debug', destination: prettyDestination((text) => void out.push(text), false) });
  logger.warn({ reason: 'transaction_not_found' }, 'callback rejected');
  logger.child({ component: 'dev-idp' }).debug({ sub: 'alice', sessions: 2, note: 'two words' }, 'dev IdP logout API ended sessions');
  logger.error({ error: 'Error: boom\n    at run (app.js:1:1)' }, 'request failed');
  assert.match(out[0]!, /^\d\d:\d\d:\d\d WARN {2}callback rejected {2}reason=transaction_not_found\n$/);
  assert.match(out[1]!, /^\d\d:\d\d:\d\d DEBUG dev IdP logout API ended sessions {2}component=dev-idp sub=alice sessions=2 note="two words"\n$/);
  assert.match(out[2]!, /^\d\d:\d\d:\d\d ERROR request failed\n {2}error: Error: boom\n {6}at run \(app\.js:1:1\)\n$/);
});

test('colours only when asked, and anything that is not a JSON line passes through as it is', () => {
  const out: string[] = [];
  const destination = prettyDestination((text) => void out.push(text), true);
  destination.write('{"level":"error","time":"2026-01-01T00:00:00.000Z","msg":"x"}\n');
  destination.write('not json\n');
  assert.ok(out[0]!.endsWith('\x1b[31mERROR\x1b[0m x\n'), JSON.stringify(out[0]));
  assert.equal(out[1], 'not json\n');
});
