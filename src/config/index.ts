import { isIP } from 'node:net';

import { OPTIONS, type OptionName, type OptionSpec } from './options.ts';
import { resolveSecretKey } from './secret-key.ts';

/** Password hashing parameters (argon2id). */
export interface Argon2Params {
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

/** Brute-force limits for password attempts. */
export interface LockoutLimits {
  maxFailures: number;
  baseSeconds: number;
  maxSeconds: number;
  ipMaxFailures: number;
  ipWindowSeconds: number;
}

/** TOTP windows, in time steps either side. */
export interface TotpWindows {
  verify: number;
  bind: number;
  resync: number;
}

/** Lock limits for second factors (wrong codes). */
export interface FactorLockoutLimits {
  maxFailures: number;
  baseSeconds: number;
  maxSeconds: number;
}

/** Challenges sent to desktop clients and apps. */
export interface ChallengeSettings {
  /** How long a challenge waits for its approval, seconds. */
  ttlSeconds: number;
  /** Challenges one user may have waiting at once. */
  maxPending: number;
  /** Number matching for every relying party that has no setting of its own. */
  numberMatching: boolean;
}

/**
 * How apps are told of a challenge (`PUSH_GATEWAY`): by Web Push, signed as `vapidSubject`
 * (RFC 8292), or only in the log.
 */
export type PushSettings = { gateway: 'log' } | { gateway: 'webpush'; vapidSubject: string };

/** How long each factor counts in an SSO session, in seconds. */
export interface FactorLifetimes {
  password: number;
  secondFactor: number;
}

/**
 * What lets an employee without a second factor add their first (ARCHITECTURE.md, "First
 * factor"): a one-time access pass from IT, a verification of their identity at an upstream
 * provider, or in the embedded demo the password alone.
 */
export type FirstFactorEnrolment = 'access-pass' | 'identity' | 'password';

/** The upstream OpenID provider that verifies an employee's identity (`IDENTITY_*`, issue 9). */
export interface IdentityUpstream {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Scopes asked for, `openid` among them. */
  scope: string;
  /** The claim that names the person. */
  claim: string;
  /** The employee's attribute the claim must equal (`email`, or one set with `stepup user set-attribute`). */
  userAttribute: string;
  /** The ID token's `acr` must be one of these. */
  acrValues: readonly string[];
  /** How long a verification lets the portal change devices, seconds. */
  holdSeconds: number;
}

/**
 * The proxies in front whose forwarding headers count (`TRUST_PROXY`): the nearest `hops` (0:
 * none), or those at these addresses and CIDR ranges.
 */
export type TrustProxy = { hops: number } | { addresses: readonly string[] };

/** The validated configuration of one IdP instance. See `options.ts` for each value's meaning. */
export interface IdpConfig {
  issuer: string;
  port: number;
  /** The management listener (`/metrics`, `/healthz`, `/readyz`). */
  managementPort: number;
  managementHost: string;
  /** Unset: embedded PGlite in `dataDir`. */
  databaseUrl: string | undefined;
  /** Unset: in-process store. */
  redisUrl: string | undefined;
  dataDir: string;
  secretKey: string;
  /** True when `secretKey` was generated into `dataDir` rather than given. */
  secretKeyGenerated: boolean;
  production: boolean;
  logLevel: string;
  trustProxy: TrustProxy;
  argon2: Argon2Params;
  lockout: LockoutLimits;
  totpWindows: TotpWindows;
  factorLockout: FactorLockoutLimits;
  challenges: ChallengeSettings;
  push: PushSettings;
  /** `PUSH_SERVICE_HOSTS`: an app's push endpoint must be at one of these hosts or below one. */
  pushServiceHosts: readonly string[];
  factorLifetimes: FactorLifetimes;
  /** How recently a self-service session must have proven a second factor to change devices, seconds. */
  selfServiceStepUpMaxAge: number;
  firstFactorEnrolment: FirstFactorEnrolment;
  /** The upstream that verifies identities; set exactly when `firstFactorEnrolment` is `identity`. */
  identity: IdentityUpstream | undefined;
  /** How long a rotated-in signing key is published before it signs, seconds (`SIGNING_KEY_LEAD_HOURS`). */
  signingKeyLeadSeconds: number;
  /** The IdP's SAML entityID (`SAML_ENTITY_ID`); unset: `{issuer}/saml`, see {@link samlEntityId}. */
  samlEntityId: string | undefined;
  /** How far an AuthnRequest's IssueInstant may be from our clock, seconds (`SAML_CLOCK_SKEW_SECONDS`). */
  samlClockSkewSeconds: number;
}

/** A configuration value that is wrong; `variable` names the environment variable. */
export class ConfigError extends Error {
  readonly variable: string;

