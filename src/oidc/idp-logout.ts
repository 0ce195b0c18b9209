import type { Logger } from '../observability/log.js';
import type { TesseraMetrics } from '../observability/metrics.js';

/**
 * Mosaic's logout API: `POST {api}/cis/v1/auth/logout` with the user's access token. Called
 * after the local session is gone; a failure is logged and never blocks the local logout.
 */
export async function logoutAtIdp(url: string, accessToken: string, observability: { logger: Logger; metrics?: TesseraMetrics | undefined }, timeoutMs = 3000): Promise<boolean> {
  const { logger, metrics } = observability;
  try {
    const response = await (metrics?.idpFetch('logout') ?? fetch)(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${accessToken}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.body?.cancel();
    if (!response.ok) {
      logger.warn({ status: response.status }, 'identity provider logout failed');
      return false;
    }
    return true;
  } catch (err) {
    logger.warn({ error: (err as Error).message }, 'identity provider logout failed');
    return false;
  }
}
