/**
 * The part of `oidc-provider` (v9, which ships no type declarations) that the dev IdP uses.
 * Internal: nothing here is reachable from the public `tessera/dev-idp` types.
 */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export type UnknownObject = Record<string, unknown>;

  export interface AdapterPayload extends UnknownObject {
    jti?: string;
    grantId?: string;
    userCode?: string;
    uid?: string;
    accountId?: string;
    consumed?: number;
  }

  export interface Adapter {
    upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void>;
    find(id: string): Promise<AdapterPayload | undefined>;
    findByUserCode(userCode: string): Promise<AdapterPayload | undefined>;
    findByUid(uid: string): Promise<AdapterPayload | undefined>;
    consume(id: string): Promise<void>;
    destroy(id: string): Promise<void>;
    revokeByGrantId(grantId: string): Promise<void>;
  }

  export interface ClientInstance {
    clientId: string;
    clientName?: string;
    backchannelLogoutUri?: string;
    redirectUris: string[];
    postLogoutRedirectUris: string[];
    grantTypeAllowed(type: string): boolean;
    redirectUriAllowed(value: string): boolean;
    postLogoutRedirectUriAllowed(value: string): boolean;
    includeSid(): boolean;
    backchannelLogout(sub: string, sid: string | undefined): Promise<void>;
  }

  export interface ClientClass {
    find(id: string): Promise<ClientInstance | undefined>;
    prototype: ClientInstance;
  }

  export interface SessionInstance {
    jti: string;
    uid: string;
    accountId?: string;
    acr?: string;
    amr?: string[];
    authorizations?: Record<string, { sid?: string; grantId?: string }>;
    grantIdFor(clientId: string): string | undefined;
    sidFor(clientId: string): string | undefined;
    destroy(): Promise<void>;
  }

  export interface SessionClass {
    find(id: string): Promise<SessionInstance | undefined>;
  }

  export interface GrantInstance {
    jti: string;
    accountId: string;
    clientId: string;
    addOIDCScope(scope: string): void;
    addOIDCClaims(claims: string[]): void;
    addResourceScope(resource: string, scope: string): void;
    save(): Promise<string>;
  }

  export interface GrantClass {
    new (properties: { accountId: string; clientId: string }): GrantInstance;
    find(id: string): Promise<GrantInstance | undefined>;
  }

  export interface AccessTokenInstance {
    save(): Promise<string>;
  }

  export interface IdTokenInstance {
    ctx?: KoaContextWithOIDC;
    extra: UnknownObject;
    set(key: string, value: unknown): void;
    issue(options?: { use?: string; expiresAt?: number }): Promise<string>;
  }

  export interface InteractionDetails {
    uid: string;
    exp: number;
    params: Record<string, string | undefined>;
    prompt: { name: string; reasons: string[]; details: UnknownObject };
    session?: { accountId: string; uid?: string; acr?: string; amr?: string[] };
    grantId?: string;
    result?: UnknownObject;
    save(ttl: number): Promise<string>;
  }

  export interface InteractionResults extends UnknownObject {
    login?: { accountId: string; acr?: string; amr?: string[]; remember?: boolean; ts?: number };
    consent?: { grantId?: string };
    error?: string;
    error_description?: string;
  }

  /** The Koa context as the dev IdP touches it. */
  export interface KoaContextWithOIDC {
    method: string;
    path: string;
    host: string;
    status: number;
    type: string;
    body: unknown;
    query: Record<string, string | string[] | undefined>;
    req: IncomingMessage;
    res: ServerResponse;
    oidc: OIDCContext;
    accepts(...types: string[]): string | false;
  }

  export interface OIDCContext {
    route: string;
    params: Record<string, string | undefined>;
    body?: Record<string, string | undefined>;
    client?: ClientInstance;
    session: SessionInstance;
    /** The account of the session, when findAccount found one. */
    account?: { accountId: string };
    result?: InteractionResults;
    entities: UnknownObject;
    resourceServers: Record<string, { scopes: Set<string> }>;
    requestParamScopes: Set<string>;
    requestParamOIDCScopes: Set<string>;
    requestParamClaims: Set<string>;
    provider: Provider;
  }

  export type Middleware = (ctx: KoaContextWithOIDC, next: () => Promise<void>) => Promise<void>;

  export interface ErrorOut extends UnknownObject {
    error?: string;
    error_description?: string;
  }

  export class Provider {
    constructor(issuer: string, configuration: UnknownObject);
    readonly issuer: string;
    proxy: boolean;
    readonly Client: ClientClass;
    readonly Session: SessionClass;
    readonly Grant: GrantClass;
    readonly AccessToken: { prototype: AccessTokenInstance };
    readonly IdToken: { prototype: IdTokenInstance };
    callback(): (req: IncomingMessage, res: ServerResponse) => Promise<void>;
    use(middleware: Middleware): this;
    on(event: string, listener: (...args: unknown[]) => void): this;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
    interactionFinished(
      req: IncomingMessage,
      res: ServerResponse,
      result: InteractionResults,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<void>;
  }

  export namespace interactionPolicy {
    class Check {
      constructor(
        reason: string,
        description: string,
        error: string,
        check: (ctx: KoaContextWithOIDC) => boolean | Promise<boolean>,
      );
      static readonly REQUEST_PROMPT: true;
      static readonly NO_NEED_TO_PROMPT: false;
    }
    interface Prompt {
      name: string;
      checks: Check[] & { add(check: Check, index?: number): void };
    }
    function base(): Prompt[] & { get(name: string): Prompt | undefined };
  }

  export default Provider;
}
