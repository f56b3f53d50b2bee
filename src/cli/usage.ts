/** The help texts: one synopsis per command, and the overview `stepup --help` prints. */

/** Synopsis and description of each command, by its name as typed. */
export const COMMAND_HELP: Readonly<Record<string, { synopsis: string; description: string; options?: string[] }>> = {
  migrate: {
    synopsis: 'migrate',
    description: 'Bring the database schema up to date. Running it again when the schema is current changes nothing.',
  },
  'user add': {
    synopsis: 'user add <username> [--name NAME] [--email EMAIL] [--password-stdin]',
    description: 'Add an employee. Usernames are unique without regard to letter case.',
    options: [
      '--name NAME         display name',
      '--email EMAIL       e-mail address',
      '--password-stdin    read the password from the first line of stdin (otherwise the user has none yet)',
    ],
  },
  'user lock': {
    synopsis: 'user lock <username>',
    description: 'Lock an employee out: no login, and their sessions end at their next request.',
  },
  'user unlock': {
    synopsis: 'user unlock <username>',
    description: 'Let an employee in again, lifting an automatic lock after failed attempts too.',
  },
  'user access-pass': {
    synopsis: 'user access-pass <username> [--ttl 8h]',
    description: 'Issue a one-time temporary access pass, shown once, with which an employee who has no 2-factor device adds their first in self-service. An earlier open pass stops working.',
    options: [
      '--ttl DURATION      how long it works: 90m, 8h, 2d (default 8h; 5m to 7d)',
    ],
  },
  'user list': {
    synopsis: 'user list [--status active|locked]',
    description: 'List employees: id, username, name, e-mail, status, whether they have a password, when added, how many second factors (never a hash).',
    options: ['--status STATUS      only active or only locked users'],
  },
  'user set-password': {
    synopsis: 'user set-password <username> --password-stdin',
    description: 'Set an employee\'s password (argon2id) from the first line of stdin. A locked account stays locked.',
    options: ['--password-stdin    read the password from the first line of stdin (required)'],
  },
  'user set-attribute': {
    synopsis: 'user set-attribute <username> <name> --value-stdin',
    description: 'Set an attribute of an employee that identity verification compares the upstream\'s claim with (IDENTITY_USER_ATTRIBUTE), from the first line of stdin. Only a keyed digest is stored.',
    options: ['--value-stdin       read the value from the first line of stdin (required)'],
  },
  'client add': {
    synopsis: 'client add <client_id> --redirect-uri URI... [--public|--secret S] [--post-logout-redirect-uri URI] [--grant-type TYPE...] [--level low|substantial] [--name NAME] [--id-token-signed-response-alg ES256|RS256] [--password-max-age MIN] [--second-factor-max-age MIN] [--number-matching on|off]',
    description: 'Register a relying party (OIDC client). A confidential client without --secret gets a generated one, shown once.',
    options: [
      '--redirect-uri URI               repeatable; https, or http only to localhost/127.0.0.1; no fragment',
      '--public                         no secret (token_endpoint_auth_method none; PKCE only)',
      '--secret S                       the client secret, at least 32 characters',
      '--post-logout-redirect-uri URI   repeatable; same rules as --redirect-uri',
      '--grant-type TYPE                repeatable: authorization_code, refresh_token, client_credentials',
      '                                 (default: authorization_code and refresh_token)',
      '--level low|substantial          minimum level of assurance for every login (default: low)',
      '--name NAME                      client_name, shown on the login page',
      '--id-token-signed-response-alg   ES256 (default) or RS256',
      '--password-max-age MIN           minutes a password counts in the SSO session for this client',
      '--second-factor-max-age MIN      minutes a second factor counts for this client',
      '                                 (defaults: PASSWORD_MAX_AGE_MINUTES, SECOND_FACTOR_MAX_AGE_MINUTES)',
      '--number-matching on|off         the device asks for the number shown in the browser too',
      '                                 (default: NUMBER_MATCHING)',
    ],
  },
  'client list': {
    synopsis: 'client list',
    description: 'List the registered clients (never their secrets).',
  },
  'client remove': {
    synopsis: 'client remove <client_id>',
    description: 'Remove a relying party and revoke its grants, refresh and access tokens; every node refuses it at once. The built-in self-service client cannot be removed.',
  },
  'sp add': {
    synopsis: 'sp add --metadata FILE [--level low|substantial] [--nameid persistent|transient|email] [--attributes LIST] [--sign-response] [--require-signed-requests]',
    description: [
      'Register a SAML service provider from its metadata (one EntityDescriptor). The file is checked against',
      'the SAML 2.0 metadata schema and our rules (https endpoints, an HTTP-POST AssertionConsumerService,',
      'usable RSA certificates); with any error, every error is printed and nothing is registered.',
    ].join('\n'),
    options: [
      '--metadata FILE                  the SP\'s metadata XML (required)',
      '--level low|substantial          minimum level of assurance for every login (default: low)',
      '--nameid FORMAT                  persistent (default; opaque, different for each SP), transient or email',
      '--attributes LIST                comma-separated OIOSAML 3 attribute names (default: all the IdP issues:',
      '                                 specVersion, nsis/loa, email, fullName, professional/uuid/persistent)',
      '--sign-response                  sign the Response as well as the assertion',
      '--require-signed-requests        refuse unsigned AuthnRequests even if its metadata does not',
      '                                 set AuthnRequestsSigned',
    ],
  },
  'sp list': {
    synopsis: 'sp list',
    description: 'List the registered SAML service providers with their endpoints and settings.',
  },
  'sp remove': {
    synopsis: 'sp remove <entityID>',
    description: 'Remove a SAML service provider; every node refuses its requests at once.',
  },
  'keys rotate': {
    synopsis: 'keys rotate',
    description: 'Make new signing keys current; the old ones stay published for a day. Running nodes reload.',
  },
  'tokens import': {
    synopsis: 'tokens import <file> [--psk-hex HEX|-] [--format csv|pskc]',
    description: [
      'Import a vendor\'s code viewers into stock, all or nothing: CSV (serial,secret,algorithm,digits,period)',
      'or PSKC (RFC 6030), told apart by content and file name. Serials already there with the same secret',
      'are skipped, so importing a file again changes nothing; any error (each printed with its line or',
      'KeyPackage), or a serial already there with another secret, refuses the whole file.',
    ].join('\n'),
    options: [
      '--psk-hex HEX|-        pre-shared key of an encrypted PSKC file, in hex; - reads it from stdin',
      '--format csv|pskc      the file\'s format, when detection should not decide',
    ],
  },
  'tokens list': {
    synopsis: 'tokens list [--status in_stock|assigned|locked|lost|defective|pending]',
    description: 'List code viewers and authenticator apps: serial, kind, status, user, name, drift, last use, lock (never a secret).',
    options: ['--status STATUS      only these; locked includes tokens whose lock after wrong codes still runs'],
  },
  'tokens assign': {
    synopsis: 'tokens assign <serial> <username> --name NAME --code CODE',
    description: 'Bind a code viewer from stock to an employee, with the code it shows now (the same check as self-service).',
    options: [
      '--name NAME          the name the employee sees for it',
      '--code CODE          the code the code viewer shows now',
    ],
  },
  'tokens resync': {
    synopsis: 'tokens resync <serial> <code1> <code2>',
    description: 'Resynchronise a code viewer whose clock has drifted far, from two consecutive codes it shows.',
  },
  'tokens reset': {
    synopsis: 'tokens reset <serial>',
    description: 'Put a code viewer back in stock: unbound from its employee, counters and lock cleared, ready for a colleague.',
  },
  'tokens mark': {
    synopsis: 'tokens mark <serial> lost|defective',
    description: 'Mark a code viewer lost or defective: no code from it is accepted until it is reset.',
  },
  'tokens unlock': {
    synopsis: 'tokens unlock <serial>',
    description: 'Lift a code viewer\'s lock after wrong codes, clearing its counters.',
  },
  'device pair': {
    synopsis: 'device pair <username> --kind desktop|app',
    description: 'Issue a pairing code for a new desktop client or app of an employee you have identified: shown once, single use, for 15 minutes.',
    options: ['--kind desktop|app   the kind of device it pairs (required)'],
  },
  'device list': {
    synopsis: 'device list [<username>]',
    description: 'List desktop clients and apps, of one employee or all: id, employee, kind, name, status, lock, when added and last used (never a key or PIN).',
  },
  'device revoke': {
    synopsis: 'device revoke <id>',
    description: 'Revoke a device for good: it can sign nothing more, and its open event streams end at once on every node.',
  },
  'device unlock': {
    synopsis: 'device unlock <id>',
    description: 'Lift a device\'s lock after wrong PINs, clearing its counters.',
  },
};

