import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import type { Gateway } from '../../src/gateway/server.js';
import { skipOrFail, useRedis } from '../helpers/redis-server.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { eventually, startGatewayBeside } from '../security/support.js';
import { endSessions, listSessions, sessionStatusAt, signInOn } from './support.js';

const redis = await useRedis();
const skip = 'skip' in redis ? skipOrFail(redis.skip).skip : false;
const prefix = `tessera-test-self-${randomBytes(6).toString('hex')}:`;

describe('self-service sessions on two gateway instances sharing Redis', { skip, timeout: 60_000 }, () => {
  let stack: Stack;
  let second: Gateway;

  before(async () => {
    if ('skip' in redis) return;
    // A cache far longer than the test: only Redis' invalidation messages can end a session on the other instance in time.
    const store = `${redis.url}?prefix=${prefix}`;
    stack = await startStack({ options: { store, sessionCacheTtl: '10m' } });
    second = await startGatewayBeside(stack, { store, sessionCacheTtl: '10m' });
  });

  after(async () => {
    if ('skip' in redis) return;
    await second?.close();
    await stack?.close();
  });

  test('a session ended from the list is refused at once on this instance and on the other one', async () => {
    const a = await signInOn(stack, 'alice', 'Phone/1');
    const b = await signInOn(stack, 'alice', 'Laptop/2');
    // Both instances know both sessions (and cache them).
    for (const cookie of [a.cookie, b.cookie]) {
      assert.equal(await sessionStatusAt(stack.url, cookie), 200);
      assert.equal(await sessionStatusAt(second.url, cookie), 200);
    }
    const listedOnSecond = await listSessions(second.url, a.cookie);
    assert.deepEqual(listedOnSecond.sessions.map((s) => [s.userAgent, s.current]), [['Phone/1', true], ['Laptop/2', false]], 'the other instance lists the same sessions');
    const other = listedOnSecond.sessions.find((s) => !s.current)!;

    assert.equal((await endSessions(stack.url, a.cookie, other.ref)).status, 204);
    assert.equal(await sessionStatusAt(stack.url, b.cookie), 401, 'refused on this instance');
    assert.ok(await eventually(async () => (await sessionStatusAt(second.url, b.cookie)) === 401, 2000), 'refused on the other instance within 2 s');
    assert.equal(await sessionStatusAt(second.url, a.cookie), 200, 'the caller stays signed in on both');
  });

  test('sign out everywhere on one instance ends every session of the user on the other', async () => {
    const a = await signInOn(stack, 'alice', 'Phone/1');
    const b = await signInOn(stack, 'alice', 'Laptop/2');
    for (const cookie of [a.cookie, b.cookie]) assert.equal(await sessionStatusAt(second.url, cookie), 200);
    const response = await endSessions(stack.url, a.cookie);
    assert.equal(response.status, 204);
    for (const cookie of [a.cookie, b.cookie]) {
      assert.ok(await eventually(async () => (await sessionStatusAt(second.url, cookie)) === 401, 2000), 'refused on the other instance within 2 s');
    }
  });
});

describe('binding revoke on one instance ends the session on the other (shared Redis)', { skip, timeout: 60_000 }, () => {
  let stack: Stack;
  let second: Gateway;
  before(async () => {
    if ('skip' in redis) return;
    const store = `${redis.url}?prefix=${prefix}binding:`;
    const options = { store, sessionCacheTtl: '10m', sessionBinding: 'revoke' as const };
    stack = await startStack({ options });
    second = await startGatewayBeside(stack, options);
  });
  after(async () => {
    if ('skip' in redis) return;
    await second?.close();
    await stack?.close();
  });

  const statusWith = async (url: string, cookie: string, userAgent: string) => {
    const response = await fetch(`${url}/auth/session`, { headers: { accept: 'application/json', cookie, 'user-agent': userAgent } });
    await response.body?.cancel();
    return response.status;
  };

  test('a request from another user agent on one instance ends the session for its owner on both', async () => {
    const owner = await signInOn(stack, 'alice', 'Owner/1');
    assert.equal(await statusWith(second.url, owner.cookie, 'Owner/1'), 200, 'the other instance has it (cached)');
    assert.equal(await statusWith(stack.url, owner.cookie, 'Thief/2'), 401, 'the thief is refused');
    assert.equal(await statusWith(stack.url, owner.cookie, 'Owner/1'), 401, 'the owner too, here');
    assert.ok(await eventually(async () => (await statusWith(second.url, owner.cookie, 'Owner/1')) === 401, 2000), 'and on the other instance within 2 s');
  });
});

after(async () => {
  if ('skip' in redis) return;
  const client = new Redis(redis.url);
  for await (const keys of client.scanStream({ match: `${prefix}*` }) as AsyncIterable<string[]>) if (keys.length > 0) await client.del(...keys);
  client.disconnect();
  await redis.dispose();
});
