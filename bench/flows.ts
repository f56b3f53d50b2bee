import * as client from 'openid-client';

import { ACR_VALUES } from '../src/auth/levels.ts';
import type { TotpToken } from '../src/factors/totp/index.ts';
import { Browser, readForm } from '../test/helpers/browser.ts';
import { codeAt } from '../test/helpers/totp.ts';
import { authorizationRequest, logIn, openLoginPage, REDIRECT_URI } from '../test/oidc/login-flow.ts';

/** An employee of the bench: username and password. */
export interface Credentials {
  username: string;
  password: string;
}

/** A code viewer bound to an employee, and the last time step a code of it was accepted. */
export interface BoundViewer {
  token: TotpToken;
  lastStep: number;
}

/** A whole password login at ours in a new browser: authorization code + PKCE, the form, the token exchange. */
export async function passwordLogin(config: client.Configuration, credentials: Credentials): Promise<client.TokenEndpointResponse> {
  return (await logIn(config, new Browser(), credentials)).tokens;
}

/** The browser part of a password login only (the SSO session is made there), without the token exchange. */
export async function passwordLoginToCallback(config: client.Configuration, credentials: Credentials): Promise<void> {
  const browser = new Browser();
  const request = await authorizationRequest(config);
  const { form } = await openLoginPage(browser, request.url);
  const { url } = await browser.submit(form.action, { ...form.fields, ...credentials }, { stopAt: REDIRECT_URI });
  if (!url.startsWith(REDIRECT_URI)) throw new Error(`the login did not return to the relying party: ${url}`);
}

/**
 * A login at Substantial with a code viewer: password, then the code page, then the token
 * exchange. TOTP codes are used once (RFC 6238 §5.2), so each login takes a step later than the
 * viewer's last; the server accepts up to two steps ahead.
 */
export async function codeLogin(config: client.Configuration, credentials: Credentials, viewer: BoundViewer): Promise<client.TokenEndpointResponse> {
  const browser = new Browser();
  const request = await authorizationRequest(config, { acr_values: ACR_VALUES.substantial });
  const login = await openLoginPage(browser, request.url);
  const codePage = await browser.submit(login.form.action, { ...login.form.fields, ...credentials }, { stopAt: REDIRECT_URI });
  const html = await codePage.response.text();
  const form = readForm(html, codePage.url);
  viewer.lastStep = Math.max(viewer.lastStep + 1, Math.floor(Date.now() / 30_000));
  const done = await browser.submit(form.action, { ...form.fields, code: codeAt(viewer.token, viewer.lastStep) }, { stopAt: REDIRECT_URI });
  return client.authorizationCodeGrant(config, new URL(done.url), { pkceCodeVerifier: request.codeVerifier, expectedState: request.state });
}

/**
 * A login at bare oidc-provider through its development interactions: every form it shows is
 * submitted (the login with any name and password, then the consent) until it returns with a code.
 */
export async function bareLogin(config: client.Configuration): Promise<client.TokenEndpointResponse> {
  const browser = new Browser();
  const request = await authorizationRequest(config);
  let page = await browser.follow(request.url, { stopAt: REDIRECT_URI });
  for (let forms = 0; !page.url.startsWith(REDIRECT_URI); forms += 1) {
    if (forms > 3) throw new Error(`bare oidc-provider did not return to the relying party: ${page.url}`);
    const form = readForm(await page.response.text(), page.url);
    page = await browser.submit(form.action, { ...form.fields, login: 'bench', password: 'bench' }, { stopAt: REDIRECT_URI });
  }
  return client.authorizationCodeGrant(config, new URL(page.url), { pkceCodeVerifier: request.codeVerifier, expectedState: request.state });
}

/** Runs `task` `total` times, `concurrency` at a time. */
export async function runConcurrently(total: number, concurrency: number, task: (index: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, async () => {
    while (next < total) await task(next++);
  }));
}
