import Router from '@koa/router';
import Cookies from 'cookies';
import Koa from 'koa';
import mount from 'koa-mount';
import type Provider from 'oidc-provider';
import { pino, type DestinationStream, type Logger } from 'pino';

import { createAdapterFactory } from './adapters/index.ts';
import { deleteExpiredPayloads } from './adapters/postgres.ts';
import { createAccessPasses } from './auth/access-passes.ts';
import { createPasswordLogin } from './auth/password-login.ts';
import { samlEntityId, type IdpConfig } from './config/index.ts';
import { deriveKey } from './crypto/derived-keys.ts';
import { certificateCommonName, KEYS_CHANGED_CHANNEL, loadSigningKeys } from './crypto/signing-keys.ts';
import { deriveVapidKeys } from './crypto/vapid-keys.ts';
import { createDemoRouter } from './demo/router.ts';
import { createChallengeAnnouncer } from './devices/announce.ts';
import { challengeRoutes, pendingAnnouncements } from './devices/challenge-routes.ts';
import { createLoggingPushGateway, type PushGateway } from './devices/push-gateway.ts';
import { pushRoutes } from './devices/push-routes.ts';
import { createPushSubscriptions } from './devices/push-subscriptions.ts';
import { createWebPushGateway } from './devices/web-push.ts';
import { createDeviceApi } from './devices/router.ts';
import { createDeviceService } from './devices/service.ts';
import { assets, SIMPLEWEBAUTHN_BROWSER } from './http/assets.ts';
import { clientAddress } from './http/client-address.ts';
import { requestContext } from './http/context.ts';
import { createCsrf } from './http/csrf.ts';
import { errorHandler } from './http/error-handler.ts';
import { createRenderer } from './http/render.ts';
import { securityHeaders } from './http/security-headers.ts';
import { createFlowRegistry } from './interactions/flow.ts';
import { countedFlows, createMetrics, type IdpMetrics } from './metrics/metrics.ts';
import { createInteractionRouter } from './interactions/router.ts';
import { createUserAttributes } from './identity/attributes.ts';
import { createVerificationTransactions, VERIFICATION_LIFETIME_SECONDS } from './identity/transactions.ts';
import { createUpstreamIdentityProvider } from './identity/upstream.ts';
import { createIdentityVerification } from './identity/verification.ts';
import { createChallengeAnswers } from './factors/device/answers.ts';
import { createChallengeStore } from './factors/device/challenges.ts';
import { createDeviceKinds } from './factors/device/kinds.ts';
import { createFactorRegistry, type FactorKind } from './factors/factor.ts';
import { createTotpFactors } from './factors/totp-factors.ts';
import { createTotpKinds } from './factors/totp-kinds.ts';
import { createCeremonyChallenges } from './factors/webauthn/challenges.ts';
import { createSecurityKeyKind } from './factors/webauthn/kind.ts';
import { relyingPartyOf } from './factors/webauthn/rules.ts';
import { CEREMONY_TIMEOUT_MS, createSecurityKeys } from './factors/webauthn/security-keys.ts';
import { createProvider, TTL } from './provider/index.ts';
import { createLoginRequirements } from './provider/login-requirements.ts';
import { endProviderSession, endSsoSessionOnLogout } from './provider/logout.ts';
import { stepUpPolicy } from './provider/step-up-check.ts';
import { createRefreshTokenRestatement } from './provider/token-assurance.ts';
import { identityRedirectUri } from './selfservice/identity-verification.ts';
import { createDanishPortalAddress, createSelfServiceRouter, selfServiceClient } from './selfservice/router.ts';
import { SSO_SESSION_LIMITS } from './sessions/sso-session.ts';
import { createSsoSessions } from './sessions/sso-sessions.ts';
import { createPortalSessions, SELFSERVICE_SESSION_LIMITS } from './selfservice/sessions.ts';
import { createAuthenticationStore } from './store/authentications.ts';
import { createOidcFlowProtocol } from './provider/oidc-flow.ts';
import { answerProviderOutages, noteProviderOutage } from './provider/outages.ts';
import { createProviderPages } from './provider/pages.ts';
import { createSamlRouter } from './saml/router.ts';
import { createAssertionEncryption } from './saml/assertion-encryption.ts';
import { createSamlFlowProtocol } from './saml/saml-flow.ts';
import { createSloEndpoint } from './saml/slo.ts';
import { createSsoEndpoint } from './saml/sso.ts';
import { createClientCache } from './store/client-cache.ts';
import type { PrivateJwk } from './store/signing-keys.ts';
import { POSTGRES_TIMEOUTS } from './store/database.ts';
import { openStorage, type Storage, type StorageOptions } from './store/index.ts';

