import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';

import { loadConfig, samlEntityId, type IdpConfig } from '../config/index.ts';
import { deriveKey } from '../crypto/derived-keys.ts';
import { certificateCommonName } from '../crypto/signing-keys.ts';
import { DataDirBusyError } from '../store/embedded/data-dir-lock.ts';
import { openEmbeddedForCommand, ServerUnreachableError, type EmbeddedAccess } from '../store/embedded/command-side.ts';
import { ServerMemoryError } from '../store/embedded/notices.ts';
import { openStorage, type Storage } from '../store/index.ts';
import { issueAccessPass } from './commands/access-pass.ts';
import { addClient, listClients, removeClient } from './commands/client.ts';
import { rotateKeys } from './commands/keys.ts';
import { addSp, listSps, removeSp } from './commands/sp.ts';
import { migrate } from './commands/migrate.ts';
import { issuePairingCode, listDevices, revokeDevice, unlockDevice } from './commands/device.ts';
import { assignToken, importTokens, listTokens, markToken, resetToken, resyncToken, unlockToken } from './commands/tokens.ts';
import { addUser, listUsers, lockUser, setUserAttribute, setUserPassword, unlockUser } from './commands/user.ts';
import { CliError, toCliError, UsageError } from './errors.ts';
import { createOutput, type Output, type TextSink } from './output.ts';
import { readFirstLine } from './stdin.ts';
import { commandHelp, overview, shortUsage } from './usage.ts';

/** The process around a run: what `bin/stepup.js` passes in from `process`. */
export interface CliIo {
  stdin: AsyncIterable<Buffer | string>;
  stdout: TextSink;
  stderr: TextSink;
}

/** Exit statuses: done; failed and changed nothing; the command line is wrong. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

type Values = Record<string, string | boolean | Array<string | boolean> | undefined>;

/** What a command gets to work with. */
interface CommandContext {
  config: IdpConfig;
  storage: Storage;
  /** No server can be using the database: the command holds an embedded `DATA_DIR` itself. */
  alone: boolean;
  out: Output;
  stdin: AsyncIterable<Buffer | string>;
}

/** One row of the command table: its arguments, its options, and what it does with them. */
interface Command {
  /** Names of the positional arguments, all required. */
  args: readonly string[];
  /** Names of positional arguments that may follow the required ones. */
  optionalArgs?: readonly string[];
  options: ParseArgsOptionsConfig;
  /** Whether it uses Redis; the others get the in-process store, so a Redis outage cannot slow them. */
  shortLived?: true;
  run(args: string[], values: Values, context: CommandContext): Promise<object>;
}

const str = (values: Values, name: string) => values[name] as string | undefined;
const list = (values: Values, name: string) => values[name] as string[] | undefined;

