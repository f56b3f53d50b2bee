import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import { expect } from 'chai';

import type { IdentityUpstream } from '../../src/config/index.ts';
import { deriveKey } from '../../src/crypto/derived-keys.ts';
import { createUserAttributes } from '../../src/identity/attributes.ts';
import { identityRedirectUri } from '../../src/selfservice/identity-verification.ts';
import type { AuditType } from '../../src/store/audit.ts';
import { Browser, readForm } from '../helpers/browser.ts';
import { addUser, createBacking, startIdp, TEST_SECRET_KEY, type Backing, type RunningIdp } from '../helpers/idp.ts';
import { employeeWithViewer, PORTAL_PASSWORD } from '../helpers/portal.ts';
import { codeAt, makeCodeViewer, suiteClock } from '../helpers/totp.ts';
import { startUpstream, type RunningUpstream, type UpstreamPerson } from '../helpers/upstream-provider.ts';

const LOW = 'https://data.gov.dk/concept/core/nsis/loa/Low';
const SUBSTANTIAL = 'https://data.gov.dk/concept/core/nsis/loa/Substantial';
const HIGH = 'https://data.gov.dk/concept/core/nsis/loa/High';
const HOLD_SECONDS = 600;

/** Our IdP's settings for an upstream: the claim `person_uuid` against the attribute `person-uuid`. */
const identityAt = (issuer: string, { clientId, clientSecret }: { clientId: string; clientSecret: string }): IdentityUpstream => ({
  issuer,
  clientId,
  clientSecret,
  scope: 'openid person',
  claim: 'person_uuid',
  userAttribute: 'person-uuid',
  acrValues: [SUBSTANTIAL, HIGH],
  holdSeconds: HOLD_SECONDS,
});

