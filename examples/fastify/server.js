import Fastify from 'fastify';
import { createTessera, loadConfig } from 'tessera';
import { requireSession, tesseraFastify } from 'tessera/fastify';

const config = loadConfig(process.env);
const tessera = createTessera(config);

const app = Fastify();
// Serves /auth/* and checks every other request; `required: false` makes sign-in optional
// where no route rule says otherwise, so `/` can greet anonymous visitors.
await app.register(tesseraFastify(tessera, { required: false }));

app.get('/', async (request, reply) => {
  reply.type('text/html');
  if (!request.tessera) return '<p>Not signed in. <a href="/auth/login">Sign in</a></p>';
  return `<p>Hello ${request.tessera.sub} (roles ${request.tessera.roles.join(', ') || 'none'}). <a href="/admin">Admin</a> · <a href="/auth/logout">Sign out</a></p>`;
});

app.get('/admin', { onRequest: requireSession(tessera, { roles: ['admin'] }) }, async (request, reply) => {
  reply.type('text/html');
  return `<p>Admin area, ${request.tessera.sub}.</p>`;
});

await app.listen({ port: config.port, host: config.host });
console.log(`fastify example listening on ${config.publicUrl}`);