/** Every command, by its name as typed (ARCHITECTURE.md, "The `stepup` command"). */
const COMMANDS: Readonly<Record<string, Command>> = {
  migrate: {
    args: [],
    options: {},
    run: (_args, _values, { storage, out }) => migrate({ db: storage.db }, out),
  },
  'user add': {
    args: ['username'],
    options: { name: { type: 'string' }, email: { type: 'string' }, 'password-stdin': { type: 'boolean' } },
    run: async ([username], values, { config, storage, out, stdin }) => addUser(
      { storage, argon2: config.argon2 },
      {
        username: username as string,
        name: str(values, 'name'),
        email: str(values, 'email'),
        password: values['password-stdin'] ? await readFirstLine(stdin) : undefined,
      },
      out,
    ),
  },
  'user lock': {
    args: ['username'],
    options: {},
    run: ([username], _values, { storage, out }) => lockUser({ storage }, { username: username as string }, out),
  },
  'user unlock': {
    args: ['username'],
    options: {},
    shortLived: true,
    run: ([username], _values, { config, storage, alone, out }) =>
      unlockUser({ storage, alone, argon2: config.argon2, lockout: config.lockout, usernameKey: deriveKey(config.secretKey, 'audit-username') }, { username: username as string }, out),
  },
  'user list': {
    args: [],
    options: { status: { type: 'string' } },
    run: (_args, values, { storage, out }) => listUsers({ storage }, { status: str(values, 'status') }, out),
  },
  'user set-password': {
    args: ['username'],
    options: { 'password-stdin': { type: 'boolean' } },
    run: async ([username], values, { config, storage, out, stdin }) => {
      // Only from stdin: a password on the command line would stay in shell history and `ps`.
      if (!values['password-stdin']) throw new UsageError('--password-stdin is required (the password is read from stdin)', 'user set-password');
      return setUserPassword({ storage, argon2: config.argon2 }, { username: username as string, password: await readFirstLine(stdin) }, out);
    },
  },
  'user set-attribute': {
    args: ['username', 'name'],
    options: { 'value-stdin': { type: 'boolean' } },
    run: async ([username, name], values, { config, storage, out, stdin }) => {
      // Only from stdin: a CPR-derived value on the command line would stay in shell history and `ps`.
      if (!values['value-stdin']) throw new UsageError('--value-stdin is required (the value is read from stdin)', 'user set-attribute');
      return setUserAttribute({ storage, secretKey: config.secretKey }, { username: username as string, name: name as string, value: await readFirstLine(stdin) }, out);
    },
  },
  'user access-pass': {
    args: ['username'],
    options: { ttl: { type: 'string' } },
    run: ([username], values, { config, storage, out }) =>
      issueAccessPass({ storage, config }, { username: username as string, ttl: str(values, 'ttl') }, out),
  },
  'client add': {
    args: ['client_id'],
    options: {
      'redirect-uri': { type: 'string', multiple: true },
      public: { type: 'boolean' },
      secret: { type: 'string' },
      'post-logout-redirect-uri': { type: 'string', multiple: true },
      'grant-type': { type: 'string', multiple: true },
      level: { type: 'string' },
      name: { type: 'string' },
      'id-token-signed-response-alg': { type: 'string' },
      'password-max-age': { type: 'string' },
      'second-factor-max-age': { type: 'string' },
      'number-matching': { type: 'string' },
    },
    run: ([clientId], values, { config, storage, out }) => addClient(
      { storage, issuer: config.issuer },
      {
        clientId: clientId as string,
        redirectUris: list(values, 'redirect-uri') ?? [],
        postLogoutRedirectUris: list(values, 'post-logout-redirect-uri'),
        grantTypes: list(values, 'grant-type'),
        public: values.public === true,
        secret: str(values, 'secret'),
        level: str(values, 'level'),
        name: str(values, 'name'),
        idTokenSignedResponseAlg: str(values, 'id-token-signed-response-alg'),
        passwordMaxAge: str(values, 'password-max-age'),
        secondFactorMaxAge: str(values, 'second-factor-max-age'),
        numberMatching: str(values, 'number-matching'),
      },
      out,
    ),
  },
  'client list': {
    args: [],
    options: {},
    run: (_args, _values, { storage, out }) => listClients({ storage }, out),
  },
  'client remove': {
    args: ['client_id'],
    options: {},
    shortLived: true,
    run: ([clientId], _values, { storage, out }) => removeClient({ storage }, { clientId: clientId as string }, out),
  },
  'sp add': {
    args: [],
    options: {
      metadata: { type: 'string' },
      level: { type: 'string' },
      nameid: { type: 'string' },
      attributes: { type: 'string' },
      'sign-response': { type: 'boolean' },
      'require-signed-requests': { type: 'boolean' },
    },
    run: (_args, values, { storage, out }) => {
      const metadata = str(values, 'metadata');
      if (metadata === undefined) throw new UsageError('--metadata FILE is required', 'sp add');
      return addSp(
        { storage, now: () => new Date() },
        {
          metadata,
          level: str(values, 'level'),
          nameid: str(values, 'nameid'),
          attributes: str(values, 'attributes'),
          signResponse: values['sign-response'] === true,
          requireSignedRequests: values['require-signed-requests'] === true,
        },
        out,
      );
    },
  },
  'sp list': {
    args: [],
    options: {},
    run: (_args, _values, { storage, out }) => listSps({ storage }, out),
  },
  'sp remove': {
    args: ['entityID'],
    options: {},
    run: ([entityId], _values, { storage, out }) => removeSp({ storage }, { entityId: entityId as string }, out),
  },
  'keys rotate': {
    args: [],
    options: {},
    shortLived: true,
    run: (_args, _values, { config, storage, alone, out }) => rotateKeys({
      storage, alone, leadSeconds: config.signingKeyLeadSeconds, certificateName: certificateCommonName(samlEntityId(config), config.issuer),
    }, out),
  },
  'tokens import': {
    args: ['file'],
    options: { 'psk-hex': { type: 'string' }, format: { type: 'string' } },
    run: async ([file], values, { storage, out, stdin }) => importTokens(
      { storage },
      {
        file: file as string,
        format: str(values, 'format'),
        // `--psk-hex -` reads the key from stdin, out of the shell history and `ps`.
        pskHex: str(values, 'psk-hex') === '-' ? await readFirstLine(stdin) : str(values, 'psk-hex'),
      },
      out,
    ),
  },
  'tokens list': {
    args: [],
    options: { status: { type: 'string' } },
    run: (_args, values, { storage, out }) => listTokens({ storage }, { status: str(values, 'status') }, out),
  },
  'tokens assign': {
    args: ['serial', 'username'],
    options: { name: { type: 'string' }, code: { type: 'string' } },
    run: ([serial, username], values, { config, storage, out }) => assignToken(
      { storage, windows: config.totpWindows, limits: config.factorLockout, now: Date.now },
      { serial: serial as string, username: username as string, name: str(values, 'name'), code: str(values, 'code') },
      out,
    ),
  },
  'tokens resync': {
    args: ['serial', 'code1', 'code2'],
    options: {},
    run: ([serial, code1, code2], _values, { config, storage, out }) => resyncToken(
      { storage, windows: config.totpWindows, limits: config.factorLockout, now: Date.now },
      { serial: serial as string, code1: code1 as string, code2: code2 as string },
      out,
    ),
  },
  'tokens reset': {
    args: ['serial'],
    options: {},
    run: ([serial], _values, { storage, out }) => resetToken({ storage }, { serial: serial as string }, out),
  },
  'tokens mark': {
    args: ['serial', 'lost|defective'],
    options: {},
    run: ([serial, mark], _values, { storage, out }) => markToken({ storage }, { serial: serial as string, mark: mark as string }, out),
  },
  'tokens unlock': {
    args: ['serial'],
    options: {},
    run: ([serial], _values, { storage, out }) => unlockToken({ storage }, { serial: serial as string }, out),
  },
  'device pair': {
    args: ['username'],
    options: { kind: { type: 'string' } },
    run: ([username], values, { config, storage, out }) =>
      issuePairingCode({ storage, config }, { username: username as string, kind: str(values, 'kind') }, out),
  },
  'device list': {
    args: [],
    optionalArgs: ['username'],
    options: {},
    run: ([username], _values, { config, storage, out }) => listDevices({ storage, config }, { username }, out),
  },
  'device revoke': {
    args: ['id'],
    options: {},
    // Tells open event streams on every node (Redis pub/sub, or the embedded server's memory).
    shortLived: true,
    run: ([id], _values, { config, storage, out }) => revokeDevice({ storage, config }, { id: id as string }, out),
  },
  'device unlock': {
    args: ['id'],
    options: {},
    run: ([id], _values, { config, storage, out }) => unlockDevice({ storage, config }, { id: id as string }, out),
  },
};

