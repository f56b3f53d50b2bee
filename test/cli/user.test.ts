import { randomBytes } from 'node:crypto';

import { expect } from 'chai';

import { createPasswordLogin } from '../../src/auth/password-login.ts';
import { verifyPassword } from '../../src/auth/password-hash.ts';
import { configWith } from '../../src/config/index.ts';
import { deriveKey } from '../../src/crypto/derived-keys.ts';
import { createUserAttributes } from '../../src/identity/attributes.ts';
import { createMemoryStore } from '../../src/store/short-lived/memory.ts';
import { createRedisStore } from '../../src/store/short-lived/redis.ts';
import type { ShortLivedStore } from '../../src/store/short-lived/types.ts';
import type { User, UserRepository } from '../../src/store/users.ts';
import { createCliBacking, SECRET_KEY, type CliBacking } from './run.ts';

const PASSWORD = 'Vinter-i-Viborg-2026';

/** A username no other test (or run, on a shared Redis) uses. */
const unique = (base: string) => `${base}-${randomBytes(3).toString('hex')}`;

const config = configWith({ secretKey: SECRET_KEY });

describe('stepup user', function () {
  let backing: CliBacking;

  before(async () => {
    backing = await createCliBacking();
    await backing.migrate();
  });
  after(async () => backing?.cleanup());

  const countUsers = () => backing.inspect((_db, { users }) => users.count());

  /** A password login as the server does it, on the suite's database and the given store. */
  const logIn = (store: ShortLivedStore, input: { username: string; password: string; ip: string }, maxFailures = config.lockout.maxFailures) =>
    backing.inspect((_db, { users, audit }) =>
      createPasswordLogin({ users, store, audit, argon2: config.argon2, limits: { ...config.lockout, maxFailures }, usernameKey: deriveKey(SECRET_KEY, 'audit-username') }).login(input));

  describe('add', () => {
    it('stores an argon2id hash of the first line on stdin that verifies, and audits without the password', async () => {
      const username = unique('anna');
      const result = await backing.run(['user', 'add', username, '--name', 'Anna Andersen', '--email', 'anna@viborg.dk', '--password-stdin'], { stdin: `${PASSWORD}\nignored second line\n` });
      expect(result.code, result.stderr).to.equal(0);
      expect(result.stdout).to.include(`Added user ${username}`);
      expect(result.stderr).to.equal('');

      await backing.inspect(async (_db, { users, events }) => {
        const user = await users.findByUsername(username);
        expect(user).to.include({ username, displayName: 'Anna Andersen', email: 'anna@viborg.dk', status: 'active' });
        expect(user?.passwordHash).to.match(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
        expect(await verifyPassword(user?.passwordHash as string, PASSWORD)).to.equal(true);
        expect(await verifyPassword(user?.passwordHash as string, `${PASSWORD}\n`)).to.equal(false);
        expect(await verifyPassword(user?.passwordHash as string, 'ignored second line')).to.equal(false);

        const created = (await events('user.created')).filter((event) => event.userId === user?.id);
        expect(created).to.have.length(1);
        expect(created[0]).to.include({ actor: 'cli', username });
        expect(JSON.stringify(created[0])).not.to.include(PASSWORD);
        expect(JSON.stringify(created[0])).not.to.include('argon2');
      });
    });

    it('strips a Windows line ending from the password', async () => {
      const username = unique('bent');
      const result = await backing.run(['user', 'add', username, '--password-stdin'], { stdin: `${PASSWORD}\r\n` });
      expect(result.code, result.stderr).to.equal(0);
      const hash = await backing.inspect(async (_db, { users }) => (await users.findByUsername(username))?.passwordHash);
      expect(await verifyPassword(hash as string, PASSWORD)).to.equal(true);
    });

    it('prints the new user as one JSON document with --json', async () => {
      const username = unique('carl');
      const result = await backing.run(['user', 'add', username, '--json', '--password-stdin'], { stdin: PASSWORD });
      expect(result.code, result.stderr).to.equal(0);
      const { user } = JSON.parse(result.stdout) as { user: Record<string, unknown> };
      const stored = await backing.inspect(async (_db, { users }) => users.findByUsername(username));
      expect(user).to.deep.equal({ id: stored?.id, username, name: null, email: null, status: 'active', hasPassword: true });
    });

    it('adds a user without a password when --password-stdin is not given', async () => {
      const username = unique('dina');
      const result = await backing.run(['user', 'add', username]);
      expect(result.code, result.stderr).to.equal(0);
      expect(result.stdout).to.match(/no password yet/);
      const stored = await backing.inspect(async (_db, { users }) => users.findByUsername(username));
      expect(stored?.passwordHash).to.equal(null);
    });

    it('refuses a username taken in another letter case, writing nothing', async () => {
      const username = unique('erik');
      expect((await backing.run(['user', 'add', username, '--password-stdin'], { stdin: PASSWORD })).code).to.equal(0);
      const [usersBefore, eventsBefore] = await backing.inspect(async (_db, { users, events }) => [await users.count(), (await events('user.created')).length]);

      const result = await backing.run(['user', 'add', username.toUpperCase(), '--password-stdin'], { stdin: 'another password' });
      expect(result.code).to.equal(1);
      expect(result.stderr).to.equal(`stepup: the username "${username.toUpperCase()}" is taken (by "${username}"; usernames ignore letter case)\n`);
      expect(result.stdout).to.equal('');
      const [usersAfter, eventsAfter] = await backing.inspect(async (_db, { users, events }) => [await users.count(), (await events('user.created')).length]);
      expect(usersAfter).to.equal(usersBefore);
      expect(eventsAfter).to.equal(eventsBefore);
    });

    const refusals: Array<[what: string, args: string[], stdin: string, message: RegExp]> = [
      ['an empty password', ['--password-stdin'], '\n', /^stepup: the password on stdin is empty\n$/],
      ['no password at all on stdin', ['--password-stdin'], '', /^stepup: the password on stdin is empty\n$/],
      ['a malformed e-mail address', ['--email', 'anna@'], '', /^stepup: --email "anna@" is not an e-mail address\n$/],
      ['an empty display name', ['--name', '  '], '', /^stepup: --name must be 1 to 200 characters\n$/],
    ];
    for (const [what, args, stdin, message] of refusals) {
      it(`refuses ${what}, writing nothing`, async () => {
        const before = await countUsers();
        const username = unique('fie');
        const result = await backing.run(['user', 'add', username, ...args], { stdin });
        expect(result.code).to.equal(1);
        expect(result.stderr).to.match(message);
        expect(await countUsers()).to.equal(before);
      });
    }

    for (const [what, username] of [['a space', 'a b'], ['a tab', 'a\tb'], ['a zero-width space', 'a\u200bb'], ['65 characters', 'x'.repeat(65)], ['nothing', '']] as const) {
      it(`refuses a username with ${what}`, async () => {
        const before = await countUsers();
        const result = await backing.run(['user', 'add', username]);
        expect(result.code).to.equal(1);
        expect(result.stderr).to.match(/^stepup: username must /);
        expect(await countUsers()).to.equal(before);
      });
    }

    it('accepts a 64-character username with letters beyond ASCII', async () => {
      const username = `ø${randomBytes(4).toString('hex')}${'å'.repeat(55)}`;
      expect([...username]).to.have.length(64);
      const result = await backing.run(['user', 'add', username]);
      expect(result.code, result.stderr).to.equal(0);
    });

    it('is a usage error without a username (exit 2, usage on stderr)', async () => {
      const result = await backing.run(['user', 'add']);
      expect(result.code).to.equal(2);
      expect(result.stderr).to.match(/^stepup: missing <username>\nUsage: stepup user add <username>/);
      expect(result.stdout).to.equal('');
    });
  });

  describe('lock and unlock', () => {
    let username: string;

    beforeEach(async () => {
      username = unique('gitte');
      const added = await backing.run(['user', 'add', username, '--password-stdin'], { stdin: PASSWORD });
      expect(added.code, added.stderr).to.equal(0);
    });

    const statusOf = () => backing.inspect(async (_db, { users }) => (await users.findByUsername(username))?.status);
    const eventsOf = (type: 'user.locked' | 'user.unlocked') =>
      backing.inspect(async (_db, { events }) => (await events(type)).filter((event) => event.username === username));

    it('locks: the status becomes locked, a password login is refused, and user.locked is audited once', async () => {
      // Another letter case finds the same employee.
      const result = await backing.run(['user', 'lock', username.toUpperCase()]);
      expect(result.code, result.stderr).to.equal(0);
      expect(await statusOf()).to.equal('locked');
      const locked = await eventsOf('user.locked');
      expect(locked).to.have.length(1);
      expect(locked[0]).to.deep.include({ actor: 'cli', details: { reason: 'admin' } });

      expect(await logIn(createMemoryStore(), { username, password: PASSWORD, ip: '192.0.2.1' })).to.deep.equal({ ok: false, reason: 'disabled' });

      const again = await backing.run(['user', 'lock', username, '--json']);
      expect(again.code, again.stderr).to.equal(0);
      expect(JSON.parse(again.stdout)).to.deep.include({ changed: false });
      expect(await eventsOf('user.locked')).to.have.length(1);
    });

    it('unlocks: the status becomes active again and user.unlocked is audited', async () => {
      expect((await backing.run(['user', 'lock', username])).code).to.equal(0);
      const result = await backing.run(['user', 'unlock', username, '--json']);
      expect(result.code, result.stderr).to.equal(0);
      expect(JSON.parse(result.stdout)).to.deep.include({ statusWas: 'locked', automaticLockSeconds: 0 });
      expect(await statusOf()).to.equal('active');
      const unlocked = await eventsOf('user.unlocked');
      expect(unlocked).to.have.length(1);
      expect(unlocked[0]).to.deep.include({ actor: 'cli', details: { statusWas: 'locked', automaticLockSeconds: 0 } });
    });

    it('unlock lifts an automatic lockout kept in Redis', async function () {
      if (!backing.redisUrl) return this.skip(); // the in-process store is per process; only Redis is shared
      // The same key prefix as the command (and the server) use by default.
      const store = createRedisStore({ url: backing.redisUrl, keyPrefix: 'stepup:' });
      try {
        // One failure locks (maxFailures 1); then even the right password is refused.
        expect(await logIn(store, { username, password: 'wrong', ip: '192.0.2.2' }, 1)).to.deep.equal({ ok: false, reason: 'wrong-password' });
        expect(await logIn(store, { username, password: PASSWORD, ip: '192.0.2.2' }, 1)).to.deep.equal({ ok: false, reason: 'locked' });

        const result = await backing.run(['user', 'unlock', username, '--json']);
        expect(result.code, result.stderr).to.equal(0);
        const output = JSON.parse(result.stdout) as { statusWas: string; automaticLockSeconds: number };
        expect(output.statusWas).to.equal('active');
        expect(output.automaticLockSeconds).to.be.greaterThan(0);
        expect(await logIn(store, { username, password: PASSWORD, ip: '192.0.2.3' }, 1)).to.include({ ok: true });
        expect((await eventsOf('user.unlocked'))[0]?.details).to.deep.equal({ statusWas: 'active', automaticLockSeconds: output.automaticLockSeconds });
      } finally {
        await store.close();
      }
    });

    it('refuses an unknown user with exit 1', async () => {
      for (const command of ['lock', 'unlock']) {
        const result = await backing.run(['user', command, unique('nobody'), '--json']);
        expect(result.code).to.equal(1);
        expect(result.stderr).to.match(/^stepup: there is no user "nobody-[0-9a-f]{6}"\n$/);
        expect(JSON.parse(result.stdout)).to.deep.include({ error: { code: 'not_found', message: result.stderr.slice('stepup: '.length, -1) } });
      }
    });
  });
  describe('list', () => {
    it('lists users with their status, password and second factors, never a hash, and filters by status', async () => {
      const [anna, bent] = [unique('liste-anna'), unique('liste-bent')];
      expect((await backing.run(['user', 'add', anna, '--name', 'Anna Liste', '--email', 'anna@viborg.dk', '--password-stdin'], { stdin: PASSWORD })).code).to.equal(0);
      expect((await backing.run(['user', 'add', bent])).code).to.equal(0);
      expect((await backing.run(['user', 'lock', bent])).code).to.equal(0);
      const annaId = await backing.inspect(async (db, { users }) => {
        const user = await users.findByUsername(anna);
        await db('totp_tokens').insert({ kind: 'authenticator', secret_sealed: 'sealed', algorithm: 'SHA1', digits: 6, period: 30, status: 'assigned', user_id: user?.id, name: 'Telefon' });
        return user?.id;
      });

      const result = await backing.run(['user', 'list', '--json']);
      expect(result.code, result.stderr).to.equal(0);
      expect(result.stdout).not.to.match(/argon2|password_?hash/i);
      const { users } = JSON.parse(result.stdout) as { users: Array<Record<string, unknown>> };
      const listed = users.find((user) => user.username === anna);
      expect(Object.keys(listed ?? {})).to.deep.equal(['id', 'username', 'name', 'email', 'status', 'hasPassword', 'createdAt', 'secondFactors']);
      expect(listed).to.deep.include({ id: annaId, name: 'Anna Liste', email: 'anna@viborg.dk', status: 'active', hasPassword: true, secondFactors: 1 });
      expect(Date.parse(listed?.createdAt as string)).to.be.closeTo(Date.now(), 60_000);
      expect(users.find((user) => user.username === bent)).to.deep.include({ status: 'locked', hasPassword: false, secondFactors: 0 });

      const locked = JSON.parse((await backing.run(['user', 'list', '--status', 'locked', '--json'])).stdout) as { users: Array<{ username: string; status: string }> };
      expect(locked.users.map((user) => user.username)).to.include(bent).and.not.include(anna);
      expect(locked.users.every((user) => user.status === 'locked')).to.equal(true);

      const text = await backing.run(['user', 'list']);
      expect(text.code, text.stderr).to.equal(0);
      expect(text.stdout).to.match(new RegExp(`^${anna}  Anna Liste <anna@viborg.dk>  \\(active, password, 1 second factor; added \\d{4}-\\d{2}-\\d{2}; id ${annaId}\\)$`, 'm'));
      expect(text.stdout).to.match(new RegExp(`^${bent}  \\(locked, no password, 0 second factors;`, 'm'));
    });

    it('refuses an unknown status', async () => {
      const result = await backing.run(['user', 'list', '--status', 'gone']);
      expect(result.code).to.equal(1);
      expect(result.stderr).to.equal('stepup: --status must be active or locked, got "gone"\n');
    });
  });

  describe('set-password', () => {
    it('sets an argon2id hash of the first line on stdin and audits user.password.set without it', async () => {
      const username = unique('ny');
      expect((await backing.run(['user', 'add', username])).code).to.equal(0);
      const result = await backing.run(['user', 'set-password', username.toUpperCase(), '--password-stdin', '--json'], { stdin: `${PASSWORD}\n` });
      expect(result.code, result.stderr).to.equal(0);
      expect(JSON.parse(result.stdout)).to.deep.include({ hadPassword: false }).and.to.have.nested.property('user.hasPassword', true);

      await backing.inspect(async (_db, { users, events }) => {
        const user = await users.findByUsername(username);
        expect(user?.passwordHash).to.match(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
        expect(await verifyPassword(user?.passwordHash as string, PASSWORD)).to.equal(true);
        const set = (await events('user.password.set')).filter((event) => event.userId === user?.id);
        expect(set).to.have.length(1);
        expect(set[0]).to.deep.include({ actor: 'cli', username, details: { hadPassword: false } });
        expect(JSON.stringify(set[0])).not.to.include(PASSWORD);
      });
      expect(await logIn(createMemoryStore(), { username, password: PASSWORD, ip: '192.0.2.20' })).to.include({ ok: true });
    });

    it('replaces a password, and leaves a locked account locked', async () => {
      const username = unique('glemt');
      expect((await backing.run(['user', 'add', username, '--password-stdin'], { stdin: 'det-gamle-kodeord' })).code).to.equal(0);
      expect((await backing.run(['user', 'lock', username])).code).to.equal(0);
      const result = await backing.run(['user', 'set-password', username, '--password-stdin'], { stdin: PASSWORD });
      expect(result.code, result.stderr).to.equal(0);
      expect(result.stdout).to.equal(`Set the password of ${username}.\n${username} is locked; \`stepup user unlock ${username}\` lets them in.\n`);
      const user = await backing.inspect(async (_db, { users }) => users.findByUsername(username));
      expect(user?.status).to.equal('locked');
      expect(await verifyPassword(user?.passwordHash as string, 'det-gamle-kodeord')).to.equal(false);
      expect(await logIn(createMemoryStore(), { username, password: PASSWORD, ip: '192.0.2.21' })).to.deep.equal({ ok: false, reason: 'disabled' });
    });

    it('reads the password only from stdin, and refuses an empty one or an unknown user, writing nothing', async () => {
      const username = unique('uden');
      expect((await backing.run(['user', 'add', username])).code).to.equal(0);
      const withoutFlag = await backing.run(['user', 'set-password', username], { stdin: PASSWORD });
      expect(withoutFlag.code).to.equal(2);
      expect(withoutFlag.stderr).to.match(/^stepup: --password-stdin is required \(the password is read from stdin\)\nUsage: stepup user set-password <username> --password-stdin/);
      const empty = await backing.run(['user', 'set-password', username, '--password-stdin'], { stdin: '\n' });
      expect(empty.code).to.equal(1);
      expect(empty.stderr).to.equal('stepup: the password on stdin is empty\n');
      const unknown = await backing.run(['user', 'set-password', unique('ingen'), '--password-stdin'], { stdin: PASSWORD });
      expect(unknown.code).to.equal(1);
      expect(unknown.stderr).to.match(/^stepup: there is no user "ingen-[0-9a-f]{6}"\n$/);
      const [hash, sets] = await backing.inspect(async (_db, { users, events }) => {
        const user = await users.findByUsername(username);
        return [user?.passwordHash, (await events('user.password.set')).filter((event) => event.userId === user?.id)];
      });
      expect(hash).to.equal(null);
      expect(sets).to.have.length(0);
    });
  });

  describe('set-attribute', () => {
    const PERSON = '6f0b3c1e-8a0d-4c52-9f1e-2d3b4a5c6d7e';
    const attributes = (users: UserRepository) => createUserAttributes({ users, key: deriveKey(SECRET_KEY, 'user-attribute') });

    it('stores only a keyed digest of the first line on stdin, which identity verification matches, and audits the name without the value', async () => {
      const username = unique('mitid');
      expect((await backing.run(['user', 'add', username])).code).to.equal(0);
      const result = await backing.run(['user', 'set-attribute', username, 'person-uuid', '--value-stdin', '--json'], { stdin: `${PERSON}\n` });
      expect(result.code, result.stderr).to.equal(0);
      expect(JSON.parse(result.stdout)).to.deep.include({ attribute: 'person-uuid', replaced: false });
      const again = await backing.run(['user', 'set-attribute', username, 'person-uuid', '--value-stdin'], { stdin: PERSON });
      expect(again.stdout).to.equal(`Replaced the attribute person-uuid of ${username} (stored as a keyed digest; it cannot be shown).\n`);

      await backing.inspect(async (db, { users, events }) => {
        const user = await users.findByUsername(username);
        const rows = await db('user_attributes').where({ user_id: user?.id });
        expect(rows).to.have.length(1);
        expect(JSON.stringify(rows)).not.to.include(PERSON);
        const stored = await attributes(users).expected(user as User, 'person-uuid');
        expect(stored?.equals(attributes(users).digest('person-uuid', PERSON))).to.equal(true);
        const set = (await events('user.attribute.set')).filter((event) => event.userId === user?.id);
        expect(set.map((event) => event.details)).to.deep.equal([{ name: 'person-uuid', replaced: false }, { name: 'person-uuid', replaced: true }]);
        expect(JSON.stringify(set)).not.to.include(PERSON);
      });
    });

    it('reads the value only from stdin, and refuses email, a bad name or value, or an unknown user, writing nothing', async () => {
      const username = unique('uden-attribut');
      expect((await backing.run(['user', 'add', username])).code).to.equal(0);
      const withoutFlag = await backing.run(['user', 'set-attribute', username, 'person-uuid'], { stdin: PERSON });
      expect(withoutFlag.code).to.equal(2);
      expect(withoutFlag.stderr).to.match(/^stepup: --value-stdin is required \(the value is read from stdin\)\nUsage: stepup user set-attribute <username> <name> --value-stdin/);
      const refusals: Array<[string, string, string]> = [
        ['email', 'anna@viborg.dk', 'stepup: email is the user\'s e-mail address (--email), not an attribute to set\n'],
        ['cpr nummer', PERSON, 'stepup: the attribute name must be a letter, then up to 63 letters, digits, \'.\', \'_\' or \'-\', got "cpr nummer"\n'],
        ['person-uuid', '\n', 'stepup: the value on stdin is empty\n'],
        ['person-uuid', ` ${PERSON}`, 'stepup: the value on stdin must not contain control characters or begin or end with a space\n'],
      ];
      for (const [name, stdin, stderr] of refusals) {
        const refused = await backing.run(['user', 'set-attribute', username, name, '--value-stdin'], { stdin });
        expect(refused.code, name).to.equal(1);
        expect(refused.stderr).to.equal(stderr);
      }
      const unknown = await backing.run(['user', 'set-attribute', unique('ingen'), 'person-uuid', '--value-stdin'], { stdin: PERSON });
      expect(unknown.code).to.equal(1);
      const [rows, sets] = await backing.inspect(async (db, { users, events }) => {
        const user = await users.findByUsername(username);
        return [await db('user_attributes').where({ user_id: user?.id }), (await events('user.attribute.set')).filter((event) => event.userId === user?.id)];
      });
      expect(rows).to.have.length(0);
      expect(sets).to.have.length(0);
    });
  });
});
