import { randomBytes } from 'node:crypto';

import { expect } from 'chai';

import * as client from 'openid-client';

import { createShortLivedAdapter } from '../../src/adapters/short-lived.ts';
import { BUILT_IN_CLIENT_IDS, removeClient } from '../../src/cli/commands/client.ts';
import { createOutput } from '../../src/cli/output.ts';
import { SELFSERVICE_CLIENT_ID } from '../../src/selfservice/router.ts';
import { Browser } from '../helpers/browser.ts';
import { addUser, createBacking, startIdp, TEST_SECRET_KEY, type Backing, type RunningIdp } from '../helpers/idp.ts';
import { discover, logIn, registerClient } from '../oidc/login-flow.ts';
import { createCliBacking, runStepup, type CliBacking } from './run.ts';

const unique = (base: string) => `${base}-${randomBytes(3).toString('hex')}`;

interface ClientJson {
  client_id: string;
  client_name: string | null;
  level: string;
  token_endpoint_auth_method: string;
  grant_types: string[];
  redirect_uris: string[];
  post_logout_redirect_uris: string[];
  id_token_signed_response_alg: string;
}

describe('stepup client', function () {
  let backing: CliBacking;

  before(async () => {
    backing = await createCliBacking();
    await backing.migrate();
  });
  after(async () => backing?.cleanup());

  /** The stored row, the metadata as the provider gets it (secret opened), and the client's audit events. */
  const stored = (clientId: string) => backing.inspect(async (db, { clients, events }) => ({
    row: (await db('oidc_clients').where({ client_id: clientId }).first()) as { metadata: Record<string, unknown>; client_secret_sealed: string | null; level: string } | undefined,
    providerMetadata: await clients.findMetadata(clientId),
    created: (await events('client.created')).filter((event) => event.clientId === clientId),
  }));
  const countClients = () => backing.inspect((_db, { clients }) => clients.count());

  describe('add', () => {
    it('generates a 32-byte secret for a confidential client, prints it once, and stores it only sealed', async () => {
      const clientId = unique('sagsystem');
      const result = await backing.run(['client', 'add', clientId, '--redirect-uri', 'https://sag.viborg.dk/callback', '--json']);
      expect(result.code, result.stderr).to.equal(0);
      const output = JSON.parse(result.stdout) as { client: ClientJson; client_secret: string };
      expect(output.client_secret).to.match(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(output.client_secret, 'base64url')).to.have.length(32);
      expect(output.client).to.deep.include({
        client_id: clientId,
        level: 'low',
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['authorization_code', 'refresh_token'],
        redirect_uris: ['https://sag.viborg.dk/callback'],
        id_token_signed_response_alg: 'ES256',
      });

      const { row, providerMetadata, created } = await stored(clientId);
      expect(row?.client_secret_sealed).to.be.a('string');
      expect(row?.client_secret_sealed).not.to.include(output.client_secret);
      expect(JSON.stringify(row)).not.to.include(output.client_secret);
      expect(providerMetadata?.client_secret).to.equal(output.client_secret);
      expect(providerMetadata).to.deep.include({ response_types: ['code'], token_endpoint_auth_method: 'client_secret_basic' });
      expect(created).to.have.length(1);
      expect(created[0]?.actor).to.equal('cli');
      expect(JSON.stringify(created[0])).not.to.include(output.client_secret);
      expect(result.stderr).not.to.include(output.client_secret);
    });

    it('shows a generated secret exactly once in text output', async () => {
      const clientId = unique('byggesag');
      const result = await backing.run(['client', 'add', clientId, '--redirect-uri', 'https://byg.viborg.dk/cb']);
      expect(result.code, result.stderr).to.equal(0);
      const { providerMetadata } = await stored(clientId);
      const secret = providerMetadata?.client_secret as string;
      expect(secret).to.have.length(43);
      expect(result.stdout.split(secret)).to.have.length(2);
      expect(result.stdout).to.match(/shown only this once/);
    });

    it('registers a public client without a secret, with its name, level, logout URI and RS256', async () => {
      const clientId = unique('borgerapp');
      const result = await backing.run([
        'client', 'add', clientId, '--public', '--json',
        '--redirect-uri', 'http://localhost:5173/cb', '--redirect-uri', 'http://127.0.0.1:8080/cb',
        '--post-logout-redirect-uri', 'http://localhost:5173/',
        '--level', 'substantial', '--name', 'Borger-app', '--id-token-signed-response-alg', 'RS256',
      ]);
      expect(result.code, result.stderr).to.equal(0);
      const output = JSON.parse(result.stdout) as Record<string, unknown>;
      expect(output).not.to.have.property('client_secret');

      const { row, providerMetadata } = await stored(clientId);
      expect(row?.client_secret_sealed).to.equal(null);
      expect(row?.level).to.equal('substantial');
      expect(providerMetadata).to.deep.include({
        client_name: 'Borger-app',
        token_endpoint_auth_method: 'none',
        redirect_uris: ['http://localhost:5173/cb', 'http://127.0.0.1:8080/cb'],
        post_logout_redirect_uris: ['http://localhost:5173/'],
        id_token_signed_response_alg: 'RS256',
      });
      expect(providerMetadata).not.to.have.property('client_secret');
    });

    it('stores a secret given with --secret sealed, and does not echo it', async () => {
      const clientId = unique('esdh');
      const secret = `given-${randomBytes(24).toString('hex')}`;
      const result = await backing.run(['client', 'add', clientId, '--redirect-uri', 'https://esdh.viborg.dk/cb', '--secret', secret, '--json']);
      expect(result.code, result.stderr).to.equal(0);
      expect(result.stdout).not.to.include(secret);
      const { row, providerMetadata } = await stored(clientId);
      expect(row?.client_secret_sealed).not.to.include(secret);
      expect(providerMetadata?.client_secret).to.equal(secret);
    });

    it('registers a client_credentials-only client without redirect URIs or response types', async () => {
      const clientId = unique('integration');
      const result = await backing.run(['client', 'add', clientId, '--grant-type', 'client_credentials']);
      expect(result.code, result.stderr).to.equal(0);
      const { providerMetadata } = await stored(clientId);
      expect(providerMetadata).to.deep.include({ grant_types: ['client_credentials'], response_types: [], redirect_uris: [] });
      expect(providerMetadata?.client_secret).to.have.length(43);
    });

    it('keeps a client\'s own factor lifetimes, in minutes, and refuses nonsense', async () => {
      const clientId = unique('ydelse');
      const result = await backing.run(['client', 'add', clientId, '--redirect-uri', 'https://ydelse.viborg.dk/cb', '--level', 'substantial', '--password-max-age', '60', '--second-factor-max-age', '15', '--json']);
      expect(result.code, result.stderr).to.equal(0);
      const output = JSON.parse(result.stdout) as { client: ClientJson & { password_max_age_minutes: number; second_factor_max_age_minutes: number } };
      expect(output.client).to.deep.include({ level: 'substantial', password_max_age_minutes: 60, second_factor_max_age_minutes: 15 });
      const record = await backing.inspect((_db, { clients }) => clients.find(clientId));
      expect(record).to.deep.include({ passwordMaxAgeSeconds: 3600, secondFactorMaxAgeSeconds: 900 });

      const refused = await backing.run(['client', 'add', unique('ydelse'), '--redirect-uri', 'https://ydelse.viborg.dk/cb', '--second-factor-max-age', '0']);
      expect(refused.code).to.equal(1);
      expect(refused.stderr).to.match(/--second-factor-max-age must be whole minutes/);
    });

    it('keeps a client\'s own number matching, on or off, and by default follows NUMBER_MATCHING', async () => {
      const withOwn = unique('sag');
      const on = await backing.run(['client', 'add', withOwn, '--redirect-uri', 'https://sag.viborg.dk/cb', '--number-matching', 'on', '--json']);
      expect(on.code, on.stderr).to.equal(0);
      expect((JSON.parse(on.stdout) as { client: { number_matching: string | null } }).client.number_matching).to.equal('on');
      expect(await backing.inspect((_db, { clients }) => clients.find(withOwn))).to.deep.include({ numberMatching: true });

      const plain = unique('sag');
      expect((await backing.run(['client', 'add', plain, '--redirect-uri', 'https://sag.viborg.dk/cb'])).code).to.equal(0);
      expect(await backing.inspect((_db, { clients }) => clients.find(plain))).to.deep.include({ numberMatching: null });

      const refused = await backing.run(['client', 'add', unique('sag'), '--redirect-uri', 'https://sag.viborg.dk/cb', '--number-matching', 'yes']);
      expect(refused.code).to.equal(1);
      expect(refused.stderr).to.match(/--number-matching/);
    });

    it('refuses an existing client_id, keeping the first registration', async () => {
      const clientId = unique('dublet');
      expect((await backing.run(['client', 'add', clientId, '--redirect-uri', 'https://first.example/cb'])).code).to.equal(0);
      const before = await stored(clientId);
      const result = await backing.run(['client', 'add', clientId, '--public', '--redirect-uri', 'https://second.example/cb']);
      expect(result.code).to.equal(1);
      expect(result.stderr).to.equal(`stepup: a client "${clientId}" already exists\n`);
      const after = await stored(clientId);
      expect(after.row).to.deep.equal(before.row);
      expect(after.created).to.have.length(1);
    });

    const refusals: Array<[what: string, args: string[], message: RegExp]> = [
      ['an http redirect URI to another host', ['--redirect-uri', 'http://sag.viborg.dk/cb'], /must use https \(plain http only for localhost or 127\.0\.0\.1\)/],
      ['a redirect URI with a fragment', ['--redirect-uri', 'https://sag.viborg.dk/cb#top'], /must not have a fragment/],
      ['a relative redirect URI', ['--redirect-uri', '/cb'], /is not an absolute URL/],
      ['a redirect URI with another scheme', ['--redirect-uri', 'javascript:alert(1)'], /must be an https URL/],
      ['a redirect URI with a line break', ['--redirect-uri', 'https://sag.viborg.dk/c\nb'], /must not contain spaces or control characters/],
      ['a post-logout redirect URI over http', ['--redirect-uri', 'https://a.example/cb', '--post-logout-redirect-uri', 'http://a.example/'], /^stepup: --post-logout-redirect-uri/],
      ['an unknown grant type', ['--redirect-uri', 'https://a.example/cb', '--grant-type', 'implicit'], /--grant-type must be one of authorization_code, refresh_token, client_credentials, got "implicit"/],
      ['a level that does not exist', ['--redirect-uri', 'https://a.example/cb', '--level', 'high'], /--level must be low or substantial, got "high"/],
      ['an id_token algorithm the server does not sign with', ['--redirect-uri', 'https://a.example/cb', '--id-token-signed-response-alg', 'HS256'], /--id-token-signed-response-alg must be ES256 or RS256/],
      ['a secret shorter than 32 characters', ['--redirect-uri', 'https://a.example/cb', '--secret', 'x'.repeat(31)], /--secret must be at least 32 characters/],
      ['a public client with client_credentials', ['--public', '--grant-type', 'client_credentials'], /public client cannot use client_credentials/],
      ['refresh_token without authorization_code', ['--grant-type', 'refresh_token', '--grant-type', 'client_credentials'], /refresh_token needs authorization_code/],
      ['redirect URIs on a client without authorization_code', ['--grant-type', 'client_credentials', '--redirect-uri', 'https://a.example/cb'], /redirect URIs apply only to the authorization_code grant/],
    ];
    for (const [what, args, message] of refusals) {
      it(`refuses ${what} (exit 1), writing nothing`, async () => {
        const before = await countClients();
        const clientId = unique('afvist');
        const result = await backing.run(['client', 'add', clientId, ...args]);
        expect(result.code, result.stdout).to.equal(1);
        expect(result.stderr).to.match(message);
        expect(result.stderr.trimEnd().split('\n')).to.have.length(1);
        expect(await countClients()).to.equal(before);
        expect((await stored(clientId)).created).to.have.length(0);
      });
    }

    const usageErrors: Array<[what: string, args: string[]]> = [
      ['--public together with --secret', ['--public', '--secret', 'y'.repeat(40), '--redirect-uri', 'https://a.example/cb']],
      ['no --redirect-uri for the code flow', []],
      ['an unknown option', ['--redirect-uri', 'https://a.example/cb', '--scope', 'openid']],
      ['--redirect-uri without a value', ['--redirect-uri']],
    ];
    for (const [what, args] of usageErrors) {
      it(`is a usage error with ${what} (exit 2), writing nothing`, async () => {
        const before = await countClients();
        const result = await backing.run(['client', 'add', unique('usage'), ...args]);
        expect(result.code).to.equal(2);
        expect(result.stderr).to.match(/\nUsage: stepup client add <client_id> --redirect-uri URI\.\.\./);
        expect(await countClients()).to.equal(before);
      });
    }
  });

  describe('list', () => {
    it('shows every client with its metadata and level, and never a secret', async () => {
      const confidential = unique('liste-fortrolig');
      const secret = `listed-${randomBytes(24).toString('hex')}`;
      const publicId = unique('liste-offentlig');
      expect((await backing.run(['client', 'add', confidential, '--secret', secret, '--redirect-uri', 'https://l.example/cb', '--name', 'Fortrolig', '--level', 'substantial'])).code).to.equal(0);
      expect((await backing.run(['client', 'add', publicId, '--public', '--redirect-uri', 'https://p.example/cb'])).code).to.equal(0);

      const result = await backing.run(['client', 'list', '--json']);
      expect(result.code, result.stderr).to.equal(0);
      expect(result.stdout).not.to.include(secret);
      expect(result.stdout).not.to.include('client_secret"');
      const { clients } = JSON.parse(result.stdout) as { clients: ClientJson[] };
      expect(clients.map((c) => c.client_id)).to.include.members([confidential, publicId]);
      expect(clients.find((c) => c.client_id === confidential)).to.deep.include({
        client_name: 'Fortrolig',
        level: 'substantial',
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['authorization_code', 'refresh_token'],
        redirect_uris: ['https://l.example/cb'],
      });
      expect(clients.find((c) => c.client_id === publicId)).to.deep.include({ client_name: null, level: 'low', token_endpoint_auth_method: 'none' });
      expect(await countClients()).to.equal(clients.length);

      const text = await backing.run(['client', 'list']);
      expect(text.code).to.equal(0);
      expect(text.stdout).to.include(`${confidential} "Fortrolig": confidential, level substantial`);
      expect(text.stdout).to.include(`${publicId}: public, level low`);
      expect(text.stdout).not.to.include(secret);
    });
  });

  describe('remove', () => {
    const removedEvents = (clientId: string) => backing.inspect(async (_db, { events }) => (await events('client.removed')).filter((event) => event.clientId === clientId));

    it('removes a client, writes client.removed, and list goes on without it', async () => {
      const clientId = unique('udfases');
      expect((await backing.run(['client', 'add', clientId, '--redirect-uri', 'https://gammel.viborg.dk/cb'])).code).to.equal(0);
      const result = await backing.run(['client', 'remove', clientId, '--json']);
      expect(result.code, result.stderr).to.equal(0);
      expect(JSON.parse(result.stdout)).to.deep.equal({ client_id: clientId, grants_revoked: 0, refresh_tokens_revoked: 0 });
      expect((await stored(clientId)).row).to.equal(undefined);
      const [event, ...more] = await removedEvents(clientId);
      expect(more).to.deep.equal([]);
      expect(event).to.deep.include({ actor: 'cli', clientId });
      const list = await backing.run(['client', 'list', '--json']);
      expect(list.code, list.stderr).to.equal(0);
      expect((JSON.parse(list.stdout) as { clients: ClientJson[] }).clients.map((c) => c.client_id)).to.not.include(clientId);
      const text = await backing.run(['client', 'remove', clientId]);
      expect(text.code).to.equal(1);
    });

    it('says so in text', async () => {
      const clientId = unique('tekst');
      await backing.run(['client', 'add', clientId, '--redirect-uri', 'https://tekst.viborg.dk/cb']);
      const result = await backing.run(['client', 'remove', clientId]);
      expect(result.code, result.stderr).to.equal(0);
      expect(result.stdout).to.include(`Removed client ${clientId}: 0 grant(s) and 0 refresh token(s) revoked.`);
    });

    it('refuses an unknown client with not_found, changing nothing', async () => {
      const before = await countClients();
      const result = await backing.run(['client', 'remove', 'ingen-saadan', '--json']);
      expect(result.code).to.equal(1);
      expect(JSON.parse(result.stdout)).to.deep.equal({ error: { code: 'not_found', message: 'no client "ingen-saadan" is registered (see stepup client list)' } });
      expect(await countClients()).to.equal(before);
      expect(await removedEvents('ingen-saadan')).to.deep.equal([]);
    });

    it('refuses the built-in self-service client', async () => {
      const result = await backing.run(['client', 'remove', SELFSERVICE_CLIENT_ID, '--json']);
      expect(result.code).to.equal(1);
      expect((JSON.parse(result.stdout) as { error: { code: string; message: string } }).error).to.deep.include({ code: 'invalid_input' });
      expect(BUILT_IN_CLIENT_IDS.has(SELFSERVICE_CLIENT_ID)).to.equal(true);
    });

    it('wants exactly one client_id', async () => {
      expect((await backing.run(['client', 'remove'])).code).to.equal(2);
    });
  });
});

