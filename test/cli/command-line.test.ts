import { expect } from 'chai';
import type { ClientMetadata } from 'oidc-provider';

import { buildClient } from '../../src/cli/commands/client.ts';
import { CliError, toCliError, UsageError } from '../../src/cli/errors.ts';
import { main, parseCommandLine } from '../../src/cli/main.ts';
import { validateClientMetadata } from '../../src/cli/provider-check.ts';
import { readFirstLine } from '../../src/cli/stdin.ts';
import { checkEmail, checkRedirectUri, checkUsername } from '../../src/cli/validate.ts';
import { ConfigError } from '../../src/config/index.ts';

/** Runs main in-process with captured streams (for what never reaches a database). */
async function runMain(argv: string[], env: Record<string, string | undefined> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, env, {
    stdin: (async function* (): AsyncGenerator<Buffer> {})(),
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
  });
  return { code, stdout, stderr };
}

/** The CliError a function throws (fails the test if it throws none). */
function thrown(fn: () => unknown): CliError {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(CliError);
    return error as CliError;
  }
  return expect.fail('expected a CliError');
}

describe('stepup command line', () => {
  describe('usage and help', () => {
    it('prints the overview on --help to stdout with exit 0, listing every command', async () => {
      const { code, stdout, stderr } = await runMain(['--help']);
      expect(code).to.equal(0);
      expect(stderr).to.equal('');
      for (const synopsis of ['migrate', 'user add <username>', 'user lock <username>', 'user unlock <username>', 'client add <client_id> --redirect-uri URI...', 'client list', 'keys rotate']) {
        expect(stdout).to.include(`stepup ${synopsis}`);
      }
    });

    it('prints a command\'s own help, and a group\'s commands', async () => {
      const command = await runMain(['client', 'add', '--help']);
      expect(command.code).to.equal(0);
      expect(command.stdout).to.match(/^Usage: stepup client add <client_id>/);
      expect(command.stdout).to.include('--id-token-signed-response-alg');
      const group = await runMain(['user', '--help']);
      expect(group.code).to.equal(0);
      expect(group.stdout).to.include('stepup user lock <username>');
      expect(group.stdout).not.to.include('stepup client list');
    });

    const usageErrors: Array<[argv: string[], message: string]> = [
      [[], 'which command?'],
      [['frobnicate'], 'unknown command "frobnicate"'],
      [['user'], 'which "user" command?'],
      [['user', 'remove', 'anna'], 'unknown command "user remove"'],
      [['user', 'lock'], 'missing <username>'],
      [['user', 'lock', 'anna', 'bent'], 'unexpected argument "bent"'],
      [['client', 'list', '--verbose'], "Unknown option '--verbose'"],
      [['--verbose', 'migrate'], "unknown option '--verbose' before the command"],
    ];
    for (const [argv, message] of usageErrors) {
      it(`exits 2 with the usage on stderr for \`stepup ${argv.join(' ')}\``, async () => {
        const { code, stdout, stderr } = await runMain(argv);
        expect(code).to.equal(2);
        expect(stdout).to.equal('');
        expect(stderr).to.match(new RegExp(`^stepup: ${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\nUsage: stepup `));
      });
    }

    it('reads --json before the command too', () => {
      const invocation = parseCommandLine(['--json', 'client', 'list']);
      expect(invocation).to.deep.include({ name: 'client list', json: true });
    });

    it('with --json, also prints the error as one JSON document on stdout', async () => {
      const { code, stdout, stderr } = await runMain(['user', 'lock', '--json']);
      expect(code).to.equal(2);
      expect(JSON.parse(stdout)).to.deep.equal({ error: { code: 'usage', message: 'missing <username>' } });
      expect(stderr).to.match(/^stepup: missing <username>\n/);
    });
  });

  describe('configuration', () => {
    it('names the wrong variable in one line, exit 1', async () => {
      const { code, stdout, stderr } = await runMain(['client', 'list'], { DATABASE_URL: 'postgres://127.0.0.1:1/x', SECRET_KEY: 'too short' });
      expect(code).to.equal(1);
      expect(stdout).to.equal('');
      expect(stderr).to.equal('stepup: SECRET_KEY: must be at least 32 characters\n');
    });

    it('says the database cannot be reached, in one line, exit 1', async () => {
      const { code, stdout, stderr } = await runMain(['client', 'list', '--json'], { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/x', SECRET_KEY: 'x'.repeat(32) });
      expect(code).to.equal(1);
      expect(stderr).to.match(/^stepup: cannot reach the database: .*ECONNREFUSED.*\n$/);
      expect(JSON.parse(stdout)).to.have.nested.property('error.code', 'unavailable');
    });
  });

  describe('failures become one line', () => {
    it('cuts knex\'s SQL and bindings from a database message', () => {
      const error = Object.assign(new Error('insert into "users" ("password_hash") values (\'$argon2id$v=19$secret\') - new row violates check constraint "users_status_check"'), { code: '23514' });
      const failure = toCliError(error);
      expect(failure.code).to.equal('database');
      expect(failure.message).to.equal('database error 23514: new row violates check constraint "users_status_check"');
    });

    it('points to `stepup migrate` for a missing table', () => {
      expect(toCliError(Object.assign(new Error('select * from "users" - relation "users" does not exist'), { code: '42P01' })))
        .to.include({ code: 'no_schema', message: 'the database has no schema yet: run `stepup migrate`' });
    });

    it('keeps a configuration error\'s variable name', () => {
      expect(toCliError(new ConfigError('REDIS_URL', 'must be a redis:// or rediss:// URL'))).to.include({ code: 'config', message: 'REDIS_URL: must be a redis:// or rediss:// URL' });
    });
  });

  describe('stdin', () => {
    const chunks = (...parts: string[]) => (async function* () {
      for (const part of parts) yield Buffer.from(part);
    })();

    it('returns the first line across chunks, without \\n or \\r\\n', async () => {
      expect(await readFirstLine(chunks('hem', 'melig\r', '\nrest'))).to.equal('hemmelig');
      expect(await readFirstLine(chunks('no newline at all'))).to.equal('no newline at all');
      expect(await readFirstLine(chunks('æøå\n'))).to.equal('æøå');
    });

    it('stops at the newline without waiting for the end of input (a person at a terminal)', async () => {
      const endless = (async function* () {
        yield Buffer.from('typed\n');
        await new Promise(() => {});
      })();
      expect(await readFirstLine(endless)).to.equal('typed');
    });

    it('refuses a first line over 4096 bytes', async () => {
      const error = await readFirstLine(chunks('x'.repeat(5000))).then(() => undefined, (e: unknown) => e);
      expect(error).to.be.instanceOf(CliError).and.include({ code: 'invalid_input' });
    });
  });

  describe('input rules', () => {
    it('accepts loopback http redirect URIs and https ones, stored exactly as given', () => {
      for (const uri of ['https://sag.viborg.dk/cb?x=1', 'http://localhost:3000/cb', 'http://127.0.0.1/cb', 'http://[::1]:8080/cb', 'HTTPS://Sag.Viborg.dk/cb']) {
        expect(checkRedirectUri(uri)).to.equal(uri);
      }
    });

    it('refuses redirect URIs with credentials, or to a host merely named like localhost', () => {
      expect(thrown(() => checkRedirectUri('https://user:pw@sag.viborg.dk/cb')).message).to.match(/must not carry a user name or password/);
      expect(thrown(() => checkRedirectUri('http://localhost.evil.example/cb')).message).to.match(/must use https/);
      expect(thrown(() => checkRedirectUri('https://sag.viborg.dk/cb#')).message).to.match(/fragment/);
    });

    it('accepts usernames with letters beyond ASCII and refuses invisible ones', () => {
      expect(checkUsername('Søren.Ærø@viborg')).to.equal('Søren.Ærø@viborg');
      expect(thrown(() => checkUsername('a\u202eb')).code).to.equal('invalid_input');
      expect(thrown(() => checkUsername('a\u00a0b')).code).to.equal('invalid_input');
    });

    it('checks the shape of an e-mail address', () => {
      expect(checkEmail('anna.andersen+it@viborg.dk')).to.equal('anna.andersen+it@viborg.dk');
      for (const bad of ['anna', 'anna@', '@viborg.dk', 'anna @viborg.dk', 'anna@viborg..dk', `${'a'.repeat(250)}@x.dk`]) {
        expect(thrown(() => checkEmail(bad)).code, bad).to.equal('invalid_input');
      }
    });

    it('builds the default metadata: code flow, two grants, ES256, basic auth, level low', () => {
      const { metadata, level, generated, secret } = buildClient({ clientId: 'sag', redirectUris: ['https://sag.example/cb', 'https://sag.example/cb'] });
      expect(metadata).to.deep.equal({
        client_id: 'sag',
        redirect_uris: ['https://sag.example/cb'],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: 'ES256',
      });
      expect(level).to.equal('low');
      expect(generated).to.equal(true);
      expect(secret).to.match(/^[A-Za-z0-9_-]{43}$/);
      expect(buildClient({ clientId: 'sag', redirectUris: ['https://sag.example/cb'] }).secret).not.to.equal(secret);
    });

    it('treats --public with --secret as a usage error', () => {
      expect(thrown(() => buildClient({ clientId: 'x', redirectUris: ['https://x.example/cb'], public: true, secret: 'z'.repeat(40) }))).to.be.instanceOf(UsageError);
    });

    it('refuses client_ids with spaces or beyond visible ASCII', () => {
      for (const clientId of ['', 'a b', 'sag\u00e6', 'x'.repeat(129)]) {
        expect(thrown(() => buildClient({ clientId, redirectUris: ['https://x.example/cb'] })).message, clientId).to.match(/^client_id must be/);
      }
    });
  });

  describe('the provider\'s own client validation', () => {
    it('accepts what buildClient makes, for each kind of client', async () => {
      for (const input of [
        { clientId: 'c', redirectUris: ['https://c.example/cb'] },
        { clientId: 'p', redirectUris: ['http://localhost/cb'], public: true, idTokenSignedResponseAlg: 'RS256' },
        { clientId: 's', redirectUris: [], grantTypes: ['client_credentials'] },
      ]) {
        const { metadata, secret } = buildClient(input);
        await validateClientMetadata('http://localhost:3000', { ...metadata, ...(secret ? { client_secret: secret } : {}) });
      }
    });

    it('refuses what the provider would refuse, as invalid input', async () => {
      const refusals: Array<[ClientMetadata, RegExp]> = [
        [{ client_id: 'c', redirect_uris: ['https://c.example/cb'] }, /client_secret is mandatory property/],
        [{ client_id: 'c', redirect_uris: ['https://c.example/cb'], token_endpoint_auth_method: 'none', id_token_signed_response_alg: 'PS256' }, /id_token_signed_response_alg must be/],
        [{ client_id: 'c', redirect_uris: [], token_endpoint_auth_method: 'none' }, /redirect_uris must contain members/],
        [{ client_id: 'c', redirect_uris: ['https://c.example/cb'], token_endpoint_auth_method: 'none', grant_types: ['implicit'] }, /grant_types can only contain/],
      ];
      for (const [metadata, message] of refusals) {
        const error = await validateClientMetadata('http://localhost:3000', metadata).then(() => undefined, (e: unknown) => e);
        expect(error, JSON.stringify(metadata)).to.be.instanceOf(CliError).and.include({ code: 'invalid_input' });
        expect((error as Error).message).to.match(/^the provider would refuse this client: /).and.match(message);
      }
    });
  });
});
