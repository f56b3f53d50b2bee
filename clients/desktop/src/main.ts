// The `stepup-device` command line: which command, its options, and how a run ends (exit status,
// one line on stderr). The commands live in commands/; this file only dispatches to them.
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';

import { answerNext } from './commands/answer.ts';
import type { CommandContext } from './commands/context.ts';
import { listen } from './commands/listen.ts';
import { register } from './commands/register.ts';
import { ApiError, ClientError, UsageError } from './errors.ts';
import { createPrompter, type Input, type Sink } from './prompt.ts';

/** The process around a run: what `bin/stepup-device.js` passes in from `process`. */
export interface ClientIo {
  stdin: Input;
  stdout: Sink;
  stderr: Sink;
  /** Aborts on Ctrl-C or SIGTERM. */
  signal: AbortSignal;
}

/** Exit statuses: done; failed; the command line is wrong. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

const USAGE = `usage: stepup-device <command> --state FILE [options]

  register --server URL --kind desktop|app --name NAME --pairing-code CODE [--pin-stdin] [--json]
      make a key, register it with the PIN, and pair with the code from IT
  listen
      wait for logins and ask for the PIN to approve each (an empty answer rejects)
  approve --next [--pin-stdin] [--number N] [--timeout SECONDS] [--json]
      approve the oldest waiting or next login without a question (scripts, tests)
  reject --next [--timeout SECONDS] [--json]
      reject the oldest waiting or next login

Exit status: 0 done, 1 failed (one line on stderr), 2 usage.
`;

type Values = Record<string, string | boolean | undefined>;

/** One row of the command table: its own options and what it does with them. */
interface Command {
  options: ParseArgsOptionsConfig;
  json: boolean;
  run(values: Values, context: CommandContext): Promise<object>;
}

const str = (values: Values, name: string) => values[name] as string | undefined;
const required = (values: Values, name: string) => {
  const value = str(values, name);
  if (value === undefined || value === '') throw new UsageError(`--${name} is required`);
  return value;
};
const next = (values: Values, command: string) => {
  if (values.next !== true) throw new UsageError(`${command} needs --next (the oldest waiting or next login)`);
};
const timeout = (values: Values) => {
  const text = str(values, 'timeout');
  if (text === undefined) return undefined;
  if (!/^[0-9]+$/.test(text) || Number(text) === 0) throw new UsageError(`--timeout must be a whole number of seconds, not "${text}"`);
  return Number(text);
};

/** Every command, by its name as typed (ARCHITECTURE.md, "The reference device client"). */
const COMMANDS: Readonly<Record<string, Command>> = {
  register: {
    options: {
      server: { type: 'string' },
      kind: { type: 'string' },
      name: { type: 'string' },
      'pairing-code': { type: 'string' },
      'pin-stdin': { type: 'boolean' },
    },
    json: true,
    run: (values, context) => register({
      server: required(values, 'server'),
      kind: required(values, 'kind'),
      name: required(values, 'name'),
      pairingCode: required(values, 'pairing-code'),
      pinStdin: values['pin-stdin'] === true,
    }, context),
  },
  listen: {
    options: {},
    json: false,
    run: (_values, context) => listen(context),
  },
  approve: {
    options: { next: { type: 'boolean' }, 'pin-stdin': { type: 'boolean' }, number: { type: 'string' }, timeout: { type: 'string' } },
    json: true,
    run: (values, context) => {
      next(values, 'approve');
      const number = str(values, 'number');
      if (number === '') throw new UsageError('--number must not be empty');
      return answerNext({ action: 'approve', pinStdin: values['pin-stdin'] === true, number, timeoutSeconds: timeout(values) }, context);
    },
  },
  reject: {
    options: { next: { type: 'boolean' }, timeout: { type: 'string' } },
    json: true,
    run: (values, context) => {
      next(values, 'reject');
      return answerNext({ action: 'reject', timeoutSeconds: timeout(values) }, context);
    },
  },
};

/**
 * Runs one `stepup-device` command line and returns the exit status. Everything from the process
 * comes in as parameters, so the commands never touch `process`.
 */
export async function main(argv: readonly string[], io: ClientIo): Promise<number> {
  const json = argv.includes('--json');
  const fail = (error: ClientError) => {
    io.stderr.write(`stepup-device: ${error.message}\n`);
    if (json) {
      const details = error instanceof ApiError ? { triesLeft: error.triesLeft, lockedUntil: error.lockedUntil } : {};
      io.stdout.write(`${JSON.stringify({ error: { code: error.code, message: error.message, ...details } })}\n`);
    }
  };

  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(USAGE);
    return EXIT.ok;
  }
  const prompter = createPrompter(io.stdin, io.stderr, io.signal);
  try {
    const command = name === undefined ? undefined : COMMANDS[name];
    if (!command) throw new UsageError(name === undefined ? 'which command?' : `unknown command "${name}"`);
    const values = parse(command, rest);
    if (values.help) {
      io.stdout.write(USAGE);
      return EXIT.ok;
    }
    const context: CommandContext = {
      stateFile: required(values, 'state'),
      stdin: io.stdin,
      prompter,
      signal: io.signal,
      out: {
        line: (text) => void (values.json !== true && io.stdout.write(`${text}\n`)),
        notice: (text) => void io.stderr.write(`stepup-device: note: ${text}\n`),
      },
    };
    const result = await command.run(values, context);
    if (values.json === true) io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return EXIT.ok;
  } catch (error) {
    if (error instanceof UsageError) {
      fail(error);
      io.stderr.write(USAGE);
      return EXIT.usage;
    }
    fail(error instanceof ClientError ? error : new ClientError('internal', (error as Error)?.message ?? String(error), { cause: error }));
    return EXIT.failed;
  } finally {
    prompter.close();
  }
}

/** The command's options plus the ones every command takes; parseArgs's wording, first sentence only. */
function parse(command: Command, argv: string[]): Values {
  const options: ParseArgsOptionsConfig = { ...command.options, state: { type: 'string' }, help: { type: 'boolean', short: 'h' } };
  if (command.json) options.json = { type: 'boolean' };
  try {
    return parseArgs({ args: argv, options, allowPositionals: false, strict: true }).values as Values;
  } catch (error) {
    throw new UsageError((error as Error).message.split(/(?<=\.)\s/)[0]?.replace(/\.$/, '') ?? 'wrong arguments');
  }
}
