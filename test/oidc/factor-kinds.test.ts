import { expect } from 'chai';
import * as client from 'openid-client';

import { ACR_VALUES } from '../../src/auth/levels.ts';
import type { Challenge, FactorKind, SecondFactor } from '../../src/factors/factor.ts';
import type { AuditLog } from '../../src/store/audit.ts';
import { Browser, readForm } from '../helpers/browser.ts';
import { addUser, createBacking, startIdp, type Backing, type RunningIdp } from '../helpers/idp.ts';
import { type TestClock, suiteClock } from '../helpers/totp.ts';
import { authorizationRequest, discover, REDIRECT_URI, registerClient } from './login-flow.ts';

const PASSWORD = 'Sommer-i-Skagen-2026';

/**
 * A challenge kind that exists only here, as a phone app would be: the test gives users their
 * factors and approves or rejects on the "device". The IdP knows it only through the registry.
 */
class FakePushKind {
  readonly factors = new Map<string, SecondFactor[]>();
  readonly challenges = new Map<string, { userId: string; factorId: string; challenge: Challenge; answer?: 'approved' | 'rejected' }>();
  private made = 0;
  private readonly clock: TestClock;

  constructor(clock: TestClock) {
    this.clock = clock;
  }

  /** The kind as `app.ts` registers it, recording its audit events in the instance's log. */
  kind(audit: AuditLog): FactorKind {
    const record = (type: FactorKind['events']['succeeded'], userId: string, details: Record<string, unknown>) =>
      audit.record({ type, actor: `user:${userId}`, userId, details: { kind: 'test_push', ...details } });
    const kind: FactorKind = {
      name: 'test_push',
      amr: ['swk', 'pin'],
      events: { succeeded: 'login.second_factor.succeeded', failed: 'login.second_factor.failed', locked: 'factor.locked' },
      listForUser: async (userId) => this.factors.get(userId) ?? [],
      start: async ({ userId, factor }) => {
        this.made += 1;
        const challenge = { id: `challenge-${this.made}`, code: `K7Q${this.made}`, number: '42', expiresAt: new Date(this.clock.now() + 120_000) };
        this.challenges.set(challenge.id, { userId, factorId: factor.id, challenge });
        return { type: 'challenge', challenge };
      },
      verify: async ({ userId, factorId, answer }) => {
        const pending = this.challenges.get(answer.challengeId ?? '');
        if (!pending || pending.userId !== userId || pending.factorId !== factorId) return { ok: false, reason: 'not_found' };
        if (!pending.answer) return { ok: false, reason: 'pending', challenge: pending.challenge };
        this.challenges.delete(pending.challenge.id);
        if (pending.answer === 'rejected') {
          await record(kind.events.failed, userId, { reason: 'rejected' });
          return { ok: false, reason: 'rejected' };
        }
        await record(kind.events.succeeded, userId, { factorId });
        return { ok: true };
      },
    };
    return kind;
  }

  answer(challengeId: string, answer: 'approved' | 'rejected') {
    const pending = this.challenges.get(challengeId);
    if (!pending) throw new Error(`no challenge ${challengeId}`);
    pending.answer = answer;
  }
}

