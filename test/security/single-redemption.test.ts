import { expect } from 'chai';
import * as client from 'openid-client';

import { Browser } from '../helpers/browser.ts';
import { addUser, createBacking, startIdp, type Backing, type RunningIdp } from '../helpers/idp.ts';
import { authorizationRequest, discover, logIn, openLoginPage, REDIRECT_URI, registerClient } from '../oidc/login-flow.ts';

const PASSWORD = 'Vinter-i-Viborg-2026';
const ROUNDS = 4;

/** What each of several racing token requests got: tokens, or the OAuth error code. */
async function race<T>(attempts: Array<() => Promise<T>>) {
  const settled = await Promise.allSettled(attempts.map((attempt) => attempt()));
  return {
    won: settled.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : [])),
    refused: settled.flatMap((result) => (result.status === 'rejected' ? [(result.reason as { error?: string }).error ?? String(result.reason)] : [])),
  };
}

describe('security: codes and refresh tokens are redeemed once, across nodes', function () {
  let backing: Backing;
  let nodeA: RunningIdp;
  let nodeB: RunningIdp;
  let onA: client.Configuration;
  let onB: client.Configuration;

  before(async function () {
    backing = await createBacking();
    // Two nodes are one IdP only through real Redis and Postgres.
    if (!backing.redisUrl || !('url' in backing.database)) this.skip();
    nodeA = await startIdp(backing);
    nodeB = await startIdp(backing, { config: { issuer: nodeA.issuer } });
    await addUser(nodeA.idp, { username: 'gudrun', password: PASSWORD });
    await registerClient(nodeA.idp, 'race-rp');
    onA = await discover(nodeA.issuer, 'race-rp');
    onB = await discover(nodeA.issuer, 'race-rp');
    onB[client.customFetch] = (url, init) => fetch(url.replace(nodeA.url, nodeB.url), init);
  });
  after(async () => {
    await nodeA?.stop();
    await nodeB?.stop();
    await backing?.cleanup();
  });

  /** A login up to the relying party's callback, the code not yet redeemed. */
  async function codeCallback(browser: Browser) {
    const request = await authorizationRequest(onA);
    const { form } = await openLoginPage(browser, request.url);
    const { url } = await browser.submit(form.action, { ...form.fields, username: 'gudrun', password: PASSWORD }, { stopAt: REDIRECT_URI });
    return { request, callback: new URL(url) };
  }

  it('gives one token response for one authorization code sent to both nodes at once', async () => {
    for (let round = 0; round < ROUNDS; round += 1) {
      const { request, callback } = await codeCallback(new Browser());
      const checks = { pkceCodeVerifier: request.codeVerifier, expectedState: request.state };
      const { won, refused } = await race([onA, onB].map((config) => () => client.authorizationCodeGrant(config, callback, checks)));
      expect(won, `round ${round}`).to.have.length(1);
      expect(refused, `round ${round}`).to.deep.equal(['invalid_grant']);
      // The code was used twice, so what it gave is revoked (RFC 6749 §4.1.2), as for a later replay.
      const [tokens] = won;
      const refresh = await client.refreshTokenGrant(onA, tokens!.refresh_token as string).then(() => 'ok', (error: { error?: string }) => error.error);
      expect(refresh).to.equal('invalid_grant');
    }
  });

  it('gives one token response for one refresh token sent to both nodes at once', async () => {
    for (let round = 0; round < ROUNDS; round += 1) {
      const { tokens } = await logIn(onA, new Browser(), { username: 'gudrun', password: PASSWORD });
      const refreshToken = tokens.refresh_token as string;
      const { won, refused } = await race([onA, onB].map((config) => () => client.refreshTokenGrant(config, refreshToken)));
      expect(won, `round ${round}`).to.have.length(1);
      expect(refused, `round ${round}`).to.deep.equal(['invalid_grant']);
      // A rotated refresh token used twice may be stolen (RFC 9700 §4.14.2): the grant is revoked.
      const rotated = await client.refreshTokenGrant(onB, won[0]!.refresh_token as string).then(() => 'ok', (error: { error?: string }) => error.error);
      expect(rotated).to.equal('invalid_grant');
    }
  });

  it('still refreshes, rotating, when the refresh token is used once at a time', async () => {
    const { tokens } = await logIn(onA, new Browser(), { username: 'gudrun', password: PASSWORD });
    const first = await client.refreshTokenGrant(onB, tokens.refresh_token as string);
    const second = await client.refreshTokenGrant(onA, first.refresh_token as string);
    expect(second.access_token).to.be.a('string');
    expect(second.refresh_token).to.not.equal(first.refresh_token);
  });

  it('refuses a refresh token whose grant is gone, though the token is read with its grant', async () => {
    const { tokens } = await logIn(onA, new Browser(), { username: 'gudrun', password: PASSWORD });
    const refreshToken = tokens.refresh_token as string;
    const introspected = await client.tokenIntrospection(onA, refreshToken);
    expect(introspected.active).to.equal(true);
    await nodeA.idp.storage.db('oidc_payloads').where({ model: 'Grant' }).delete();
    expect((await client.tokenIntrospection(onB, refreshToken)).active).to.equal(false);
    const refused = await client.refreshTokenGrant(onB, refreshToken).then(() => 'ok', (error: { error?: string }) => error.error);
    expect(refused).to.equal('invalid_grant');
  });

  it('refreshes in three Postgres statements: the token with its grant, the account, the rotation', async () => {
    const { tokens } = await logIn(onA, new Browser(), { username: 'gudrun', password: PASSWORD });
    const statements: string[] = [];
    const record = (query: { sql: string }) => statements.push(query.sql);
    nodeA.idp.storage.db.on('query', record);
    try {
      await client.refreshTokenGrant(onA, tokens.refresh_token as string);
    } finally {
      nodeA.idp.storage.db.off('query', record);
    }
    expect(statements, statements.join('\n')).to.have.length(3);
    expect(statements[0]).to.match(/left join oidc_payloads g/);
    expect(statements[2]).to.match(/^with consumed as/);
  });
});