import express from 'express';
import { createTessera, loadConfig } from 'tessera';
import { requireSession, tesseraExpress } from 'tessera/express';

// Every setting from the environment (TESSERA_*), as `tessera serve` reads them.
const config = loadConfig(process.env);
const tessera = createTessera(config);

const app = express();
// Serves /auth/* and checks the session of every other request (route rules apply).
app.use(tesseraExpress(tessera, { required: false }));

app.get('/', (req, res) => {
  if (!req.tessera) return res.send('<p>Not signed in. <a href="/auth/login">Sign in</a></p>');
  res.send(`<p>Hello ${req.tessera.sub} (roles ${req.tessera.roles.join(', ') || 'none'}). <a href="/admin">Admin</a> · <a href="/auth/logout">Sign out</a></p>`);
});

// One route that needs the admin role.
app.get('/admin', requireSession(tessera, { roles: ['admin'] }), (req, res) => {
  res.send(`<p>Admin area, ${req.tessera.sub}.</p>`);
});

app.listen(config.port, config.host, () => console.log(`express example listening on ${config.publicUrl}`));
