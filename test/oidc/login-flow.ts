import { expect } from 'chai';
import * as client from 'openid-client';

import type { Idp } from '../../src/app.ts';
import type { Browser} from '../helpers/browser.ts';
import { readForm } from '../helpers/browser.ts';

export const REDIRECT_URI = 'http://127.0.0.1:9/cb';
export const POST_LOGOUT_URI = 'http://127.0.0.1:9/logged-out';

/** Registers a confidential relying party the way `stepup client add` does. */
export async function registerClient(idp: Pick<Idp, 'storage'>, clientId: string, extra: Record<string, unknown> = {}) {
  await idp.storage.clients.add({
    metadata: {
      client_id: clientId,
      client_name: 'Sagssystem',
      redirect_uris: [REDIRECT_URI],
      post_logout_redirect_uris: [POST_LOGOUT_URI],
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
      ...extra,
    },
    clientSecret: `${clientId}-secret-that-is-long-enough-to-be-strong`,
    level: 'low',
  });
}

/** openid-client configured for a registered client, by discovery over HTTP. */
export async function discover(issuer: string, clientId: string): Promise<client.Configuration> {
  const config = await client.discovery(new URL(issuer), clientId, `${clientId}-secret-that-is-long-enough-to-be-strong`, undefined, {
    execute: [client.allowInsecureRequests],
  });
  client.enableNonRepudiationChecks(config);
  return config;
}

/** An authorization request with PKCE, as a relying party starts it. */
export async function authorizationRequest(config: client.Configuration, params: Record<string, string> = {}) {
  const codeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: 'openid profile email',
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    ...params,
  });
  return { url, codeVerifier, state };
}

/** Follows an authorization request to the login page and returns its form. */
export async function openLoginPage(browser: Browser, url: URL) {
  const { response, url: pageUrl } = await browser.follow(url, { stopAt: REDIRECT_URI });
  const html = await response.text();
  expect(response.status, html).to.equal(200);
  return { html, pageUrl, form: readForm(html, pageUrl) };
}

/**
 * The whole browser part of a login: authorization request, login form, back to the relying
 * party. Returns the callback URL with the code, and the tokens openid-client got for it.
 */
export async function logIn(config: client.Configuration, browser: Browser, credentials: { username: string; password: string }, params: Record<string, string> = {}) {
  const request = await authorizationRequest(config, params);
  const { form } = await openLoginPage(browser, request.url);
  const { url: callback } = await browser.submit(form.action, { ...form.fields, ...credentials }, { stopAt: REDIRECT_URI });
  expect(callback).to.match(/^http:\/\/127\.0\.0\.1:9\/cb\?/);
  const tokens = await client.authorizationCodeGrant(config, new URL(callback), {
    pkceCodeVerifier: request.codeVerifier,
    expectedState: request.state,
  });
  return { callback, tokens };
}
