// Tessera's Mosaic-shaped development IdP, which the Tessera targets sign in to.
import { startDevIdp } from '../../dist/dev-idp/index.js';
import { ready } from './ready.mjs';
const idp = await startDevIdp({ port: Number(process.env.PORT ?? 4000), dataDir: process.env.DATA_DIR, quiet: true });
ready({ issuer: idp.issuer, discoveryUrl: idp.discoveryUrl });
