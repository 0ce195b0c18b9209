// Peer: express-openid-connect 3 (encrypted cookie session) protecting a handler (anchors/eoc.mjs).
import express from 'express';
import eoc from 'express-openid-connect';
import { ready } from './ready.mjs';
const app = express();
app.use(eoc.auth({ issuerBaseURL: 'http://127.0.0.1:3999', baseURL: 'http://127.0.0.1:4100', clientID: 'eoc', clientSecret: 'eoc-secret-eoc-secret-eoc-secret-1234', secret: 'a-long-random-secret-value-for-cookie-encryption-123', authRequired: true, authorizationParams: { response_type: 'code', scope: 'openid' } }));
app.get('/', (req, res) => res.type('text').send('ok ' + req.oidc.user.sub));
app.listen(4100, '127.0.0.1', () => ready({ port: 4100 }));
