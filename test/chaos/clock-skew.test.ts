import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { DEFAULT_AUDIENCE } from '../../src/dev-idp/index.js';
import { createAccessTokenVerifier, createIdTokenVerifier, createKeySource, DEFAULT_CLOCK_TOLERANCE } from '../../src/tokens/index.js';
import { Browser } from '../helpers/browser.js';
import { shiftClock } from '../helpers/clock.js';
import { gatewayEnvFor, requestWith, startGatewayProcess, startGatewayWorld, type GatewayProcess, type GatewayWorld } from '../instances/support.js';
import { idpSigner } from '../security/support.js';

const preload = pathToFileURL(new URL('../helpers/skewed-clock.mjs', import.meta.url).pathname).href;
/** Lifetime of the dev IdP's access tokens here: long enough for the test, short enough to expire in a skew. */
const ACCESS_TOKEN_TTL = 120;

/** Scenario 10: the gateway's clock and the IdP's disagree. */
describe('chaos: clock skew between the gateway and the IdP', { timeout: 120_000 }, () => {
  let world: GatewayWorld;
  const gateways = new Map<number, GatewayProcess>();

  before(async () => {
    world = await startGatewayWorld('tessera-chaos-clock-', { accessTokenTtl: ACCESS_TOKEN_TTL });
    const env = gatewayEnvFor(world, 'memory:');
    // Gateway processes whose wall clock is off from the IdP's (which is this process's).
    const skews = [30, -30, ACCESS_TOKEN_TTL + 60];
    const started = await Promise.all(skews.map((skew) => startGatewayProcess({
      ...env,
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${preload}`.trim(),
      CLOCK_OFFSET_MS: String(skew * 1000),
    })));
    skews.forEach((skew, i) => gateways.set(skew, started[i]!));
  });

  after(async () => {
    await Promise.all([...gateways.values()].map((g) => g.stop()));
    await world?.close();
  });

  for (const skew of [30, -30]) {
    test(`a gateway ${Math.abs(skew)} s ${skew > 0 ? 'ahead of' : 'behind'} the IdP: a fresh login succeeds and its session works`, async () => {
      const gateway = gateways.get(skew)!;
      const browser = new Browser();
      const page = await browser.signIn(`${gateway.url}/auth/login?returnTo=%2Fhello`, { username: 'alice', password: 'alice' });
      assert.equal(page.status, 200, page.text.slice(0, 300));
      assert.equal((JSON.parse(page.text) as { headers: Record<string, string> }).headers['x-tessera-sub'], 'alice');
      const cookie = `tessera=${browser.jar.get('tessera', gateway.url)}`;
      assert.equal((await requestWith(`${gateway.url}/hello`, cookie)).status, 200);
      // The skew is real: the gateway dated the session by its own clock.
      const session = await requestWith(`${gateway.url}/auth/session`, cookie, 'api');
      assert.equal(session.status, 200);
      const createdAt = Date.parse((JSON.parse(session.text) as { session: { createdAt: string } }).session.createdAt);
      const off = (createdAt - Date.now()) / 1000;
      assert.ok(Math.abs(off - skew) <= 3, `the gateway meant ${skew} s off dated the session ${off.toFixed(1)} s off`);
    });
  }

  test('a gateway whose clock makes the fresh tokens look expired (beyond the tolerance) refuses the login, no session', async () => {
    const gateway = gateways.get(ACCESS_TOKEN_TTL + 60)!;
    const browser = new Browser();
    const page = await browser.signIn(`${gateway.url}/auth/login?returnTo=%2Fhello`, { username: 'alice', password: 'alice' });
    assert.equal(page.status, 400, page.text.slice(0, 300));
    assert.match(page.text, /failed validation/);
    assert.match(page.text, /exp/);
    assert.equal(browser.jar.get('tessera', gateway.url), undefined, 'no session cookie');
  });

  test('the verifiers at the edge of the 30 s tolerance: 29 s either way accepted, beyond it refused', async () => {
    const { idp, dataDir } = world;
    assert.equal(DEFAULT_CLOCK_TOLERANCE, 30);
    const sign = await idpSigner(dataDir);
    const jwksUri = `${idp.url}/cis/oidc/jwks`;
    const keySource = createKeySource({ jwksUri });
    const access = createAccessTokenVerifier({ issuer: idp.issuer, jwksUri, keySource, audience: DEFAULT_AUDIENCE, cache: false });
    const id = createIdTokenVerifier({ issuer: idp.issuer, clientId: 'tessera-dev', keySource });
    const now = Math.floor(Date.now() / 1000);
    // Tokens as the IdP issues them now: valid for 60 s.
    const accessToken = await sign({ iss: idp.issuer, sub: 'alice', aud: DEFAULT_AUDIENCE, iat: now, exp: now + 60, client_id: 'tessera-dev' }, { typ: 'at+jwt' });
    const idToken = await sign({ iss: idp.issuer, sub: 'alice', aud: 'tessera-dev', iat: now, exp: now + 60, nonce: 'n-1' });
    const verifyBoth = async () => {
      await access.verify(accessToken);
      await id.verify(idToken, { nonce: 'n-1' });
    };
    const refusedBoth = async (code: RegExp) => {
      await assert.rejects(access.verify(accessToken), (err: { code?: string; message?: string }) => code.test(`${err.code} ${err.message}`));
      await assert.rejects(id.verify(idToken, { nonce: 'n-1' }), (err: { code?: string; message?: string }) => code.test(`${err.code} ${err.message}`));
    };
    const at = async <T>(offsetSeconds: number, run: () => Promise<T>): Promise<T> => {
      const restore = shiftClock(offsetSeconds * 1000 - (Date.now() - now * 1000));
      try {
        return await run();
      } finally {
        restore();
      }
    };
    await verifyBoth(); // loads the JWKS with the real clock
    // Behind: `iat` up to 29 s in the future is skew, not a forged token.
    await at(-29, verifyBoth);
    // Ahead: a token expired 29 s ago (exp + 29 s) is still within the tolerance.
    await at(60 + 29, verifyBoth);
    // Clearly beyond: a token from the future, and an expired one.
    await at(-31, () => refusedBoth(/iat|future|issued/i));
    await at(60 + 31, () => refusedBoth(/exp/i));
    await at(60 + 3600, () => refusedBoth(/exp/i));
    // And everywhere in between, both ways.
    await fc.assert(fc.asyncProperty(fc.integer({ min: -29, max: 60 + 29 }), (offset) => at(offset, verifyBoth)), { numRuns: 40 });
    await fc.assert(fc.asyncProperty(fc.oneof(fc.integer({ min: -3600, max: -31 }), fc.integer({ min: 60 + 31, max: 60 + 7200 })), async (offset) => {
      await at(offset, () => refusedBoth(/exp|iat|future|issued/i));
    }), { numRuns: 40 });
  });
});
