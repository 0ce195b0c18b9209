import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { jwtVerify, createRemoteJWKSet } from 'jose';
import { DEV_CLIENT_ID } from '../../src/dev-idp/index.js';
import { Browser, parseForms } from '../helpers/browser.js';
import {
  atCallback,
  authorizationRequest,
  codeFrom,
  exchangeCode,
  signInAndExchange,
  silentAuth,
  startTestIdp,
  type TestIdp,
} from './support.js';

describe('dev IdP sessions, prompt and MFA', () => {
  let t: TestIdp;
  let jwks: ReturnType<typeof createRemoteJWKSet>;
  before(async () => {
    t = await startTestIdp();
    jwks = createRemoteJWKSet(new URL('/cis/oidc/jwks', t.idp.url));
  });
  after(() => t.stop());

  test('prompt=none without an IdP session answers login_required', async () => {
    const { params, request } = await silentAuth(t.idp, new Browser());
    assert.equal(params.get('error'), 'login_required');
    assert.equal(params.get('state'), request.state);
    assert.equal(params.get('code'), null);
  });

  test('prompt=none after a login returns a code without any page', async () => {
    const browser = new Browser();
    await signInAndExchange(t.idp, browser, { username: 'alice', password: 'alice' });
    const { params, request } = await silentAuth(t.idp, browser, { scope: 'openid profile' });
    assert.equal(params.get('error'), null, params.get('error_description') ?? '');
    const code = params.get('code');
    assert.ok(code);
    const tokens = await exchangeCode(t.idp, code, request);
    const { payload } = await jwtVerify(tokens.id_token, jwks, { issuer: t.idp.issuer, audience: DEV_CLIENT_ID });
    assert.equal(payload.sub, 'alice');
    assert.equal(payload.nonce, request.nonce);
  });

  test('prompt=login shows the login form even with an IdP session', async () => {
    const browser = new Browser();
    await signInAndExchange(t.idp, browser, { username: 'alice', password: 'alice' });
    const request = authorizationRequest(t.idp, { prompt: 'login' });
    const page = await browser.navigate(request.url, { stopAt: atCallback });
    assert.equal(page.stopped, false);
    assert.equal(page.status, 200);
    const [form] = parseForms(page.text, page.url);
    assert.ok(form && 'username' in form.fields && 'password' in form.fields);
  });

  test('prompt=login can switch the user', async () => {
    const browser = new Browser();
    await signInAndExchange(t.idp, browser, { username: 'alice', password: 'alice' });
    const { tokens } = await signInAndExchange(t.idp, browser, { username: 'bob', password: 'bob' }, { prompt: 'login' });
    const { payload } = await jwtVerify(tokens.id_token, jwks, { issuer: t.idp.issuer, audience: DEV_CLIENT_ID });
    assert.equal(payload.sub, 'bob');
    const silent = await silentAuth(t.idp, browser);
    const code = silent.params.get('code');
    assert.ok(code);
    const again = await exchangeCode(t.idp, code, silent.request);
    assert.equal((await jwtVerify(again.id_token, jwks)).payload.sub, 'bob');
  });

  test('prompt=consent shows no consent page for a registered client', async () => {
    const browser = new Browser();
    await signInAndExchange(t.idp, browser, { username: 'alice', password: 'alice' });
    const request = authorizationRequest(t.idp, { prompt: 'consent', scope: 'openid email' });
    const page = await browser.navigate(request.url, { stopAt: atCallback });
    const tokens = await exchangeCode(t.idp, codeFrom(page, request), request);
    const { payload } = await jwtVerify(tokens.id_token, jwks);
    assert.equal(payload.email, 'alice@example.com');
  });

  test('a wrong password shows the form again with a message, never a 500', async () => {
    const browser = new Browser();
    const request = authorizationRequest(t.idp);
    const page = await browser.signIn(request.url, { username: 'alice', password: 'wrong', stopAt: atCallback });
    assert.equal(page.stopped, false);
    assert.equal(page.status, 401);
    assert.match(page.text, /Invalid username or password/);
    const [form] = parseForms(page.text, page.url);
    assert.equal(form?.fields.username, 'alice', 'the username is kept');
    assert.ok(form && 'password' in form.fields);
    // The same interaction still accepts the right password.
    const done = await browser.submit(page, { username: 'alice', password: 'alice' }, { stopAt: atCallback });
    assert.ok(codeFrom(done, request));
  });

  test('echoed input is HTML-escaped', async () => {
    const browser = new Browser();
    const request = authorizationRequest(t.idp, { login_hint: '"><script>alert(1)</script>' });
    const page = await browser.signIn(request.url, { username: '<img src=x onerror=alert(1)>', password: 'x', stopAt: atCallback });
    assert.equal(page.status, 401);
    assert.doesNotMatch(page.text, /<img src=x/);
    assert.match(page.text, /&lt;img src=x onerror=alert\(1\)&gt;/);
  });

  test('acr_values=mfa adds a one-time-code step; a wrong code shows it again, 123456 passes', async () => {
    const browser = new Browser();
    const request = authorizationRequest(t.idp, { acr_values: 'mfa' });
    const otpPage = await browser.signIn(request.url, { username: 'alice', password: 'alice', stopAt: atCallback });
    assert.equal(otpPage.stopped, false, 'the password alone must not finish an MFA login');
    assert.ok(parseForms(otpPage.text, otpPage.url).some((f) => 'otp' in f.fields));

    const retry = await browser.submit(otpPage, { otp: '000000' }, { stopAt: atCallback });
    assert.equal(retry.stopped, false);
    assert.equal(retry.status, 401);
    assert.match(retry.text, /not valid/);
    assert.ok(parseForms(retry.text, retry.url).some((f) => 'otp' in f.fields));

    const done = await browser.submit(retry, { otp: '123456' }, { stopAt: atCallback });
    const tokens = await exchangeCode(t.idp, codeFrom(done, request), request);
    const { payload } = await jwtVerify(tokens.id_token, jwks, { issuer: t.idp.issuer, audience: DEV_CLIENT_ID });
    assert.equal(payload.acr, 'mfa');
    assert.ok(Array.isArray(payload.amr));
    assert.ok((payload.amr as string[]).includes('pwd'));
    assert.ok((payload.amr as string[]).includes('mfa'));

    // The IdP session now satisfies MFA silently.
    const silent = await silentAuth(t.idp, browser, { acr_values: 'mfa' });
    assert.ok(silent.params.get('code'), silent.params.get('error') ?? '');
  });

  test('prompt=none with acr_values=mfa on a password-only session answers login_required; step-up asks only the code', async () => {
    const browser = new Browser();
    await signInAndExchange(t.idp, browser, { username: 'bob', password: 'bob' });
    const silent = await silentAuth(t.idp, browser, { acr_values: 'mfa' });
    assert.equal(silent.params.get('error'), 'login_required');

    const request = authorizationRequest(t.idp, { acr_values: 'mfa' });
    const page = await browser.navigate(request.url, { stopAt: atCallback });
    const forms = parseForms(page.text, page.url);
    assert.ok(forms.some((f) => 'otp' in f.fields), 'step-up shows the code form');
    assert.ok(!forms.some((f) => 'password' in f.fields), 'step-up does not ask for the password again');
    const done = await browser.submit(page, { otp: '123456' }, { stopAt: atCallback });
    const tokens = await exchangeCode(t.idp, codeFrom(done, request), request);
    const { payload } = await jwtVerify(tokens.id_token, jwks);
    assert.equal(payload.sub, 'bob');
    assert.equal(payload.acr, 'mfa');
  });
});
