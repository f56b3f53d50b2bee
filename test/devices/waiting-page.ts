import { expect } from 'chai';
import type * as client from 'openid-client';

import { ACR_VALUES } from '../../src/auth/levels.ts';
import { readForm, type Browser } from '../helpers/browser.ts';
import { authorizationRequest, openLoginPage, REDIRECT_URI } from '../oidc/login-flow.ts';

/** The password of every employee the device challenge suites add. */
export const PASSWORD = 'Foraar-i-Fredericia-2026';

/** A page the browser is on. */
export interface Page {
  url: string;
  html: string;
}

/** Password at Substantial for a user with one device: the waiting page comes at once, without the chooser. */
export async function toWaitingPage(config: client.Configuration, browser: Browser, username: string) {
  const request = await authorizationRequest(config, { acr_values: ACR_VALUES.substantial });
  const { form } = await openLoginPage(browser, request.url);
  const { response, url } = await browser.submit(form.action, { ...form.fields, username, password: PASSWORD }, { stopAt: REDIRECT_URI });
  const html = await response.text();
  expect(response.status, html).to.equal(200);
  return { request, page: { url, html } };
}

/** Posts the waiting page's continue form. */
export async function pressContinue(browser: Browser, page: Page): Promise<Page> {
  const form = readForm(page.html, page.url);
  const { response, url } = await browser.submit(form.action, form.fields, { stopAt: REDIRECT_URI });
  return { url, html: url.startsWith(REDIRECT_URI) ? '' : await response.text() };
}

/** The waiting page's event stream URL. */
export function eventsUrl(page: Page): string {
  const href = /data-events="([^"]+)"/.exec(page.html)?.[1] as string;
  return new URL(href.replace(/&amp;/g, '&'), page.url).href;
}