describe('stepup client remove, with the IdP running on two nodes', function () {
  const PASSWORD = 'Foraar-i-Fredericia-2026';
  let idpBacking: Backing;
  let nodeA: RunningIdp;
  let nodeB: RunningIdp;
  let onA: client.Configuration;
  let onB: client.Configuration;

  before(async function () {
    idpBacking = await createBacking();
    // The command reaches a running server's database only through a real Postgres here.
    if (!idpBacking.redisUrl || !('url' in idpBacking.database)) this.skip();
    // The nodes hear the command on Redis under the key prefix both use in a deployment (the
    // command has no other), so a removal reaches their client caches.
    const deployed = { ...idpBacking, redisKeyPrefix: 'stepup:' };
    nodeA = await startIdp(deployed);
    nodeB = await startIdp(deployed, { config: { issuer: nodeA.issuer } });
    await addUser(nodeA.idp, { username: 'lone', password: PASSWORD });
  });
  after(async () => {
    await nodeA?.stop();
    await nodeB?.stop();
    await idpBacking?.cleanup();
  });

  /** A registered client, configured for openid-client once on node A and once on node B. */
  async function registered(clientId: string) {
    await registerClient(nodeA.idp, clientId);
    onA = await discover(nodeA.issuer, clientId);
    onB = await discover(nodeA.issuer, clientId);
    onB[client.customFetch] = (url, init) => fetch(url.replace(nodeA.url, nodeB.url), init);
  }

  const stepup = (args: string[]) => runStepup(args, {
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', SECRET_KEY: TEST_SECRET_KEY, DATABASE_URL: (idpBacking.database as { url: string }).url, REDIS_URL: idpBacking.redisUrl },
  });
  const refused = (attempt: Promise<unknown>) => attempt.then(() => 'accepted', (error: { error?: string; status?: number }) => error.error ?? `status ${error.status}`);

  it('revokes its grants at once: refresh and /me fail on both nodes', async () => {
    await registered('fjernes-rp');
    const { tokens } = await logIn(onA, new Browser(), { username: 'lone', password: PASSWORD });
    const { tokens: other } = await logIn(onB, new Browser(), { username: 'lone', password: PASSWORD });
    const sub = tokens.claims()?.sub as string;
    expect((await client.fetchUserInfo(onB, tokens.access_token, sub)).sub).to.equal(sub);

    const result = await stepup(['client', 'remove', 'fjernes-rp', '--json']);
    expect(result.code, result.stderr).to.equal(0);
    expect(JSON.parse(result.stdout)).to.deep.include({ client_id: 'fjernes-rp', refresh_tokens_revoked: 2 });
    expect((JSON.parse(result.stdout) as { grants_revoked: number }).grants_revoked).to.be.at.least(1);

    for (const [config, set] of [[onA, tokens], [onB, other], [onB, tokens], [onA, other]] as const) {
      expect(await refused(client.refreshTokenGrant(config, set.refresh_token as string))).to.equal('invalid_client');
      expect(await refused(client.fetchUserInfo(config, set.access_token, sub))).to.not.equal('accepted');
    }
    const payloads = await nodeA.idp.storage.db('oidc_payloads').whereRaw("payload->>'clientId' = ?", ['fjernes-rp']);
    expect(payloads).to.deep.equal([]);
  });

  it('is forgotten by both nodes\' client caches at once: removed and added again with a new secret, only the new one works', async () => {
    const clientId = unique('hukommelse-rp');
    const grant = async (node: RunningIdp, secret: string) => (await fetch(`${node.url}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    })).status;
    const add = (secret: string) => stepup(['client', 'add', clientId, '--grant-type', 'client_credentials', '--secret', secret]);
    const [oldSecret, newSecret] = [randomBytes(32).toString('base64url'), randomBytes(32).toString('base64url')];
    expect((await add(oldSecret)).code).to.equal(0);
    // Both nodes look the client up, and keep it.
    expect([await grant(nodeA, oldSecret), await grant(nodeB, oldSecret)]).to.deep.equal([200, 200]);

    expect((await stepup(['client', 'remove', clientId])).code).to.equal(0);
    expect([await grant(nodeA, oldSecret), await grant(nodeB, oldSecret)]).to.deep.equal([401, 401]);
    expect((await add(newSecret)).code).to.equal(0);
    expect([await grant(nodeA, oldSecret), await grant(nodeB, oldSecret)]).to.deep.equal([401, 401]);
    expect([await grant(nodeA, newSecret), await grant(nodeB, newSecret)]).to.deep.equal([200, 200]);
  });

  it('deletes its access tokens and codes from the short-lived store too', async () => {
    await registered('ryddes-rp');
    const { tokens } = await logIn(onA, new Browser(), { username: 'lone', password: PASSWORD });
    const accessTokens = createShortLivedAdapter(nodeA.idp.storage.shortLived, 'AccessToken');
    const jti = tokens.access_token;
    expect(await accessTokens.find(jti)).to.not.equal(undefined);
    await removeClient({ storage: nodeA.idp.storage }, { clientId: 'ryddes-rp' }, createOutput({ json: true, stdout: { write: () => true }, stderr: { write: () => true } }));
    expect(await accessTokens.find(jti)).to.equal(undefined);
  });
});
