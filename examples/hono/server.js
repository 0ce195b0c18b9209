import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { createTessera, loadConfig } from 'tessera';
import { requireSession, tesseraHono } from 'tessera/hono';

const config = loadConfig(process.env);
const tessera = createTessera(config);

const app = new Hono();
// Serves /auth/* and checks every other request; sign-in is optional where no rule says otherwise.
app.use(tesseraHono(tessera, { required: false }));

app.get('/', (c) => {
  const session = c.get('tessera');
  if (!session) return c.html('<p>Not signed in. <a href="/auth/login">Sign in</a></p>');
  return c.html(`<p>Hello ${session.sub} (roles ${session.roles.join(', ') || 'none'}). <a href="/admin">Admin</a> · <a href="/auth/logout">Sign out</a></p>`);
});

app.get('/admin', requireSession(tessera, { roles: ['admin'] }), (c) => c.html(`<p>Admin area, ${c.get('tessera').sub}.</p>`));

serve({ fetch: app.fetch, port: config.port, hostname: config.host }, () => {
  console.log(`hono example listening on ${config.publicUrl}`);
});