  constructor(variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

type Env = Readonly<Record<string, string | undefined>>;

function readValue(spec: OptionSpec, raw: string | undefined): string | number | undefined {
  const value = raw === undefined || raw === '' ? spec.default : raw;
  if (value === undefined) return undefined;
  const fail = (message: string): never => {
    throw new ConfigError(spec.env, message);
  };
  switch (spec.kind) {
    case 'port':
    case 'integer': {
      if (!/^\d+$/.test(value)) fail(`must be a whole number, got "${value}"`);
      const n = Number(value);
      if (spec.kind === 'port' && (n < 1 || n > 65535)) fail(`must be a port from 1 to 65535, got ${n}`);
      if (spec.min !== undefined && n < spec.min) fail(`must be at least ${spec.min}, got ${n}`);
      return n;
    }
    case 'url':
    case 'https-url': {
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        return fail(`must be a URL, got "${value}"`);
      }
      if (spec.kind === 'https-url' && url.protocol !== 'https:') fail('must be an https URL');
      return value;
    }
    case 'enum':
      if (!spec.values?.includes(value)) fail(`must be one of ${spec.values?.join(', ')}, got "${value}"`);
      return value;
    case 'secret':
      if (value.length < 32) fail('must be at least 32 characters');
      return value;
    default:
      return value;
  }
}

function readAll(env: Env): Map<OptionName, string | number | undefined> {
  return new Map(OPTIONS.map((spec) => [spec.env, readValue(spec, env[spec.env])]));
}

/**
 * Reads and validates the configuration from the environment. The only place that reads
 * `process.env` passes it here. Throws {@link ConfigError} naming the variable that is wrong.
 *
 * In embedded mode (no `DATABASE_URL`) a missing `SECRET_KEY` is generated into `DATA_DIR`.
 * In production, embedded storage, a generated key and a non-https issuer are refused.
 */
export function loadConfig(env: Env): IdpConfig {
  const values = readAll(env);
  const str = (name: OptionName) => values.get(name) as string | undefined;

  const production = str('NODE_ENV') === 'production';
  const issuer = str('ISSUER') as string;
  const databaseUrl = str('DATABASE_URL');
  const redisUrl = str('REDIS_URL');
  const dataDir = str('DATA_DIR') as string;

  if (issuer.endsWith('/')) throw new ConfigError('ISSUER', 'must not end with a slash');
  if (databaseUrl && !/^postgres(ql)?:$/.test(new URL(databaseUrl).protocol)) {
    throw new ConfigError('DATABASE_URL', 'must be a postgres:// URL');
  }
  if (redisUrl && !/^rediss?:$/.test(new URL(redisUrl).protocol)) {
    throw new ConfigError('REDIS_URL', 'must be a redis:// or rediss:// URL');
  }
  if (production) {
    if (new URL(issuer).protocol !== 'https:') throw new ConfigError('ISSUER', 'must be an https URL in production');
    if (!databaseUrl) throw new ConfigError('DATABASE_URL', 'is required in production (embedded storage is for one process only)');
    if (!redisUrl) throw new ConfigError('REDIS_URL', 'is required in production (the in-process store is for one process only)');
    if (!str('SECRET_KEY')) throw new ConfigError('SECRET_KEY', 'is required in production');
  }
  const enrolment = str('FIRST_FACTOR_ENROLMENT');
  if (enrolment === 'identity') {
    for (const name of IDENTITY_REQUIRED) {
      if (!str(name)) throw new ConfigError(name, 'is required with FIRST_FACTOR_ENROLMENT=identity (the upstream identity provider, e.g. a MitID broker)');
    }
    if (production && new URL(str('IDENTITY_ISSUER') as string).protocol !== 'https:') throw new ConfigError('IDENTITY_ISSUER', 'must be an https URL in production');
  }
  if (production && enrolment === 'password') {
    throw new ConfigError('FIRST_FACTOR_ENROLMENT', 'password is for the embedded demo only; a stolen password must not add a device in production');
  }
  if (databaseUrl && !str('SECRET_KEY')) {
    throw new ConfigError('SECRET_KEY', 'is required with DATABASE_URL (every node must share it)');
  }

  const secret = resolveSecretKey({ given: str('SECRET_KEY'), dataDir });
  return { ...fromValues(values), secretKey: secret.key, secretKeyGenerated: secret.generated };
}

/** What `FIRST_FACTOR_ENROLMENT=identity` cannot do without: the upstream, our client there, and what to compare. */
const IDENTITY_REQUIRED = ['IDENTITY_ISSUER', 'IDENTITY_CLIENT_ID', 'IDENTITY_CLIENT_SECRET', 'IDENTITY_CLAIM', 'IDENTITY_USER_ATTRIBUTE'] as const satisfies readonly OptionName[];

/**
 * Reads the `IDENTITY_*` settings into the upstream's description. The scope must ask for an ID
 * token (`openid`, OIDC Core §3.1.2.1); an attribute name is what `stepup user set-attribute` accepts.
 */
function readIdentityUpstream(str: (name: OptionName) => string | undefined, holdSeconds: number): IdentityUpstream {
  const scope = (str('IDENTITY_SCOPE') as string).trim();
  if (!scope.split(/\s+/).includes('openid')) throw new ConfigError('IDENTITY_SCOPE', 'must include openid');
  const userAttribute = str('IDENTITY_USER_ATTRIBUTE') as string;
  if (!ATTRIBUTE_NAME.test(userAttribute)) throw new ConfigError('IDENTITY_USER_ATTRIBUTE', `must be email or a name of letters, digits, '.', '_' or '-', got "${userAttribute}"`);
  const acrValues = (str('IDENTITY_ACR') as string).split(/\s+/).filter(Boolean);
  if (acrValues.length === 0) throw new ConfigError('IDENTITY_ACR', 'must name at least one acr value');
  return {
    issuer: str('IDENTITY_ISSUER') as string,
    clientId: str('IDENTITY_CLIENT_ID') as string,
    clientSecret: str('IDENTITY_CLIENT_SECRET') as string,
    scope,
    claim: str('IDENTITY_CLAIM') as string,
    userAttribute,
    acrValues,
    holdSeconds,
  };
}

/** The name of an employee attribute (`IDENTITY_USER_ATTRIBUTE`, `stepup user set-attribute`). */
export const ATTRIBUTE_NAME = /^[A-Za-z][\w.-]{0,63}$/;

/**
 * Reads `TRUST_PROXY`: `false`/`0`, a hop count, or addresses and CIDR ranges. `true` is refused
 * rather than read as one hop: it used to mean "believe the leftmost X-Forwarded-For entry", and
 * guessing a count could put the client at a proxy (locking a whole site out) or past the client
 * (letting it choose its address again), so the operator says which.
 */
function parseTrustProxy(value: string): TrustProxy {
  const fail = (message: string): never => {
    throw new ConfigError('TRUST_PROXY', message);
  };
  if (value === 'false') return { hops: 0 };
  if (value === 'true') fail('give the number of proxies in front (e.g. 1 for one load balancer) or their addresses; "true" would let a client choose its address');
  if (/^\d+$/.test(value)) return { hops: Number(value) };
  const addresses = value.split(',').map((entry) => entry.trim());
  for (const entry of addresses) {
    const [address = '', prefix, extra] = entry.split('/');
    const family = isIP(address);
    const bits = family === 6 ? 128 : 32;
    const goodPrefix = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits);
    if (family === 0 || !goodPrefix || extra !== undefined) {
      fail(`must be false, a number of proxies, or IP addresses and CIDR ranges separated by commas; "${entry}" is none of these`);
    }
  }
  return { addresses };
}

/**
 * Reads `PUSH_GATEWAY` and `VAPID_SUBJECT`. RFC 8292 §2.1: the subject is a `mailto:` or https
 * URL; a localhost one is refused because Apple's push service rejects it (`BadJwtToken`).
 */
function readPushSettings(gateway: string | undefined, subject: string | undefined): PushSettings {
  if (subject !== undefined) {
    const url = new URL(subject);
    if (url.protocol !== 'mailto:' && url.protocol !== 'https:') throw new ConfigError('VAPID_SUBJECT', 'must be a mailto: or https: URL');
    if (url.hostname === 'localhost') throw new ConfigError('VAPID_SUBJECT', 'must not point to localhost; push services cannot reach it');
  }
  if ((gateway ?? (subject ? 'webpush' : 'log')) === 'log') return { gateway: 'log' };
  if (subject === undefined) throw new ConfigError('VAPID_SUBJECT', 'is required with PUSH_GATEWAY=webpush');
  return { gateway: 'webpush', vapidSubject: subject };
}

/**
 * Reads `PUSH_SERVICE_HOSTS`: host names separated by commas (a leading dot is dropped, letter
 * case ignored). A name of one label (`com`) is refused: it would let every host under a
 * top-level domain through, which is no rule at all; so is an IP address, which no push service
 * hands out and which would point the IdP's posts at one machine.
 */
function parsePushServiceHosts(value: string): string[] {
  const label = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
  const hostName = new RegExp(`^${label}(?:\\.${label})+$`);
  return value.split(',').map((entry) => {
    const host = entry.trim().toLowerCase().replace(/^\./, '');
    if (!hostName.test(host) || isIP(host)) {
      throw new ConfigError('PUSH_SERVICE_HOSTS', `must be host names of push services separated by commas (e.g. fcm.googleapis.com); "${entry.trim()}" is not one`);
    }
    return host;
  });
}

/** The configuration the option values describe, less the secret key. */
function fromValues(values: Map<OptionName, string | number | undefined>): Omit<IdpConfig, 'secretKey' | 'secretKeyGenerated'> {
  const str = (name: OptionName) => values.get(name) as string | undefined;
  const num = (name: OptionName) => values.get(name) as number;
  return {
    issuer: str('ISSUER') as string,
    port: num('PORT'),
    managementPort: num('MANAGEMENT_PORT'),
    managementHost: str('MANAGEMENT_HOST') as string,
    databaseUrl: str('DATABASE_URL'),
    redisUrl: str('REDIS_URL'),
    dataDir: str('DATA_DIR') as string,
    production: str('NODE_ENV') === 'production',
    logLevel: str('LOG_LEVEL') as string,
    trustProxy: parseTrustProxy(str('TRUST_PROXY') as string),
    argon2: {
      memoryCost: num('ARGON2_MEMORY_KIB'),
      timeCost: num('ARGON2_TIME_COST'),
      parallelism: num('ARGON2_PARALLELISM'),
    },
    lockout: {
      maxFailures: num('LOCKOUT_MAX_FAILURES'),
      baseSeconds: num('LOCKOUT_BASE_SECONDS'),
      maxSeconds: num('LOCKOUT_MAX_SECONDS'),
      ipMaxFailures: num('IP_MAX_FAILURES'),
      ipWindowSeconds: num('IP_WINDOW_SECONDS'),
    },
    totpWindows: {
      verify: num('TOTP_WINDOW_STEPS'),
      bind: num('TOTP_BIND_WINDOW_STEPS'),
      resync: num('TOTP_RESYNC_WINDOW_STEPS'),
    },
    factorLockout: {
      maxFailures: num('FACTOR_LOCKOUT_MAX_FAILURES'),
      baseSeconds: num('FACTOR_LOCKOUT_BASE_SECONDS'),
      maxSeconds: num('FACTOR_LOCKOUT_MAX_SECONDS'),
    },
    challenges: {
      ttlSeconds: num('CHALLENGE_TTL_SECONDS'),
      maxPending: num('CHALLENGE_MAX_PENDING'),
      numberMatching: str('NUMBER_MATCHING') === 'on',
    },
    push: readPushSettings(str('PUSH_GATEWAY'), str('VAPID_SUBJECT')),
    pushServiceHosts: parsePushServiceHosts(str('PUSH_SERVICE_HOSTS') as string),
    factorLifetimes: {
      password: num('PASSWORD_MAX_AGE_MINUTES') * 60,
      secondFactor: num('SECOND_FACTOR_MAX_AGE_MINUTES') * 60,
    },
    selfServiceStepUpMaxAge: num('SELFSERVICE_STEP_UP_MAX_AGE') * 60,
    firstFactorEnrolment: (str('FIRST_FACTOR_ENROLMENT') as FirstFactorEnrolment | undefined) ?? (str('DATABASE_URL') ? 'access-pass' : 'password'),
    identity: str('FIRST_FACTOR_ENROLMENT') === 'identity' ? readIdentityUpstream(str, num('IDENTITY_VERIFICATION_SECONDS')) : undefined,
    signingKeyLeadSeconds: num('SIGNING_KEY_LEAD_HOURS') * 3600,
    samlEntityId: str('SAML_ENTITY_ID'),
    samlClockSkewSeconds: num('SAML_CLOCK_SKEW_SECONDS'),
  };
}

/**
 * The configuration an embedding application starts from: every default, with the values it
 * gives laid over them. Nothing is read from the environment or written to disk.
 */
export function configWith(overrides: Partial<IdpConfig> & Pick<IdpConfig, 'secretKey'>): IdpConfig {
  if (overrides.secretKey.length < 32) throw new ConfigError('SECRET_KEY', 'must be at least 32 characters');
  const defaults = fromValues(readAll({}));
  const firstFactorEnrolment = overrides.databaseUrl ? 'access-pass' : defaults.firstFactorEnrolment;
  const config: IdpConfig = { ...defaults, firstFactorEnrolment, secretKeyGenerated: false, ...overrides };
  if ((config.firstFactorEnrolment === 'identity') !== (config.identity !== undefined)) {
    throw new ConfigError('FIRST_FACTOR_ENROLMENT', 'identity and the upstream identity provider (IDENTITY_*) go together: set both or neither');
  }
  return config;
}

/** The IdP's SAML entityID: `SAML_ENTITY_ID`, or `{ISSUER}/saml` (issue "Step 5"). */
export function samlEntityId(config: Pick<IdpConfig, 'issuer' | 'samlEntityId'>): string {
  return config.samlEntityId ?? `${config.issuer}/saml`;
}
