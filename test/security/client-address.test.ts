/**
 * The client address (issue "Step 3 · Hardening", 1). Reproduced before the fix: with
 * `TRUST_PROXY=true` the IdP took the leftmost `X-Forwarded-For` entry, which the client writes,
 * so a new made-up entry per request reset the per-IP limit; and the per-IP count was read before
 * the password was checked and written after, so parallel attempts all passed it together.
 */
import { randomBytes } from 'node:crypto';

import { expect } from 'chai';
import type * as client from 'openid-client';

import type { IdpConfig } from '../../src/config/index.ts';
import { configWith } from '../../src/config/index.ts';
import { Browser } from '../helpers/browser.ts';
import { addUser, createBacking, startIdp, TEST_SECRET_KEY, type Backing, type RunningIdp } from '../helpers/idp.ts';
import { authorizationRequest, discover, openLoginPage, REDIRECT_URI, registerClient } from '../oidc/login-flow.ts';

const PASSWORD = 'Vinter-i-Esbjerg-2026';
const IP_MAX_FAILURES = 3;

/** A made-up address, as a client would put in front of X-Forwarded-For. */
const madeUp = () => `198.18.${randomBytes(1)[0]}.${randomBytes(1)[0]}`;

describe('security: the client address cannot be chosen by the client', function () {
  let backing: Backing;
  const nodes: RunningIdp[] = [];

  before(async () => {
    backing = await createBacking();
  });
  after(async () => {
    for (const node of nodes) await node.stop();
    await backing?.cleanup();
  });

  /** An IdP behind the given proxies, with a small per-IP limit, and a relying party. */
  async function idpBehind(trustProxy: IdpConfig['trustProxy']) {
    const lockout = { ...configWith({ secretKey: TEST_SECRET_KEY }).lockout, ipMaxFailures: IP_MAX_FAILURES };
    const running = await startIdp(backing, { config: { trustProxy, lockout } });
    nodes.push(running);
    const clientId = `proxy-rp-${randomBytes(3).toString('hex')}`;
    await registerClient(running.idp, clientId);
    return { running, rp: await discover(running.issuer, clientId) };
  }

  /** One login attempt with these forwarding headers on every request; true if it got through. */
  async function attempt(rp: client.Configuration, headers: Record<string, string>, username: string, password: string) {
    const browser = new Browser(headers);
    const { url } = await authorizationRequest(rp);
    const { form } = await openLoginPage(browser, url);
    const { url: landed } = await browser.submit(form.action, { ...form.fields, username, password }, { stopAt: REDIRECT_URI });
    return landed.startsWith(REDIRECT_URI);
  }

  const failuresFrom = async (running: RunningIdp, ip: string) =>
    (await running.idp.storage.audit.list({ type: 'login.password.failed', limit: 1000 })).filter((event) => event.ip === ip).map((event) => event.details?.reason);

  it('counts a client behind one load balancer by the entry the balancer appended (TRUST_PROXY=1)', async () => {
    const { running, rp } = await idpBehind({ hops: 1 });
    const user = await addUser(running.idp, { username: `lb-${randomBytes(3).toString('hex')}`, password: PASSWORD });
    const client = '203.0.113.9';
    for (let i = 0; i < IP_MAX_FAILURES; i += 1) {
      expect(await attempt(rp, { 'x-forwarded-for': `${madeUp()}, ${client}` }, `nobody-${i}`, 'wrong')).to.equal(false);
    }
    // A fresh made-up entry in front does not make a fresh client.
    expect(await attempt(rp, { 'x-forwarded-for': `${madeUp()}, ${client}` }, user.username, PASSWORD)).to.equal(false);
    expect(await failuresFrom(running, client)).to.deep.equal(['throttled', 'unknown-user', 'unknown-user', 'unknown-user']);
    const throttled = await running.idp.storage.audit.list({ type: 'ip.throttled' });
    expect(throttled.map((event) => event.ip)).to.deep.equal([client]);
    // Another client behind the same balancer is not held back.
    expect(await attempt(rp, { 'x-forwarded-for': `${client}, 203.0.113.10` }, user.username, PASSWORD)).to.equal(true);
  });

  it('reserves the per-IP count before the password is checked: of 12 parallel attempts, 3 are checked', async () => {
    const { running, rp } = await idpBehind({ hops: 1 });
    const client = '203.0.113.20';
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => attempt(rp, { 'x-forwarded-for': client }, `spray-${i}`, 'wrong')));
    expect(results.every((ok) => !ok)).to.equal(true);
    const reasons = await failuresFrom(running, client);
    expect(reasons).to.have.length(12);
    expect(reasons.filter((reason) => reason === 'unknown-user')).to.have.length(IP_MAX_FAILURES);
    expect(reasons.filter((reason) => reason === 'throttled')).to.have.length(12 - IP_MAX_FAILURES);
  });

  it('ignores forwarding headers from a peer that is not a listed proxy, and follows listed ones', async () => {
    const stranger = await idpBehind({ addresses: ['10.0.0.5', '10.0.0.0/24'] });
    await attempt(stranger.rp, { 'x-forwarded-for': '203.0.113.30' }, 'nobody-listed', 'wrong');
    expect(await failuresFrom(stranger.running, '203.0.113.30')).to.deep.equal([]);
    expect(await failuresFrom(stranger.running, '127.0.0.1')).to.deep.equal(['unknown-user']);

    const listed = await idpBehind({ addresses: ['127.0.0.1', '10.0.0.0/24'] });
    await attempt(listed.rp, { 'x-forwarded-for': `${madeUp()}, 203.0.113.31, 10.0.0.7` }, 'nobody-listed', 'wrong');
    expect(await failuresFrom(listed.running, '203.0.113.31')).to.deep.equal(['unknown-user']);
  });

  it('believes X-Forwarded-Proto only from the trusted proxies (https detection)', async () => {
    const oneHop = (await idpBehind({ hops: 1 })).running;
    const none = (await idpBehind({ hops: 0 })).running;
    const hsts = async (running: RunningIdp, proto: string) =>
      (await fetch(`${running.url}/healthz`, { headers: { 'x-forwarded-for': '203.0.113.40', 'x-forwarded-proto': proto } })).headers.has('strict-transport-security');
    expect(await hsts(oneHop, 'https')).to.equal(true);
    // The client wrote "https" over plain http; the balancer appended what it saw.
    expect(await hsts(oneHop, 'https, http')).to.equal(false);
    expect(await hsts(none, 'https')).to.equal(false);
  });
});