/** Options of {@link createIdp}: the configuration plus what an embedding host may supply. */
export interface IdpOptions extends StorageOptions {
  config: IdpConfig;
  /** pino logger to use; a new one at `config.logLevel` by default. */
  logger?: Logger;
  /** Where that new logger writes. Defaults to pino's stdout. */
  logDestination?: DestinationStream;
  /** Serve the demo relying party at `/demo`. Defaults to false. */
  demo?: boolean;
  /** How often each node checks for rotated signing keys besides the pub/sub event. Defaults to 60 s. */
  keyCheckIntervalMs?: number;
  /** The clock for second factors and factor lifetimes, epoch ms. Defaults to `Date.now`; tests move it. */
  now?: () => number;
  /**
   * Second-factor kinds offered beside the built-in ones (code viewer, authenticator app), built
   * on this instance's storage. Defaults to none; the tests register a fake challenge kind here.
   */
  extraFactorKinds?: (storage: Storage) => FactorKind[];
  /**
   * How apps are told of a challenge while not holding the event stream. Defaults to the one
   * `PUSH_GATEWAY` names: Web Push (`devices/web-push.ts`) or the development gateway, which only logs.
   */
  pushGateway?: PushGateway;
  /** Heartbeat interval of the device and waiting-page event streams, ms. Defaults to 15 s; tests shorten it. */
  heartbeatMs?: number;
}

/** One IdP instance. Mount `app` in a host Koa app, or let `server.ts` listen with it. */
export interface Idp {
  app: Koa;
  /** Health, readiness and `/metrics`, for the management listener (`MANAGEMENT_PORT`). */
  management: Koa;
  metrics: IdpMetrics;
  /** The current oidc-provider instance (rebuilt when signing keys rotate). */
  readonly provider: Provider;
  storage: Storage;
  logger: Logger;
  /** Loads the signing keys again; called on rotation by every node. */
  reloadKeys(): Promise<void>;
  /** Stops timers and subscriptions and closes the storage pools. */
  close(): Promise<void>;
}

/**
 * Composes the identity provider: storage, rules, the oidc-provider instance, the interaction
 * pages and health endpoints, into one Koa app. The only place modules are wired together.
 */