const GROUPS = new Set(Object.keys(COMMANDS).filter((name) => name.includes(' ')).map((name) => name.split(' ')[0]));
const GLOBAL_OPTIONS = { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } as const satisfies ParseArgsOptionsConfig;

/** A parsed command line: which command, or a request for help. */
type Invocation =
  | { help: string }
  | { name: string; command: Command; args: string[]; values: Values; json: boolean };

/**
 * Reads the command line: `stepup [--json] [--help] <command> [<subcommand>] [arguments]`, the
 * options of each command where its table row says. Throws {@link UsageError}.
 */
export function parseCommandLine(argv: readonly string[]): Invocation {
  let start = 0;
  let help = false;
  let json = false;
  for (; start < argv.length && argv[start]?.startsWith('-'); start++) {
    const flag = argv[start];
    if (flag === '--help' || flag === '-h') help = true;
    else if (flag === '--json') json = true;
    else throw new UsageError(`unknown option '${flag}' before the command`);
  }
  const [word, sub] = [argv[start], argv[start + 1]];
  if (word === undefined) {
    if (help) return { help: overview() };
    throw new UsageError('which command?');
  }
  let name = word;
  if (GROUPS.has(word)) {
    if (sub === undefined || sub.startsWith('-')) {
      if (help || sub === '--help' || sub === '-h') return { help: overview(word) };
      throw new UsageError(`which "${word}" command?`, word);
    }
    name = `${word} ${sub}`;
  }
  const command = COMMANDS[name];
  if (!command) throw new UsageError(`unknown command "${name}"`);

  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({
      args: argv.slice(start + name.split(' ').length),
      options: { ...command.options, ...GLOBAL_OPTIONS },
      allowPositionals: true,
      strict: true,
    }) as { values: Values; positionals: string[] };
  } catch (error) {
    // parseArgs explains itself in a sentence or two; the first is the one that matters.
    throw new UsageError((error as Error).message.split(/(?<=\.)\s/)[0]?.replace(/\.$/, '') ?? 'wrong arguments', name);
  }
  if (help || parsed.values.help) return { help: commandHelp(name) };
  const { positionals } = parsed;
  if (positionals.length < command.args.length) throw new UsageError(`missing <${command.args[positionals.length]}>`, name);
  const most = command.args.length + (command.optionalArgs?.length ?? 0);
  if (positionals.length > most) throw new UsageError(`unexpected argument "${positionals[most]}"`, name);
  return { name, command, args: positionals, values: parsed.values, json: json || parsed.values.json === true };
}

