// The OpenID Provider the peers sign in to: oidc-provider with dev interactions (anchors/op.mjs).
import Provider from 'oidc-provider';
import { ready } from './ready.mjs';
const p = new Provider('http://127.0.0.1:3999', {
  clients: [{ client_id: 'eoc', client_secret: 'eoc-secret-eoc-secret-eoc-secret-1234', redirect_uris: ['http://127.0.0.1:4100/callback', 'http://127.0.0.1:4200/redirect_uri'], post_logout_redirect_uris: ['http://127.0.0.1:4100'] }],
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => false },
});
p.proxy = true;
const quiet = console.warn;
console.warn = (...args) => { if (!String(args[0]).includes('oidc-provider')) quiet(...args); };
p.listen(3999, '127.0.0.1', () => ready({ port: 3999 }));