describe('a second-factor kind as a plug-in: a fake challenge kind, end to end', function () {
  let backing: Backing;
  let running: RunningIdp;
  let config: client.Configuration;
  const clock = suiteClock();
  const push = new FakePushKind(clock);

  before(async () => {
    backing = await createBacking();
    running = await startIdp(backing, { now: clock.now, extraFactorKinds: (storage) => [push.kind(storage.audit)] });
    await registerClient(running.idp, 'plugin-rp');
    config = await discover(running.issuer, 'plugin-rp');
  });
  after(async () => {
    await running?.stop();
    await backing?.cleanup();
  });

  /** A user whose only second factors are two phones of the fake kind. */
  async function userWithPhones(username: string) {
    const user = await addUser(running.idp, { username, password: PASSWORD });
    push.factors.set(user.id, [
      { id: `${username}-work`, kind: 'test_push', name: 'Arbejdstelefon', detail: null, addedAt: new Date(clock.now() - 86400_000), lastUsedAt: new Date(clock.now() - 3600_000), status: 'active', lockedUntil: null },
      { id: `${username}-own`, kind: 'test_push', name: 'Egen telefon', detail: null, addedAt: new Date(clock.now() - 86400_000), lastUsedAt: null, status: 'active', lockedUntil: null },
    ]);
    return user;
  }

  /** Password at Substantial, and the chooser that follows. */
  async function toChooser(browser: Browser, username: string) {
    const request = await authorizationRequest(config, { acr_values: ACR_VALUES.substantial });
    const { response, url } = await browser.follow(request.url, { stopAt: REDIRECT_URI });
    const form = readForm(await response.text(), url);
    const chooser = await browser.submit(form.action, { ...form.fields, username, password: PASSWORD }, { stopAt: REDIRECT_URI });
    return { request, url: chooser.url, html: await chooser.response.text() };
  }

  /** Follows the chooser's link to the named factor: the waiting page. */
  async function choose(browser: Browser, chooser: { url: string; html: string }, name: string) {
    const link = new RegExp(`href="([^"]*/choose/[^"]*)"[^>]*>\\s*<span class="factor-name">${name}`).exec(chooser.html)?.[1] as string;
    const { response, url } = await browser.follow(new URL(link.replace(/&amp;/g, '&'), chooser.url));
    return { url, html: await response.text() };
  }

  async function pressContinue(browser: Browser, page: { url: string; html: string }) {
    const form = readForm(page.html, page.url);
    const { response, url } = await browser.submit(form.action, form.fields, { stopAt: REDIRECT_URI });
    return { url, html: url.startsWith(REDIRECT_URI) ? '' : await response.text(), challenge: form.fields.challenge };
  }

  it('chooses, waits, continues once the device approved, and reports the kind\'s amr, through no code route', async () => {
    await userWithPhones('birte');
    const browser = new Browser();
    const chooser = await toChooser(browser, 'birte');
    expect(chooser.html.indexOf('Arbejdstelefon')).to.be.greaterThan(0);
    expect(chooser.html.indexOf('Arbejdstelefon')).to.be.lessThan(chooser.html.indexOf('Egen telefon'));

    const waiting = await choose(browser, chooser, 'Arbejdstelefon');
    expect(waiting.html).to.include('K7Q1');
    expect(waiting.html).to.include('42');
    expect(waiting.html).to.not.match(/autocomplete="one-time-code"/);
    expect(waiting.html).to.match(/\/interaction\/[^/"]+\/choose\/birte-work"/);

    const early = await pressContinue(browser, waiting);
    expect(early.html).to.include('Anmodningen er ikke godkendt endnu');
    expect(early.html).to.include('K7Q1');

    push.answer(early.challenge as string, 'approved');
    const done = await pressContinue(browser, early);
    expect(done.url).to.match(/^http:\/\/127\.0\.0\.1:9\/cb\?code=/);
    const tokens = await client.authorizationCodeGrant(config, new URL(done.url), { pkceCodeVerifier: chooser.request.codeVerifier, expectedState: chooser.request.state });
    expect(tokens.claims()).to.deep.include({ acr: ACR_VALUES.substantial, amr: ['pwd', 'swk', 'pin', 'mfa'] });

    const paths = running.logs.map((line) => (JSON.parse(line) as { path?: string }).path ?? '');
    expect(paths.filter((path) => path.endsWith('/challenge'))).to.have.length(2);
    expect(paths.filter((path) => /\/(code|resync)$/.test(path))).to.deep.equal([]);
    const succeeded = await running.idp.storage.audit.list({ type: 'login.second_factor.succeeded' });
    expect(succeeded.map((event) => event.details)).to.deep.include({ kind: 'test_push', factorId: 'birte-work' });
  });

  it('says when the device rejected, and sends a new challenge on request', async () => {
    await userWithPhones('carl');
    const browser = new Browser();
    const waiting = await choose(browser, await toChooser(browser, 'carl'), 'Egen telefon');
    const { challenge } = readForm(waiting.html, waiting.url).fields;
    push.answer(challenge as string, 'rejected');
    const rejected = await pressContinue(browser, waiting);
    expect(rejected.html).to.include('Anmodningen blev afvist på enheden');
    expect(rejected.html).to.not.include('name="challenge"');

    // "Send again" is a form post with the flow's CSRF token, never a link that sends a request.
    expect(rejected.html).to.not.match(/href="[^"]*\/choose\/carl-own"/);
    const again = readForm(rejected.html, rejected.url);
    expect(again.action).to.match(/\/choose\/carl-own$/);
    const { response, url } = await browser.submit(again.action, again.fields);
    const fresh = readForm(await response.text(), url).fields.challenge;
    expect(fresh).to.be.a('string').and.not.equal(challenge);
  });
});