describe('self-service: identity verification at an upstream provider', function () {
  let backing: Backing;
  let running: RunningIdp;
  let upstream: RunningUpstream;
  const clock = suiteClock();

  before(async () => {
    backing = await createBacking();
    upstream = await startUpstream();
    running = await startIdp(backing, { now: clock.now, config: { firstFactorEnrolment: 'identity', identity: identityAt(upstream.issuer, upstream) } });
    upstream.register(identityRedirectUri(running.issuer));
  });
  after(async () => {
    await running?.stop();
    await upstream?.stop();
    await backing?.cleanup();
  });

  const portalUrl = () => `${running.url}/selfservice`;
  const verifyUrl = () => `${running.url}/selfservice/verify`;

  /** A person at MitID, as the upstream vouches for them. */
  const person = (personUuid: string, acr = SUBSTANTIAL): UpstreamPerson => ({ sub: `mitid-${personUuid}`, acr, claims: { person_uuid: personUuid } });

  /** A new employee without a device, whose person UUID is on file as `stepup user set-attribute` stores it. */
  async function employee(username: string) {
    const personUuid = randomUUID();
    const user = await addUser(running.idp, { username, password: PORTAL_PASSWORD });
    await attributes().set({ userId: user.id, name: 'person-uuid', value: personUuid });
    return { user, personUuid };
  }
  const attributes = () => createUserAttributes({ users: running.idp.storage.users, key: deriveKey(TEST_SECRET_KEY, 'user-attribute') });

  /** Logs in to the portal with the password alone; the page it lands on. */
  async function logIn(browser: Browser, username: string) {
    const start = await browser.follow(portalUrl());
    const form = readForm(await start.response.text(), start.url);
    const page = await browser.submit(form.action, { ...form.fields, username, password: PORTAL_PASSWORD });
    return { html: await page.response.text(), url: page.url };
  }

  /** Presses "Verificer identitet" and logs in at the upstream as `who`; the callback URL it sends back to, not yet visited. */
  async function throughUpstream(browser: Browser, who: UpstreamPerson): Promise<string> {
    upstream.person = who;
    const page = await browser.follow(verifyUrl());
    // The form's post is redirected to the upstream: the page's CSP must allow that, and no more.
    expect(page.response.headers.get('content-security-policy')).to.include(`form-action 'self' ${new URL(upstream.issuer).origin}`);
    const form = readForm(await page.response.text(), page.url);
    const { url } = await browser.submit(form.action, form.fields, { stopAt: identityRedirectUri(running.issuer) });
    expect(url.startsWith(identityRedirectUri(running.issuer)), url).to.equal(true);
    return url;
  }

  /** Visits a callback URL; the page shown after. */
  async function callBack(browser: Browser, callback: string) {
    const { response, url } = await browser.follow(callback);
    return { html: await response.text(), url };
  }

  /** Binds a code viewer from stock in the portal; the page after. */
  async function addCodeViewer(browser: Browser, name: string) {
    const viewer = makeCodeViewer();
    await running.idp.storage.db.transaction((trx) => running.idp.storage.totpTokens.addToStock([viewer], trx));
    const { response, url } = await browser.follow(`${portalUrl()}/code-viewer`);
    const html = await response.text();
    if (url !== `${portalUrl()}/code-viewer`) return { html, url };
    const form = readForm(html, url);
    const done = await browser.submit(form.action, { ...form.fields, name, serial: viewer.serial, code: codeAt(viewer, clock.step()) });
    return { html: await done.response.text(), url: done.url };
  }

  const events = (userId: string, type: AuditType) => running.idp.storage.audit.list({ userId, type });
  const failures = async (userId: string) => (await events(userId, 'identity.verification_failed')).map((event) => event.details?.reason).reverse();

  it('lets an employee without a device add their first after verifying, and audits it without the person\'s number', async () => {
    const { user, personUuid } = await employee('ida');
    const browser = new Browser();
    const portal = await logIn(browser, 'ida');
    expect(portal.url).to.equal(portalUrl());
    expect(portal.html).to.include('For at tilknytte den første skal du først verificere din identitet med MitID.');
    expect(portal.html).to.include(`href="/selfservice/verify"`);
    // Before verifying, adding a device leads to verification.
    expect((await addCodeViewer(browser, 'For tidligt')).url).to.equal(verifyUrl());

    const callback = await throughUpstream(browser, person(personUuid));
    const code = new URL(callback).searchParams.get('code') as string;
    expect(code).to.be.a('string');
    const verified = await callBack(browser, callback);
    expect(verified.url).to.equal(verifyUrl());
    expect(verified.html).to.match(/Din identitet er bekræftet\. Du kan tilføje og ændre dine enheder indtil kl\. \d\d\.\d\d\./);

    const added = await addCodeViewer(browser, 'Kodeviser fra MitID');
    expect(added.url).to.equal(`${portalUrl()}?added=1`);
    expect(added.html).to.include('Kodeviser fra MitID');
    expect((await events(user.id, 'identity.verified')).map((event) => event.details)).to.deep.equal([{ acr: SUBSTANTIAL, holdSeconds: HOLD_SECONDS }]);
    expect((await events(user.id, 'factor.first_enrolled'))[0]?.details).to.deep.include({ allowedBy: 'identity' });
    const everything = JSON.stringify(await running.idp.storage.audit.list({ userId: user.id, limit: 1000 })) + running.logs.join('\n');
    expect(everything).not.to.include(personUuid);
    expect(everything).not.to.include(code);
  });

  it('lets an employee who lost their device in with the password, to verify instead, and then replace it', async () => {
    const { user } = await employeeWithViewer(running, clock, 'jonas', 'Den tabte kodeviser');
    const personUuid = randomUUID();
    await attributes().set({ userId: user.id, name: 'person-uuid', value: personUuid });
    const browser = new Browser();
    const landed = await logIn(browser, 'jonas');
    // Not the list yet: verify, or prove the device after all.
    expect(landed.url).to.equal(verifyUrl());
    expect(landed.html).to.include('Verificer identitet');
    expect(landed.html).to.include('href="/selfservice/step-up"');
    const stepUp = await browser.fetch(`${portalUrl()}/step-up`);
    expect(new URL(stepUp.headers.get('location') as string).searchParams.get('acr_values')).to.equal(SUBSTANTIAL);
    expect(landed.html).not.to.include('Den tabte kodeviser');
    expect((await addCodeViewer(browser, 'For tidligt')).url).to.equal(verifyUrl());

    await callBack(browser, await throughUpstream(browser, person(personUuid)));
    const portal = await browser.follow(portalUrl());
    expect(await portal.response.text()).to.include('Den tabte kodeviser');
    const added = await addCodeViewer(browser, 'Den nye kodeviser');
    expect(added.url).to.equal(`${portalUrl()}?added=1`);
    expect(added.html).to.include('Den nye kodeviser');
    // Not a first device: the verification stood in for the one they have.
    expect(await events(user.id, 'factor.first_enrolled')).to.have.length(0);
    expect(await events(user.id, 'identity.verified')).to.have.length(1);
  });

  it('refuses another person\'s identity, in English too, and adds nothing', async () => {
    const { user, personUuid } = await employee('karen');
    const browser = new Browser({ 'accept-language': 'en' });
    await logIn(browser, 'karen');
    const stranger = randomUUID();
    const refused = await callBack(browser, await throughUpstream(browser, person(stranger)));
    expect(refused.url).to.equal(`${verifyUrl()}?result=mismatch`);
    expect(refused.html).to.include('The identity you confirmed with MitID does not match your user account. Nothing was changed.');
    expect((await addCodeViewer(browser, 'Fremmed')).url).to.equal(verifyUrl());
    expect(await running.idp.storage.totpTokens.listForUser(user.id)).to.have.length(0);
    expect(await failures(user.id)).to.deep.equal(['mismatch']);
    const everything = JSON.stringify(await running.idp.storage.audit.list({ userId: user.id, limit: 1000 })) + running.logs.join('\n');
    expect(everything).not.to.include(stranger);
    expect(everything).not.to.include(personUuid);
  });

  it('refuses an upstream login below the accepted levels, and an employee with nothing on file to compare', async () => {
    const { user, personUuid } = await employee('lars');
    const browser = new Browser();
    await logIn(browser, 'lars');
    const low = await callBack(browser, await throughUpstream(browser, person(personUuid, LOW)));
    expect(low.html).to.include('MitID bekræftede dig ikke på et højt nok sikringsniveau.');
    expect((await events(user.id, 'identity.verification_failed'))[0]?.details).to.deep.equal({ reason: 'acr', acr: LOW });

    const bare = await addUser(running.idp, { username: 'maja', password: PORTAL_PASSWORD });
    const other = new Browser();
    await logIn(other, 'maja');
    const page = await other.follow(verifyUrl());
    const form = readForm(await page.response.text(), page.url);
    const refused = await other.submit(form.action, form.fields);
    expect(refused.url).to.equal(`${verifyUrl()}?result=no_attribute`);
    expect(await refused.response.text()).to.include('Din brugerkonto har ingen oplysninger at sammenligne din identitet med. Kontakt IT-support.');
    expect(await failures(bare.id)).to.deep.equal(['no_attribute']);
  });

  it('takes a callback once, in the session that began it, with its own state, and says so when it is not', async () => {
    const { user, personUuid } = await employee('niels');
    const browser = new Browser();
    await logIn(browser, 'niels');
    const callback = await throughUpstream(browser, person(personUuid));

    // A state that is not the one sent: refused, and the real one still works after.
    const forged = new URL(callback);
    forged.searchParams.set('state', 'A'.repeat(43));
    const wrong = await callBack(browser, forged.href);
    expect(wrong.url).to.equal(`${verifyUrl()}?result=unknown_state`);
    expect(wrong.html).to.include('Verificeringen er udløbet, allerede brugt eller startet i et andet vindue.');

    // Another portal session (another employee's browser) cannot use it, and leaves it be.
    await employee('olga');
    const intruder = new Browser();
    await logIn(intruder, 'olga');
    const stolen = await callBack(intruder, callback);
    expect(stolen.url).to.equal(`${verifyUrl()}?result=other_session`);
    expect((await addCodeViewer(intruder, 'Stjålet')).url).to.equal(verifyUrl());

    const verified = await callBack(browser, callback);
    expect(verified.html).to.include('Din identitet er bekræftet.');
    const replayed = await callBack(browser, callback);
    expect(replayed.url).to.equal(`${verifyUrl()}?result=replayed`);
    expect(await failures(user.id)).to.deep.equal(['unknown_state', 'replayed']);
    expect(await events(user.id, 'identity.verified')).to.have.length(1);
  });

  it('refuses a callback that comes back later than the verification\'s lifetime, and one the person cancelled', async () => {
    const { user, personUuid } = await employee('peter');
    const browser = new Browser();
    await logIn(browser, 'peter');
    const late = await throughUpstream(browser, person(personUuid));
    clock.advance(601);
    const expired = await callBack(browser, late);
    expect(expired.url).to.equal(`${verifyUrl()}?result=expired`);

    // The upstream's answer when the person presses cancel (RFC 6749 §4.1.2.1), on a live state.
    const cancelled = new URL(await throughUpstream(browser, person(personUuid)));
    cancelled.searchParams.delete('code');
    cancelled.searchParams.set('error', 'access_denied');
    const page = await callBack(browser, cancelled.href);
    expect(page.html).to.include('Verificeringen blev afbrudt. Der er ikke ændret noget.');
    expect(await failures(user.id)).to.deep.equal(['expired', 'cancelled']);
    expect((await events(user.id, 'identity.verification_failed'))[0]?.details).to.deep.equal({ reason: 'cancelled', upstreamError: 'access_denied' });
  });

  it('holds a verification for IDENTITY_VERIFICATION_SECONDS, then asks again and says it expired', async () => {
    const { user, personUuid } = await employee('rasmus');
    const browser = new Browser();
    await logIn(browser, 'rasmus');
    await callBack(browser, await throughUpstream(browser, person(personUuid)));
    clock.advance(HOLD_SECONDS - 5);
    const form = await browser.follow(`${portalUrl()}/code-viewer`);
    expect(form.url).to.equal(`${portalUrl()}/code-viewer`);

    clock.advance(10);
    const again = await addCodeViewer(browser, 'For sent');
    expect(again.url).to.equal(verifyUrl());
    expect(again.html).to.include('Din verificering af identitet er udløbet. Verificer din identitet igen for at ændre dine enheder.');
    expect(await running.idp.storage.totpTokens.listForUser(user.id)).to.have.length(0);
  });

  it('refuses a start without the form\'s CSRF token', async () => {
    await employee('sofie');
    const browser = new Browser();
    await logIn(browser, 'sofie');
    const refused = await browser.fetch(verifyUrl(), { method: 'POST', body: new URLSearchParams({}), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(refused.status).to.equal(403);
  });

  it('says MitID cannot be reached when the upstream does not answer, and audits it', async () => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const unreachable = await startIdp(backing, { now: clock.now, config: { firstFactorEnrolment: 'identity', identity: identityAt(`http://127.0.0.1:${port}`, upstream) } });
    try {
      const user = await addUser(unreachable.idp, { username: 'tove', password: PORTAL_PASSWORD, email: 'tove@viborg.dk' });
      await attributes().set({ userId: user.id, name: 'person-uuid', value: randomUUID() });
      const browser = new Browser();
      const start = await browser.follow(`${unreachable.url}/selfservice`);
      const login = readForm(await start.response.text(), start.url);
      await browser.submit(login.action, { ...login.fields, username: 'tove', password: PORTAL_PASSWORD });
      const page = await browser.follow(`${unreachable.url}/selfservice/verify`);
      const form = readForm(await page.response.text(), page.url);
      const refused = await browser.submit(form.action, form.fields);
      expect(refused.url).to.equal(`${unreachable.url}/selfservice/verify?result=upstream_unavailable`);
      expect(await refused.response.text()).to.include('MitID kan ikke nås lige nu. Prøv igen om lidt.');
      expect(await failures(user.id)).to.deep.equal(['upstream_unavailable']);
      expect(unreachable.logs.some((line) => line.includes('identity verification: the upstream failed'))).to.equal(true);
    } finally {
      await unreachable.stop();
    }
  });
});