export async function createIdp(options: IdpOptions): Promise<Idp> {
  const { config } = options;
  const now = options.now ?? Date.now;
  const logger = options.logger ?? pino({ level: config.logLevel, redact: { paths: ['password', '*.password', 'secret', '*.secret'], remove: true } }, options.logDestination);
  const metrics = createMetrics({ db: () => storage.db, ready: () => storage.ready() });
  const storage: Storage = await openStorage(config, {
    ...options,
    onAudit: metrics.observeAudit,
    migrate: options.migrate ?? true,
    onStoreError: (error) => logger.warn({ err: error }, 'short-lived store connection error'),
    // A connection the pool could not make fails the query that wanted it; that query's request
    // logs the outage once, with its id (issue 10), so knex's line for each attempt is left out.
    onDatabaseWarning: (message) => {
      if (!String(message).startsWith('Acquire connection error')) logger.warn({ detail: String(message).split('\n')[0] }, 'database warning');
    },
    statementTimeoutMs: options.statementTimeoutMs ?? POSTGRES_TIMEOUTS.statementMs,
  });
  if (storage.shortLived.kind === 'memory') {
    logger.warn('no REDIS_URL: using the in-process session store; run one process only');
  }

  // Clients as this node reads them for every request: kept in memory, forgotten on every node
  // when `stepup client remove` announces it (issue 10).
  const clients = await createClientCache({
    clients: storage.clients,
    store: storage.shortLived,
    onSubscribeError: (error) => logger.warn({ err: error }, 'cannot subscribe to client changes; a node keeps a client at most a minute'),
  });

  const basePath = new URL(config.issuer).pathname.replace(/\/$/, '');
  const secureCookies = config.production || new URL(config.issuer).protocol === 'https:';
  // One key list for our cookies and oidc-provider's, which share Koa's cookie jar when mounted.
  const cookieKeys = [deriveKey(config.secretKey, 'cookies').toString('base64url')];
  const render = createRenderer({ basePath });
  const pages = createProviderPages(render);
  const authentications = createAuthenticationStore(storage.shortLived);
  const sessions = createSsoSessions({
    store: storage.shortLived,
    limits: SSO_SESSION_LIMITS,
    accountActive: async (accountId) => (await storage.users.findById(accountId))?.status === 'active',
    cookiePath: basePath || '/',
    now,
  });
  const requirements = createLoginRequirements({ clients, lifetimes: config.factorLifetimes });
  const policy = stepUpPolicy({ requirements, sessions, now });
  const restateRefreshToken = createRefreshTokenRestatement({ clients, lifetimes: config.factorLifetimes, now });

  const buildProvider = (jwks: PrivateJwk[]) => {
    const built = createProvider({
      issuer: config.issuer,
      adapter: createAdapterFactory({ db: storage.db, store: storage.shortLived, clients }),
      jwks,
      users: storage.users,
      pages,
      cookieKeys,
      dpopNonceSecret: deriveKey(config.secretKey, 'dpop-nonce'),
      secureCookies,
      policy,
      staticClients: [selfServiceClient(config.issuer)],
      restateRefreshToken,
    });
    built.on('server_error', (ctx, error) => {
      if (!noteProviderOutage(ctx, error)) logger.error({ err: error }, 'oidc-provider server error');
    });
    built.on('grant.success', (ctx) => metrics.grantIssued(ctx.oidc.params?.grant_type));
    built.on('end_session.success', (ctx) => {
      void storage.audit.record({ type: 'logout', actor: ctx.oidc.session?.accountId ? `user:${ctx.oidc.session.accountId}` : 'anonymous', userId: ctx.oidc.session?.accountId, clientId: ctx.oidc.client?.clientId, ip: ctx.ip });
    });
    return { provider: built, kids: kidsOf(jwks) };
  };
  const kidsOf = (jwks: PrivateJwk[]) => jwks.map((jwk) => jwk.kid).join(',');

  const entityId = samlEntityId(config);
  const loadKeys = () => loadSigningKeys({ keys: storage.signingKeys, subject: { commonName: certificateCommonName(entityId, config.issuer), now } });
  const loadJwks = async () => (await loadKeys()).map((key) => key.privateJwk);
  let current = buildProvider(await loadJwks());
  let mounted = mount(current.provider);
  // oidc-provider fixes its keys when built, so new keys mean a new instance; the sessions,
  // grants and tokens it serves live in the stores and carry over.
  const reloadKeys = async () => {
    const jwks = await loadJwks();
    if (kidsOf(jwks) === current.kids) return;
    current = buildProvider(jwks);
    mounted = mount(current.provider);
    logger.info({ kids: current.kids }, 'signing keys reloaded');
  };
  const reloadQuietly = () => reloadKeys().catch((error: unknown) => logger.error({ err: error }, 'reloading signing keys failed'));
  // Without Redis at start the node still serves (and /readyz says 503); the periodic check
  // below picks up rotations the subscription would have announced.
  const unsubscribe = await storage.shortLived.subscribe(KEYS_CHANGED_CHANNEL, () => void reloadQuietly()).catch((error: unknown) => {
    logger.warn({ err: error }, 'cannot subscribe to key rotation events; relying on the periodic check');
    return async () => {};
  });
  const keyCheck = setInterval(reloadQuietly, options.keyCheckIntervalMs ?? 60_000);
  const cleanup = setInterval(() => {
    deleteExpiredPayloads(storage.db).catch((error: unknown) => logger.warn({ err: error }, 'deleting expired payloads failed'));
  }, 60 * 60_000);
  keyCheck.unref();
  cleanup.unref();

  const passwordLogin = createPasswordLogin({
    users: storage.users,
    store: storage.shortLived,
    audit: storage.audit,
    argon2: config.argon2,
    limits: config.lockout,
    usernameKey: deriveKey(config.secretKey, 'audit-username'),
  });
  const totp = createTotpFactors({
    tokens: storage.totpTokens,
    audit: storage.audit,
    windows: config.totpWindows,
    limits: config.factorLockout,
    now,
  });
  const vapidKeys = deriveVapidKeys(config.secretKey);
  const pushGateway = options.pushGateway ?? (config.push.gateway === 'webpush'
    ? createWebPushGateway({ vapid: { subject: config.push.vapidSubject, ...vapidKeys }, ttlSeconds: config.challenges.ttlSeconds, log: logger })
    : createLoggingPushGateway(logger));
  if (!options.pushGateway && config.push.gateway === 'log' && config.production) {
    // Logins still work (apps see challenges while open, or by polling), so this is no reason to stop.
    logger.warn('PUSH_GATEWAY is log: apps will not be pushed to, and see a challenge only while open or when they poll; set VAPID_SUBJECT to push with Web Push');
  }
  const pushSubscriptions = createPushSubscriptions({ devices: storage.devices, audit: storage.audit, gateway: pushGateway });
  const deviceService = createDeviceService({
    devices: storage.devices,
    pairingCodes: storage.pairingCodes,
    users: storage.users,
    audit: storage.audit,
    store: storage.shortLived,
    pairingKey: deriveKey(config.secretKey, 'pairing-code'),
    pinKey: deriveKey(config.secretKey, 'device-pin'),
    limits: config.factorLockout,
    now,
  });
  const challenges = createChallengeStore({ store: storage.shortLived, maxPending: config.challenges.maxPending, now });
  const deviceKinds = createDeviceKinds({
    devices: storage.devices,
    revoke: deviceService.revoke,
    challenges,
    audit: storage.audit,
    announce: createChallengeAnnouncer({ store: storage.shortLived, push: pushSubscriptions, log: logger }),
    numberMatching: async (clientId) => (await clients.find(clientId))?.numberMatching ?? config.challenges.numberMatching,
    challengeTtlMs: config.challenges.ttlSeconds * 1000,
    now,
  });
  const securityKeys = createSecurityKeys({
    credentials: storage.webauthnCredentials,
    challenges: createCeremonyChallenges({ store: storage.shortLived, ttlMs: CEREMONY_TIMEOUT_MS + 60_000 }),
    audit: storage.audit,
    relyingParty: relyingPartyOf(config.issuer),
    relyingPartyName: new URL(config.issuer).host,
    now,
  });
  const securityKeyKind = createSecurityKeyKind({ keys: securityKeys, credentials: storage.webauthnCredentials });
  const factors = createFactorRegistry([...createTotpKinds(totp, storage), ...deviceKinds, securityKeyKind, ...(options.extraFactorKinds?.(storage) ?? [])], {
    defaultFactorOf: (userId) => storage.users.defaultFactorId(userId),
  });
  const accessPasses = createAccessPasses({
    passes: storage.accessPasses,
    audit: storage.audit,
    key: deriveKey(config.secretKey, 'access-pass'),
    maxFailures: config.factorLockout.maxFailures,
    now,
  });
  // FIRST_FACTOR_ENROLMENT=identity: employees verify their identity at the upstream (issue 9).
  const identity = config.identity && createIdentityVerification({
    upstream: createUpstreamIdentityProvider({ upstream: config.identity, redirectUri: identityRedirectUri(config.issuer) }),
    transactions: createVerificationTransactions({ store: storage.shortLived, lifetimeSeconds: VERIFICATION_LIFETIME_SECONDS, now }),
    attributes: createUserAttributes({ users: storage.users, key: deriveKey(config.secretKey, 'user-attribute') }),
    audit: storage.audit,
    settings: config.identity,
    log: logger,
    now,
  });
  const answers = createChallengeAnswers({ challenges, checkPin: deviceService.checkPin, audit: storage.audit, now });
  const deviceApi = createDeviceApi({
    issuer: config.issuer,
    service: deviceService,
    devices: storage.devices,
    store: storage.shortLived,
    now,
    heartbeatMs: options.heartbeatMs,
    pendingChallenges: pendingAnnouncements(answers),
    extensions: [challengeRoutes({ answers }), pushRoutes({ subscriptions: pushSubscriptions, vapidPublicKey: vapidKeys.publicKey, serviceHosts: config.pushServiceHosts })],
  });
  const samlFlows = createSamlFlowProtocol({
    entityId,
    store: storage.shortLived,
    serviceProviders: storage.serviceProviders,
    users: storage.users,
    audit: storage.audit,
    keys: loadKeys,
    sessions,
    encryptAssertion: createAssertionEncryption({ entityId, issuer: config.issuer }),
    nameIdKey: deriveKey(config.secretKey, 'saml-nameid'),
    lifetimes: config.factorLifetimes,
    ttlSeconds: TTL.Interaction,
    render,
    basePath,
    now,
  });
  const flows = createFlowRegistry([createOidcFlowProtocol({ provider: () => current.provider, requirements }), samlFlows].map((protocol) => countedFlows(protocol, metrics)));
  const csrf = createCsrf({ key: deriveKey(config.secretKey, 'csrf'), issuer: config.issuer });

  const health = new Router();
  health.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  health.get('/readyz', async (ctx) => {
    const ready = await storage.ready();
    ctx.status = ready.database && ready.shortLived ? 200 : 503;
    ctx.body = { status: ctx.status === 200 ? 'ready' : 'unavailable', database: ready.database, [storage.shortLived.kind]: ready.shortLived };
  });

  // Koa's `proxy` stays off: `clientAddress` reads the forwarding headers, trusting only TRUST_PROXY.
  const app = new Koa({ keys: cookieKeys });
  // What fails after a response has started (a streamed body broken off) reaches Koa's 'error'
  // event, not the error handler. A client leaving an event stream is how those streams end.
  app.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'ERR_STREAM_PREMATURE_CLOSE') return;
    logger.error({ err: error }, 'response failed after it started');
  });
  app.use(metrics.timing);
  app.use(clientAddress(config.trustProxy));
  // Mounted in a host app, the request's cookie jar is the host's, signed with the host's keys
  // (or none): give every request a jar signed with ours.
  app.use((ctx, next) => {
    ctx.cookies = new Cookies(ctx.req, ctx.res, { keys: cookieKeys, secure: ctx.request.secure });
    return next();
  });
  app.use(requestContext({ log: logger, secureCookies }));
  app.use(securityHeaders());
  app.use(errorHandler(render));
  app.use(health.routes());

  // The management listener's app (`MANAGEMENT_PORT`): health, readiness and the metrics, which
  // stay off the public port.
  const management = new Koa();
  const scrape = new Router();
  scrape.get('/metrics', async (ctx) => {
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  });
  management.use(health.routes()).use(scrape.routes());
  app.use(assets(['idp.css', 'wait.js', 'saml-post.js', 'webauthn.js', SIMPLEWEBAUTHN_BROWSER]));
  // Before oidc-provider's mount: every /api/device/v1/ path is answered here, in JSON.
  app.use(deviceApi.middleware);
  app.use(createInteractionRouter({
    flows, passwordLogin, factors, authentications, sessions, csrf, render, basePath, now, flowTtlSeconds: TTL.Interaction, heartbeatMs: options.heartbeatMs,
  }).routes());
  app.use(createSelfServiceRouter({
    issuer: config.issuer,
    basePath,
    render,
    csrf,
    factors,
    totp,
    devices: deviceService,
    securityKeys,
    users: storage.users,
    sessions: createPortalSessions({ store: storage.shortLived, limits: SELFSERVICE_SESSION_LIMITS, now }),
    accessPasses,
    audit: storage.audit,
    firstFactorEnrolment: config.firstFactorEnrolment,
    identity,
    stepUpMaxAge: config.selfServiceStepUpMaxAge,
    issuerName: new URL(config.issuer).host,
    now,
  }).routes());
  app.use(createDanishPortalAddress(basePath).routes());
  const sso = createSsoEndpoint({
    serviceProviders: storage.serviceProviders,
    store: storage.shortLived,
    audit: storage.audit,
    flows: samlFlows,
    skewSeconds: config.samlClockSkewSeconds,
    ssoUrl: `${config.issuer}/saml/sso`,
    basePath,
    now,
  });
  const slo = createSloEndpoint({
    entityId,
    sloUrl: `${config.issuer}/saml/slo`,
    serviceProviders: storage.serviceProviders,
    store: storage.shortLived,
    audit: storage.audit,
    sessions,
    endSession: async (ctx) => {
      await sessions.end(ctx);
      await endProviderSession(current.provider, ctx);
    },
    keys: loadKeys,
    render,
    skewSeconds: config.samlClockSkewSeconds,
    basePath,
    now,
  });
  app.use(createSamlRouter({ issuer: config.issuer, entityId, keys: loadKeys, sso, slo }).routes());
  if (options.demo) app.use(createDemoRouter({ issuer: config.issuer, render }).routes());
  app.use(endSsoSessionOnLogout(sessions));
  app.use(answerProviderOutages());
  app.use((ctx, next) => mounted(ctx, next));

  return {
    app,
    management,
    metrics,
    get provider() {
      return current.provider;
    },
    storage,
    logger,
    reloadKeys,
    async close() {
      clearInterval(keyCheck);
      clearInterval(cleanup);
      deviceApi.streams.closeAll();
      await unsubscribe().catch(() => {});
      await clients.close().catch(() => {});
      await storage.close();
    },
  };
}