/**
 * Runs one `stepup` command line and returns the exit status. Everything from the process comes
 * in as parameters (`env` included), so tests can call it in-process.
 */
export async function main(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, io: CliIo): Promise<number> {
  const json = argv.includes('--json');
  const fail = (code: string, message: string) => {
    io.stderr.write(`stepup: ${message}\n`);
    if (json) io.stdout.write(`${JSON.stringify({ error: { code, message } })}\n`);
  };

  let invocation: Invocation;
  try {
    invocation = parseCommandLine(argv);
  } catch (error) {
    const usage = error as UsageError;
    fail(usage.code, usage.message);
    io.stderr.write(shortUsage(usage.command));
    return EXIT.usage;
  }
  if ('help' in invocation) {
    io.stdout.write(invocation.help);
    return EXIT.ok;
  }

  const out = createOutput({ stdout: io.stdout, stderr: io.stderr, json: invocation.json });
  let storage: Storage | undefined;
  let access: EmbeddedAccess | undefined;
  try {
    const config = loadConfig(env);
    const { command } = invocation;
    // Embedded: through the running server's socket, so the change takes effect there at once,
    // or holding DATA_DIR for this command alone (ARCHITECTURE.md, "Where state lives").
    if (!config.databaseUrl) access = await openEmbeddedForCommand({ dataDir: config.dataDir });
    // Commands other than `migrate` never change the schema; a missing one is reported as such.
    // Redis connection errors surface in the command that needs Redis, not as events.
    storage = await openStorage(command.shortLived ? config : { ...config, redisUrl: undefined }, {
      migrate: false,
      onStoreError: () => {},
      ...(access && { database: access.database }),
      ...(access?.via === 'server' && { shortLived: access.shortLived }),
    });
    const result = await command.run(invocation.args, invocation.values, { config, storage, alone: access?.via === 'data-dir', out, stdin: io.stdin });
    // The server hears of the command's short-lived changes once it has succeeded, as a NOTIFY
    // is delivered at commit.
    if (access?.via === 'server') await access.shortLived.flush(storage.db);
    if (invocation.json) io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return EXIT.ok;
  } catch (error) {
    const failure = toCliError(embeddedFailure(error));
    if (failure instanceof UsageError) {
      fail(failure.code, failure.message);
      io.stderr.write(shortUsage(failure.command));
      return EXIT.usage;
    }
    fail(failure.code, failure.message);
    return EXIT.failed;
  } finally {
    await storage?.close();
    access?.release();
  }
}

/** An embedded `DATA_DIR` that is busy or whose server cannot do what was asked: one line, nothing changed. */
function embeddedFailure(error: unknown): unknown {
  if (error instanceof DataDirBusyError || error instanceof ServerUnreachableError || error instanceof ServerMemoryError) {
    return new CliError('unavailable', error.message, { cause: error });
  }
  return error;
}
