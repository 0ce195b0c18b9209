// Peer: express-session + connect-redis (server-side session, no token checks) (anchors/es.mjs).
import express from 'express';
import session from 'express-session';
import { RedisStore } from 'connect-redis';
import { createClient } from 'redis';
import { ready } from './ready.mjs';
const client = createClient({ url: 'redis://127.0.0.1:6379' });
await client.connect();
const app = express();
app.use(session({ store: new RedisStore({ client, prefix: process.env.REDIS_PREFIX ?? 'sess:' }), secret: 'keyboard-cat-secret', resave: false, saveUninitialized: false, cookie: { httpOnly: true, sameSite: 'lax' } }));
app.get('/seed', (req, res) => { req.session.user = { sub: 'alice', roles: ['r1'] }; res.send('seeded'); });
app.get('/', (req, res) => { if (!req.session.user) return res.status(401).end(); res.type('text').send('ok ' + req.session.user.sub); });
app.listen(4300, '127.0.0.1', () => ready({ port: 4300 }));
