import type * as client from 'openid-client';

import { RETRY_AFTER_SECONDS } from '../../src/http/errors.ts';
import { Browser, readForm } from '../helpers/browser.ts';
import { authorizationRequest, REDIRECT_URI } from '../oidc/login-flow.ts';
import { PASSWORD } from './bed.ts';
import { tokenRequest } from './checks.ts';

/** What the user is shown when storage is out, in Danish (the pages' default language). */
export const UNAVAILABLE_TEXT = 'Tjenesten er midlertidigt utilgængelig. Prøv igen om lidt.';
/** The page of a login whose state was lost (Redis restarted empty): start again from the system. */
export const EXPIRED_TEXT = 'Login-forløbet er udløbet.';
/** What oidc-provider's error page says of a bad request: it must never appear for our outage. */
const BLAMES_THE_RELYING_PARTY = 'Systemet, du kom fra';

/**
 * How one login attempt ended:
 * - `success`: tokens from the token endpoint;
 * - `unavailable`: a clean "temporarily unavailable" (503, `Retry-After`, our page or
 *   `temporarily_unavailable` JSON);
 * - `expired`: the login's state was gone (Redis came back empty), and the page says so;
 * - `bad`: anything else (a 500, a page that blames the relying party, no `Retry-After`).
 */
export type OutcomeKind = 'success' | 'unavailable' | 'expired' | 'bad';

export interface Attempt {
  kind: OutcomeKind;
  /** Where it ended: the path (an interaction's uid as `:uid`). */
  at: string;
  status?: number;
  /** For `bad`: what was wrong, with the start of the body. */
  detail?: string;
  started: number;
  ended: number;
  /** The refresh token of a `success`. */
  refreshToken?: string;
}

/** A path without its interaction uid, for counting where attempts ended. */
const where = (url: string) => new URL(url).pathname.replace(/\/(interaction|auth)\/[\w-]{10,}/, '/$1/:uid');

/**
 * Judges a response that is not a step forward: a clean outage answer, a login that expired, or
 * a bad answer. Every 503 must carry `Retry-After` and say "temporarily unavailable"; no page
 * may blame the system the user came from.
 */
export async function judge(response: Response, url: string): Promise<Pick<Attempt, 'kind' | 'at' | 'status' | 'detail'>> {
  const body = await response.text();
  const at = where(url);
  const base = { at, status: response.status };
  if (body.includes(BLAMES_THE_RELYING_PARTY)) return { ...base, kind: 'bad', detail: `blames the relying party: ${body.slice(0, 300)}` };
  if (response.status === 503) {
    if (response.headers.get('retry-after') !== String(RETRY_AFTER_SECONDS)) return { ...base, kind: 'bad', detail: `503 without Retry-After: ${body.slice(0, 200)}` };
    if ((response.headers.get('content-type') ?? '').includes('json')) {
      const json = JSON.parse(body) as { error?: string };
      if (json.error === 'temporarily_unavailable' || json.error === 'service_unavailable') return { ...base, kind: 'unavailable' };
    } else if (body.includes(UNAVAILABLE_TEXT)) {
      return { ...base, kind: 'unavailable' };
    }
    return { ...base, kind: 'bad', detail: `503 that does not say so: ${body.slice(0, 300)}` };
  }
  if (response.status === 400 && body.includes(EXPIRED_TEXT)) return { ...base, kind: 'expired' };
  return { ...base, kind: 'bad', detail: body.slice(0, 300) };
}

/**
 * A browser behind a load balancer that sends it to one node: every request for the issuer's
 * origin goes to `node` instead (the links and redirects still name the issuer).
 */
export class NodeBrowser extends Browser {
  readonly issuer: string;
  node: string;

  constructor(issuer: string, node: string) {
    super();
    this.issuer = new URL(issuer).origin;
    this.node = new URL(node).origin;
  }

  override fetch(url: string | URL, init: RequestInit = {}): Promise<Response> {
    const target = new URL(url);
    return super.fetch(target.origin === this.issuer ? `${this.node}${target.pathname}${target.search}` : target, init);
  }
}

/**
 * One whole login as a browser and its relying party make it: the authorization request, the
 * password page, back to the relying party, the code exchanged at the token endpoint (by hand,
 * to see its status and headers). With a {@link NodeBrowser} the relying party calls the
 * browser's node too.
 */
export async function attemptLogin(rp: client.Configuration, username: string, browser: Browser = new Browser()): Promise<Attempt> {
  const started = Date.now();
  const end = (outcome: Pick<Attempt, 'kind' | 'at' | 'status' | 'detail' | 'refreshToken'>): Attempt => ({ ...outcome, started, ended: Date.now() });
  try {
    const request = await authorizationRequest(rp);
    const page = await browser.follow(request.url, { stopAt: REDIRECT_URI });
    if (page.response.status !== 200) return end(await judge(page.response, page.url));
    const form = readForm(await page.response.text(), page.url);
    const back = await browser.submit(form.action, { ...form.fields, username, password: PASSWORD }, { stopAt: REDIRECT_URI });
    if (!back.url.startsWith(REDIRECT_URI)) return end(await judge(back.response, back.url));
    const code = new URL(back.url).searchParams.get('code');
    if (!code) return end({ kind: 'bad', at: where(back.url), detail: `no code: ${back.url}` });
    const token = await tokenRequest(rp, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: request.codeVerifier }, browser instanceof NodeBrowser ? browser.node : undefined);
    if (token.status !== 200) return end(await judge(token, token.url));
    const tokens = (await token.json()) as { id_token?: string; refresh_token?: string };
    if (!tokens.id_token) return end({ kind: 'bad', at: '/token', detail: 'no id_token' });
    return end({ kind: 'success', at: '/token', refreshToken: tokens.refresh_token });
  } catch (error) {
    return end({ kind: 'bad', at: 'client', detail: String(error) });
  }
}

/**
 * Logins run by `workers` simulated employees, one after another each, from now until `stop()`:
 * the load in flight while a test breaks something. `stop()` waits for the attempts under way.
 */
export function keepLoggingIn(rp: client.Configuration, usernames: string[], options: { browser?: () => Browser } = {}): { attempts: Attempt[]; stop(): Promise<Attempt[]> } {
  const attempts: Attempt[] = [];
  let running = true;
  const workers = usernames.map(async (username) => {
    while (running) {
      const attempt = await attemptLogin(rp, username, options.browser?.());
      attempts.push(attempt);
      // A refused attempt comes back at once; a short pause keeps a worker from spinning.
      if (attempt.kind !== 'success') await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });
  return {
    attempts,
    async stop() {
      running = false;
      await Promise.all(workers);
      return attempts;
    },
  };
}

/** Attempts counted by kind and by where they ended, for a failure message or the report. */
export function tally(attempts: Attempt[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { kind, at } of attempts) {
    const key = kind === 'success' ? 'success' : `${kind} at ${at}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** Polls `url` every 50 ms from now until it answers `status`; returns the milliseconds it took. */
export async function untilStatus(url: string, status: number, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) }).catch(() => undefined);
    await response?.body?.cancel();
    if (response?.status === status) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${url} did not answer ${status} within ${timeoutMs} ms`);
}

/** Tries logins one after another from now until one succeeds; returns the milliseconds it took. */
export async function untilLoginWorks(rp: client.Configuration, username: string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  let last: Attempt | undefined;
  while (Date.now() - started < timeoutMs) {
    last = await attemptLogin(rp, username);
    if (last.kind === 'success') return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no login succeeded within ${timeoutMs} ms; the last: ${JSON.stringify(last)}`);
}
