import type { TesseraConfig } from '../config/index.js';
import type { KeyRing } from '../keys/index.js';
import type { IdentityProvider } from '../oidc/provider.js';
import type { TransactionCookies } from '../oidc/transaction.js';
import type { SessionManager } from '../session/manager.js';
import type { SessionStore } from '../stores/types.js';
import type { Verifiers } from '../oidc/verifiers.js';
import type { Logger } from '../observability/log.js';
import type { TesseraMetrics } from '../observability/metrics.js';

/** What every `/auth/*` route works with. */
export interface RouteContext {
  config: TesseraConfig;
  keys: KeyRing;
  provider: IdentityProvider;
  sessions: SessionManager;
  /** For single-use markers (`putOnce`); sessions go through `sessions`. */
  store: SessionStore;
  transactions: TransactionCookies;
  verifiers: Verifiers;
  metrics: TesseraMetrics;
  logger: Logger;
}
