import { createECDH, randomBytes } from 'node:crypto';

import { expect } from 'chai';
import * as client from 'openid-client';

import { ACR_VALUES } from '../../src/auth/levels.ts';
import type { PushGateway, PushMessage } from '../../src/devices/push-gateway.ts';
import { Browser, readForm } from '../helpers/browser.ts';
import { addUser, createBacking, startIdp, type Backing, type RunningIdp } from '../helpers/idp.ts';
import { authorizationRequest, discover, openLoginPage, REDIRECT_URI, registerClient } from '../oidc/login-flow.ts';
import { registerApp, registerDesktop } from './reference-client.ts';
import { PASSWORD, pressContinue } from './waiting-page.ts';

/** A push gateway that keeps what it was asked to send, and says it was delivered. */
function capturingGateway() {
  const sent: Array<{ endpoint: string; message: PushMessage }> = [];
  const gateway: PushGateway = {
    name: 'capture',
    async send(subscription, message) {
      sent.push({ endpoint: subscription.endpoint, message });
      return { delivered: true, gone: false };
    },
  };
  return { sent, gateway };
}

/** The warning `createIdp` logs at start when apps will not be pushed to. */
const NOT_PUSHED = /PUSH_GATEWAY is log: apps will not be pushed to/;

describe('push to the app', function () {
  this.timeout(60_000);
  let backing: Backing;

  before(async () => {
    backing = await createBacking();
  });
  after(async () => {
    await backing?.cleanup();
  });

  describe('end to end: a login pushes to the chosen app, and the reference client approves it', () => {
    let running: RunningIdp;
    let config: client.Configuration;
    const capture = capturingGateway();

    before(async () => {
      running = await startIdp(backing, { pushGateway: capture.gateway });
      await registerClient(running.idp, 'push-rp');
      config = await discover(running.issuer, 'push-rp');
    });
    after(async () => {
      await running?.stop();
    });

    it('pushes exactly {type, challengeId} to the app\'s subscription, nothing to the desktop, and the approval gives Substantial', async () => {
      const user = await addUser(running.idp, { username: 'mette', password: PASSWORD });
      const desktop = await registerDesktop(running.idp, running.url, user);
      const app = await registerApp(running.idp, running.url, user, 'Mettes telefon');
      // The app hands over its subscription as a browser's PushSubscription.toJSON() gives it.
      const ecdh = createECDH('prime256v1');
      ecdh.generateKeys();
      const endpoint = `https://fcm.googleapis.com/fcm/send/${randomBytes(24).toString('base64url')}`;
      const signer = await app.signer(running.url);
      const subscribed = await signer.signed('push-subscription', {
        method: 'PUT',
        body: JSON.stringify({ endpoint, expirationTime: null, keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: randomBytes(16).toString('base64url') } }),
      });
      expect(subscribed.status).to.equal(200);

      // Password, then the chooser (two devices): the app.
      const browser = new Browser();
      const request = await authorizationRequest(config, { acr_values: ACR_VALUES.substantial });
      const { form } = await openLoginPage(browser, request.url);
      const chooser = await browser.submit(form.action, { ...form.fields, username: 'mette', password: PASSWORD }, { stopAt: REDIRECT_URI });
      const chooserHtml = await chooser.response.text();
      expect(chooserHtml).to.include('Mettes telefon').and.include('Kontor-pc');
      const href = new RegExp(`href="([^"]*/choose/${app.deviceId})"`).exec(chooserHtml)?.[1] as string;
      const waiting = await browser.follow(new URL(href, chooser.url));
      const page = { url: waiting.url, html: await waiting.response.text() };
      const challengeId = readForm(page.html, page.url).fields.challenge as string;
      expect(challengeId).to.match(/^[A-Za-z0-9_-]{22}$/);
      const code = /id="challenge-code">([^<]+)</.exec(page.html)?.[1] as string;

      expect(capture.sent).to.deep.equal([{ endpoint, message: { type: 'challenge', challengeId } }]);
      expect(JSON.stringify(capture.sent)).to.not.include(code).and.not.include(desktop.deviceId);

      // The app, woken by the push, fetches and approves it over the signed API with its PIN.
      const approved = await app.approveNext();
      expect(approved.code, approved.stderr).to.equal(0);
      expect(approved.stdout).to.include(code);
      const done = await pressContinue(browser, page);
      expect(done.url.startsWith(`${REDIRECT_URI}?code=`), done.html).to.equal(true);
      const tokens = await client.authorizationCodeGrant(config, new URL(done.url), { pkceCodeVerifier: request.codeVerifier, expectedState: request.state });
      expect(tokens.claims()).to.deep.include({ acr: ACR_VALUES.substantial, amr: ['pwd', 'pin', 'swk', 'mfa'] });
      expect(capture.sent).to.have.length(1);
    });
  });

  describe('the warning at start when apps will not be pushed to', () => {
    const started = async (options: Parameters<typeof startIdp>[1]) => {
      const running = await startIdp(backing, options);
      await running.stop();
      return running.logs.filter((line) => NOT_PUSHED.test(line));
    };

    it('is logged once in production with the logging gateway (PUSH_GATEWAY=log, or unset without VAPID_SUBJECT)', async () => {
      const warnings = await started({ config: { production: true, push: { gateway: 'log' } } });
      expect(warnings).to.have.length(1);
      expect(JSON.parse(warnings[0] as string)).to.include({ level: 40 });
    });

    it('is not logged outside production, with Web Push, or with a gateway the host supplies', async () => {
      expect(await started({ config: { push: { gateway: 'log' } } })).to.deep.equal([]);
      expect(await started({ config: { production: true, push: { gateway: 'webpush', vapidSubject: 'mailto:it-drift@kommune.example' } } })).to.deep.equal([]);
      expect(await started({ config: { production: true, push: { gateway: 'log' } }, pushGateway: capturingGateway().gateway })).to.deep.equal([]);
    });
  });
});
