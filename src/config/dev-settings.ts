import { z } from 'zod';
import { optionsSchema } from './schema.js';

const seconds = 'expected a whole number of seconds from 1 to 31622400 (366 days)';

/**
 * The settings of the development identity provider (`tessera dev`, `tessera dev-idp`). They are
 * not part of the Tessera configuration, but are read by the same loader from the same places
 * (a `--config` file, the environment, flags) and may stand in the same `--config` file.
 */
export const devIdpSettings = {
  /** The dev IdP's port (0 picks a free one); the dev IdP's own default is 4000. */
  TESSERA_DEV_IDP_PORT: optionsSchema.shape.port.unwrap().optional(), // the same rule as TESSERA_PORT
  /** Access-token lifetime in seconds; the dev IdP's own default is 3600. */
  TESSERA_DEV_IDP_ACCESS_TOKEN_TTL: z.union([z.number(), z.string().trim().regex(/^\d+$/, seconds).transform(Number)], { error: seconds })
    .pipe(z.number().int(seconds).min(1, seconds).max(366 * 24 * 3600, seconds))
    .optional(),
} as const;

export type DevIdpSettingName = keyof typeof devIdpSettings;