const COMMON = [
  'Every command reads the same environment as the server (DATABASE_URL, REDIS_URL, DATA_DIR, SECRET_KEY, …).',
  '--json prints one JSON document to stdout instead of text. --help shows help.',
  'Exit status: 0 done, 1 failed (nothing was changed), 2 wrong command line.',
];

/** The overview, or the commands of one group (`user`, `client`, `keys`, `tokens`). */
export function overview(group?: string): string {
  const names = Object.keys(COMMAND_HELP).filter((name) => !group || name.split(' ')[0] === group);
  return [
    'Usage: stepup [--json] <command> [arguments]',
    '',
    'Commands:',
    ...names.map((name) => `  stepup ${COMMAND_HELP[name]?.synopsis}`),
    '',
    ...COMMON,
    '',
  ].join('\n');
}

/** The help of one command. */
export function commandHelp(name: string): string {
  const help = COMMAND_HELP[name];
  if (!help) return overview();
  return [
    `Usage: stepup ${help.synopsis} [--json]`,
    '',
    help.description,
    ...(help.options ? ['', 'Options:', ...help.options.map((line) => `  ${line}`)] : []),
    '',
    ...COMMON,
    '',
  ].join('\n');
}

/** The short text printed with a usage error: the synopsis of the command, of its group's commands, or of all. */
export function shortUsage(name?: string): string {
  const help = name ? COMMAND_HELP[name] : undefined;
  if (help) return `Usage: stepup ${help.synopsis} [--json]\nRun \`stepup ${name} --help\` for more.\n`;
  const inGroup = Object.keys(COMMAND_HELP).filter((n) => name !== undefined && n.startsWith(`${name} `));
  const names = inGroup.length ? inGroup : Object.keys(COMMAND_HELP);
  const more = inGroup.length ? `stepup ${name} --help` : 'stepup --help';
  return `${names.map((n, i) => `${i === 0 ? 'Usage:' : '      '} stepup ${COMMAND_HELP[n]?.synopsis}`).join('\n')}\nRun \`${more}\` for more.\n`;
}
