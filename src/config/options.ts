/**
 * Every setting the IdP reads from the environment, with its default and why.
 *
 * This table is the one place configuration is described: `loadConfig()` validates against it,
 * and a test checks that the README's configuration table names exactly these variables.
 */

/** How a value from the environment is read. */
export type OptionKind = 'url' | 'https-url' | 'port' | 'integer' | 'string' | 'path' | 'secret' | 'enum';

export interface OptionSpec {
  /** The environment variable. */
  readonly env: string;
  readonly kind: OptionKind;
  /** Default as the environment would spell it; `undefined` means "unset" has its own meaning. */
  readonly default: string | undefined;
  /** What it means, for the README. */
  readonly description: string;
  /** Smallest accepted value, for integers. */
  readonly min?: number;
  /** Accepted values, for enums. */
  readonly values?: readonly string[];
}

export const OPTIONS = [
  {
    env: 'ISSUER',
    kind: 'url',
    default: 'http://localhost:3000',
    description: 'The OpenID Connect issuer identifier: the public URL of the IdP, with the path prefix if it is mounted under one. Must be https in production.',
  },
  {
    env: 'PORT',
    kind: 'port',
    default: '3000',
    description: 'TCP port the standalone server listens on.',
  },
  {
    env: 'MANAGEMENT_PORT',
    kind: 'port',
    default: '9000',
    description: 'TCP port of the management listener: `/metrics` (Prometheus), `/healthz` and `/readyz`, apart from the public port, as Keycloak\'s management interface is.',
  },
  {
    env: 'MANAGEMENT_HOST',
    kind: 'string',
    default: '127.0.0.1',
    description: 'Address the management listener binds to. The loopback default keeps the metrics off the network; give an internal address (or `0.0.0.0` behind a firewall) for a Prometheus on another host.',
  },
  {
    env: 'DATABASE_URL',
    kind: 'url',
    default: undefined,
    description: 'Postgres connection string. Unset: embedded PGlite in `DATA_DIR` (one process only; refused in production).',
  },
  {
    env: 'REDIS_URL',
    kind: 'url',
    default: undefined,
    description: 'Redis connection string for sessions, counters and events between nodes. Unset: an in-process store (one process only; refused in production).',
  },
  {
    env: 'DATA_DIR',
    kind: 'path',
    default: './data',
    description: 'Where embedded mode keeps its PGlite database and generated `SECRET_KEY`.',
  },
  {
    env: 'SECRET_KEY',
    kind: 'secret',
    default: undefined,
    description: 'At least 32 characters. Encrypts secrets at rest (signing keys, client secrets), signs cookies and CSRF tokens, and keys the digests of pairing codes and user attributes and the hashes of device PINs; the same on every node, and for good: a node started with another stops with one line rather than lose what it sealed. Generated into `DATA_DIR` in embedded mode, required otherwise.',
  },
  {
    env: 'NODE_ENV',
    kind: 'enum',
    default: 'development',
    values: ['development', 'production', 'test'],
    description: '`production` refuses embedded storage, a generated `SECRET_KEY` and a non-https issuer, and marks cookies secure.',
  },
  {
    env: 'LOG_LEVEL',
    kind: 'enum',
    default: 'info',
    values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    description: 'pino log level. Logs are JSON lines on stdout with a request id.',
  },
  {
    env: 'TRUST_PROXY',
    kind: 'string',
    default: 'false',
    description: 'The proxies in front whose `X-Forwarded-For`/`-Proto` count: how many hops (`1` for one load balancer) or their addresses and CIDR ranges, comma-separated (`10.0.0.5,10.0.0.6`, `10.0.0.0/24`). The client address is the rightmost one not theirs (for the per-IP limit and the audit log); `X-Forwarded-Proto` counts only from them (https detection). `false` or `0`: no proxy, the headers are ignored. `true` is refused: it would let a client choose its address.',
  },
  {
    env: 'ARGON2_MEMORY_KIB',
    kind: 'integer',
    default: '19456',
    min: 19456,
    description: 'argon2id memory cost in KiB for password hashes. OWASP\'s minimum is 19456 (19 MiB); hashes with older parameters are rehashed at the next login.',
  },
  {
    env: 'ARGON2_TIME_COST',
    kind: 'integer',
    default: '2',
    min: 2,
    description: 'argon2id iterations (OWASP: at least 2 with 19 MiB).',
  },
  {
    env: 'ARGON2_PARALLELISM',
    kind: 'integer',
    default: '1',
    min: 1,
    description: 'argon2id lanes.',
  },
  {
    env: 'LOCKOUT_MAX_FAILURES',
    kind: 'integer',
    default: '5',
    min: 1,
    description: 'Consecutive failed password attempts on one account before it is locked for a while.',
  },
  {
    env: 'LOCKOUT_BASE_SECONDS',
    kind: 'integer',
    default: '300',
    min: 1,
    description: 'Length of the first automatic account lock; each further lock doubles it.',
  },
  {
    env: 'LOCKOUT_MAX_SECONDS',
    kind: 'integer',
    default: '3600',
    min: 1,
    description: 'Longest automatic account lock, so a stranger typing wrong passwords cannot keep an employee out for days; IT can unlock sooner with `stepup user unlock`. A successful login resets the doubling.',
  },
  {
    env: 'IP_MAX_FAILURES',
    kind: 'integer',
    default: '100',
    min: 1,
    description: 'Failed password attempts from one client IP, across all accounts, before that IP is refused for `IP_WINDOW_SECONDS` (password spraying). Municipal offices share NAT addresses, so this is well above the per-account limit.',
  },
  {
    env: 'IP_WINDOW_SECONDS',
    kind: 'integer',
    default: '900',
    min: 1,
    description: 'Window for the per-IP failure count.',
  },
  {
    env: 'TOTP_WINDOW_STEPS',
    kind: 'integer',
    default: '2',
    min: 0,
    description: 'Time steps either side of a code viewer\'s or app\'s measured drift accepted at login (±1 min at 30 s).',
  },
  {
    env: 'TOTP_BIND_WINDOW_STEPS',
    kind: 'integer',
    default: '10',
    min: 0,
    description: 'Time steps searched when a code viewer is bound, for a token that lay in a drawer; the offset found becomes its drift.',
  },
  {
    env: 'TOTP_RESYNC_WINDOW_STEPS',
    kind: 'integer',
    default: '60',
    min: 0,
    description: 'Time steps searched for two consecutive codes when a token that drifted far is resynchronised.',
  },
  {
    env: 'FACTOR_LOCKOUT_MAX_FAILURES',
    kind: 'integer',
    default: '5',
    min: 1,
    description: 'Consecutive wrong codes before a second factor is locked for a while.',
  },
  {
    env: 'FACTOR_LOCKOUT_BASE_SECONDS',
    kind: 'integer',
    default: '300',
    min: 1,
    description: 'Length of a second factor\'s first lock; each further lock doubles it. IT can unlock at once (`stepup tokens unlock`).',
  },
  {
    env: 'FACTOR_LOCKOUT_MAX_SECONDS',
    kind: 'integer',
    default: '86400',
    min: 1,
    description: 'Longest automatic lock of a second factor.',
  },
  {
    env: 'CHALLENGE_TTL_SECONDS',
    kind: 'integer',
    default: '180',
    min: 10,
    description: 'How long a request sent to a desktop client or app waits for its approval. Long enough to find the device and type the PIN; short enough that an approval cannot be given to a login long left.',
  },
  {
    env: 'CHALLENGE_MAX_PENDING',
    kind: 'integer',
    default: '3',
    min: 1,
    description: 'Requests one employee may have waiting on their devices at once; another is refused until one is answered or expires, so a stranger with the password cannot flood a device with requests (push bombing).',
  },
  {
    env: 'NUMBER_MATCHING',
    kind: 'enum',
    default: 'off',
    values: ['off', 'on'],
    description: '`on`: the device asks for the 2-digit number shown in the browser as well as the PIN, so nobody approves a login they cannot see (push fatigue). A relying party can have its own (`client add --number-matching on` or `off`).',
  },
  {
    env: 'PUSH_GATEWAY',
    kind: 'enum',
    default: undefined,
    values: ['log', 'webpush'],
    description: 'How an app in the background learns of a challenge: `webpush` (Web Push through the app\'s push service, signed with a VAPID key derived from `SECRET_KEY`; needs `VAPID_SUBJECT`) or `log` (only logs that a push would be sent, for development; apps then see challenges only while open). Unset: `webpush` when `VAPID_SUBJECT` is set, `log` otherwise.',
  },
  {
    env: 'VAPID_SUBJECT',
    kind: 'url',
    default: undefined,
    description: 'A `mailto:` or https URL where push services can reach the operator (RFC 8292 §2.1), e.g. `mailto:it-drift@kommune.dk`. Required with `PUSH_GATEWAY=webpush`.',
  },
  {
    env: 'PUSH_SERVICE_HOSTS',
    kind: 'string',
    default: 'fcm.googleapis.com,updates.push.services.mozilla.com,push.apple.com,notify.windows.com,push.services.mozilla.com',
    description: 'The push services an app\'s subscription may point to, as host names separated by commas; a host matches itself and every host below it (`notify.windows.com` covers `wns2-sg2p.notify.windows.com`). Any other endpoint is refused with `400 invalid_request`: the IdP posts to the endpoint, so an app must not be able to make it post to a host of its choosing (SSRF). The default: Firebase Cloud Messaging (Chrome, Edge on Android), Mozilla autopush (Firefox), Apple (Safari, iOS) and Windows Push Notification Services (Edge on Windows).',
  },
  {
    env: 'PASSWORD_MAX_AGE_MINUTES',
    kind: 'integer',
    default: '180',
    min: 1,
    description: 'How long a password login counts in the SSO session before it is asked for again; a relying party can have its own (`client add --password-max-age`).',
  },
  {
    env: 'SECOND_FACTOR_MAX_AGE_MINUTES',
    kind: 'integer',
    default: '60',
    min: 1,
    description: 'How long a second factor counts in the SSO session for the substantial level; a relying party can have its own (`client add --second-factor-max-age`).',
  },
  {
    env: 'SELFSERVICE_STEP_UP_MAX_AGE',
    kind: 'integer',
    default: '15',
    min: 1,
    description: 'Minutes: how recently a self-service session must have proven one of the employee\'s second factors to add, rename or delete a device. Checked on every such request; an older session steps up first (`acr_values` Substantial with `max_age`).',
  },
  {
    env: 'FIRST_FACTOR_ENROLMENT',
    kind: 'enum',
    default: undefined,
    values: ['access-pass', 'password', 'identity'],
    description: 'What lets an employee with no second factor add their first: `access-pass` (a one-time pass from IT, `stepup user access-pass`), or `password` (the password alone; for the embedded demo, refused in production). Unset: `password` in embedded mode, `access-pass` otherwise. `identity`: a verification of the employee\'s identity at an upstream OpenID provider (MitID through a broker; needs the `IDENTITY_*` settings below, refused at start without them), which also lets an employee who has a device change devices without it, e.g. after losing their only phone.',
  },
  {
    env: 'IDENTITY_ISSUER',
    kind: 'url',
    default: undefined,
    description: 'The issuer of the upstream OpenID provider that verifies identities (`FIRST_FACTOR_ENROLMENT=identity`), found by discovery at `{IDENTITY_ISSUER}/.well-known/openid-configuration`. Must be https in production. Our redirect URI there is `{ISSUER}/selfservice/verify/callback`.',
  },
  {
    env: 'IDENTITY_CLIENT_ID',
    kind: 'string',
    default: undefined,
    description: 'Our client id at the upstream provider (a confidential client using the authorization code flow with PKCE).',
  },
  {
    env: 'IDENTITY_CLIENT_SECRET',
    kind: 'string',
    default: undefined,
    description: 'Our client secret at the upstream provider, sent with HTTP Basic (`client_secret_basic`).',
  },
  {
    env: 'IDENTITY_SCOPE',
    kind: 'string',
    default: 'openid',
    description: 'The scopes asked of the upstream provider, separated by spaces: `openid` and whatever releases `IDENTITY_CLAIM` there (e.g. `openid email`).',
  },
  {
    env: 'IDENTITY_CLAIM',
    kind: 'string',
    default: undefined,
    description: 'The claim of the upstream ID token (or, when the ID token lacks it, of its userinfo) that names the person, e.g. a person UUID, a CPR-derived claim, or `email` (then `email_verified` must be true).',
  },
  {
    env: 'IDENTITY_USER_ATTRIBUTE',
    kind: 'string',
    default: undefined,
    description: 'The employee\'s attribute the claim must equal: `email` (the e-mail address of `stepup user add --email`, compared without regard to letter case) or a name of your choice set with `stepup user set-attribute`, compared exactly.',
  },
  {
    env: 'IDENTITY_ACR',
    kind: 'string',
    default: 'https://data.gov.dk/concept/core/nsis/loa/Substantial https://data.gov.dk/concept/core/nsis/loa/High',
    description: 'The `acr` values accepted from the upstream, separated by spaces: its ID token\'s `acr` must be exactly one of them (also sent as `acr_values`). The default accepts NSIS Substantial and High.',
  },
  {
    env: 'IDENTITY_VERIFICATION_SECONDS',
    kind: 'integer',
    default: '600',
    min: 60,
    description: 'How long a successful identity verification lets the self-service session add, change or delete devices.',
  },
  {
    env: 'SIGNING_KEY_LEAD_HOURS',
    kind: 'integer',
    default: '24',
    min: 0,
    description: 'Hours a key made by `stepup keys rotate` is published (in `/jwks` and the SAML metadata) before it signs, so relying parties and service providers that cache them learn it first. The next `keys rotate` makes waiting keys sign at once. 0: new keys sign at once.',
  },
  {
    env: 'SAML_ENTITY_ID',
    kind: 'url',
    default: undefined,
    description: 'The SAML entityID of the IdP (a URI). Unset: `{ISSUER}/saml`. The host of it is the subject CN of the signing certificates.',
  },
  {
    env: 'SAML_CLOCK_SKEW_SECONDS',
    kind: 'integer',
    default: '120',
    min: 0,
    description: 'Seconds an AuthnRequest\'s IssueInstant may lie before or after the IdP\'s clock; an older or later request is refused. Its ID is remembered as long, so a replay is refused too.',
  },
] as const satisfies readonly OptionSpec[];

/** The names of all environment variables the IdP reads. */
export type OptionName = (typeof OPTIONS)[number]['env'];
