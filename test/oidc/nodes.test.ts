import { expect } from 'chai';
import * as client from 'openid-client';

import { ACR_VALUES } from '../../src/auth/levels.ts';
import { KEYS_CHANGED_CHANNEL, rotateSigningKeys } from '../../src/crypto/signing-keys.ts';
import { Browser, readForm } from '../helpers/browser.ts';
import { addUser, createBacking, startIdp, type Backing, type RunningIdp } from '../helpers/idp.ts';
import { codeAt, makeCodeViewer, factorsOn } from '../helpers/totp.ts';
import { authorizationRequest, discover, logIn, openLoginPage, REDIRECT_URI, registerClient } from './login-flow.ts';

const PASSWORD = 'Efteraar-i-Aalborg-2026';

const kidOf = (jwt: string) => (JSON.parse(Buffer.from(jwt.split('.')[0] as string, 'base64url').toString()) as { kid: string }).kid;

describe('embedding and several nodes', function () {
  describe('embedded in a host Koa app under /idp', () => {
    let backing: Backing;
    let running: RunningIdp;

    before(async () => {
      backing = await createBacking();
      running = await startIdp(backing, { mountPath: '/idp' });
      await addUser(running.idp, { username: 'dorte', password: PASSWORD });
      await registerClient(running.idp, 'embedded-rp');
    });
    after(async () => {
      await running?.stop();
      await backing?.cleanup();
    });

    it('has an issuer ending in /idp and logs in through it', async () => {
      expect(running.issuer).to.match(/\/idp$/);
      const config = await discover(running.issuer, 'embedded-rp');
      expect(config.serverMetadata().authorization_endpoint).to.equal(`${running.issuer}/auth`);
      const { tokens } = await logIn(config, new Browser(), { username: 'dorte', password: PASSWORD });
      expect(tokens.claims()?.iss).to.equal(running.issuer);
      const health = await fetch(`${running.issuer}/healthz`);
      expect(health.status).to.equal(200);
    });
  });

  describe('two nodes sharing Postgres and Redis', () => {
    /** openid-client for the shared issuer, with every request sent to node B. */
    const discoverOnB = async (clientId: string) => {
      const config = await discover(nodeA.issuer, clientId);
      config[client.customFetch] = (url, init) => fetch(url.replace(nodeA.url, nodeB.url), init);
      return config;
    };
    let backing: Backing;
    let nodeA: RunningIdp;
    let nodeB: RunningIdp;

    before(async function () {
      backing = await createBacking();
      // In-process stores are one per process: only real Redis and Postgres make two nodes one IdP.
      if (!backing.redisUrl || !('url' in backing.database)) this.skip();
      nodeA = await startIdp(backing);
      // Both nodes serve one issuer, as behind a load balancer; the test picks the node per request.
      nodeB = await startIdp(backing, { config: { issuer: nodeA.issuer } });
      await addUser(nodeA.idp, { username: 'erik', password: PASSWORD });
      await registerClient(nodeA.idp, 'cluster-rp');
    });
    after(async () => {
      await nodeA?.stop();
      await nodeB?.stop();
      await backing?.cleanup();
    });

    it('starts a login on one node, finishes it on the other, and refreshes on either', async () => {
      const onA = await discover(nodeA.issuer, 'cluster-rp');
      const browser = new Browser();
      const request = await authorizationRequest(onA);
      const { form } = await openLoginPage(browser, request.url);
      // The same browser posts the login form to node B: cookies, CSRF and interaction are shared.
      const action = form.action.replace(nodeA.url, nodeB.url);
      const { url: callback } = await browser.submit(action, { ...form.fields, username: 'erik', password: PASSWORD }, { stopAt: REDIRECT_URI });
      expect(callback).to.match(/code=/);
    });

    it('issues tokens on node A that node B refreshes and introspects', async () => {
      const onA = await discover(nodeA.issuer, 'cluster-rp');
      const onB = await discoverOnB('cluster-rp');
      const { tokens } = await logIn(onA, new Browser(), { username: 'erik', password: PASSWORD });
      const refreshed = await client.refreshTokenGrant(onB, tokens.refresh_token as string);
      expect(refreshed.access_token).to.be.a('string');
      expect((await client.tokenIntrospection(onB, refreshed.access_token)).active).to.equal(true);
    });

    it('accepts one code sent to both nodes at once exactly once', async () => {
      const user = await addUser(nodeA.idp, { username: 'frida', password: PASSWORD });
      const viewer = makeCodeViewer();
      await nodeA.idp.storage.db.transaction((trx) => nodeA.idp.storage.totpTokens.addToStock([viewer], trx));
      const step = () => Math.floor(Date.now() / 30_000);
      const bound = await factorsOn(nodeA.idp.storage, Date.now).bindCodeViewer({ userId: user.id, serial: viewer.serial, name: 'Delt', code: codeAt(viewer, step()), context: { actor: 'test' } });
      expect(bound.ok).to.equal(true);

      const onA = await discover(nodeA.issuer, 'cluster-rp');
      /** A browser at the code page of its own login, on the given node. */
      const atCodePage = async (node: RunningIdp) => {
        const browser = new Browser();
        const request = await authorizationRequest(onA, { acr_values: ACR_VALUES.substantial });
        const { form } = await openLoginPage(browser, request.url);
        const page = await browser.submit(form.action.replace(nodeA.url, node.url), { ...form.fields, username: 'frida', password: PASSWORD });
        const html = await page.response.text();
        return { browser, code: readForm(html, page.url) };
      };
      const [first, second] = await Promise.all([atCodePage(nodeA), atCodePage(nodeB)]);
      const code = codeAt(viewer, step() + 1);
      const results = await Promise.all([first, second].map(async ({ browser, code: form }) => {
        const { response, url } = await browser.submit(form.action, { ...form.fields, code }, { stopAt: REDIRECT_URI });
        return url.startsWith(REDIRECT_URI) ? 'accepted' : (await response.text()).includes('Koden er allerede brugt') ? 'replayed' : 'other';
      }));
      expect(results.sort()).to.deep.equal(['accepted', 'replayed']);
    });

    it('picks up a key rotation on every node, keeping the old key published', async () => {
      const onA = await discover(nodeA.issuer, 'cluster-rp');
      const before = await logIn(onA, new Browser(), { username: 'erik', password: PASSWORD });
      const oldKid = kidOf(before.tokens.id_token as string);

      // No lead time: the new keys sign at once (the lead is tested with the SAML metadata).
      const newKids = await rotateSigningKeys({ keys: nodeA.idp.storage.signingKeys, leadSeconds: 0, subject: { commonName: '127.0.0.1', now: Date.now } });
      const reloaded = new Promise<void>((resolve) => {
        const check = setInterval(async () => {
          const jwks = (await (await fetch(`${nodeB.url}/jwks`)).json()) as { keys: Array<{ kid: string }> };
          if (jwks.keys.some((key) => newKids.includes(key.kid))) {
            clearInterval(check);
            resolve();
          }
        }, 50);
      });
      await nodeA.idp.storage.shortLived.publish(KEYS_CHANGED_CHANNEL, 'rotated');
      await reloaded;

      const jwks = (await (await fetch(`${nodeB.url}/jwks`)).json()) as { keys: Array<{ kid: string }> };
      expect(jwks.keys.map((key) => key.kid)).to.include.members([oldKid, ...newKids]);
      const onB = await discoverOnB('cluster-rp');
      const after = await logIn(onB, new Browser(), { username: 'erik', password: PASSWORD });
      expect(newKids).to.include(kidOf(after.tokens.id_token as string));
    });
  });
});

describe('readiness', () => {
  it('answers 503 on /readyz while Redis is unreachable, 200 on /healthz', async function () {
    const backing = await createBacking();
    const running = await startIdp({ ...backing, redisUrl: 'redis://127.0.0.1:1' });
    try {
      const ready = await fetch(`${running.url}/readyz`);
      expect(ready.status).to.equal(503);
      expect(await ready.json()).to.deep.include({ status: 'unavailable', redis: false });
      expect((await fetch(`${running.url}/healthz`)).status).to.equal(200);
    } finally {
      await running.stop();
      await backing.cleanup();
    }
  });
});
