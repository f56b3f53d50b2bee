/**
 * Self-service in the fetch-based test browser: an employee with a code viewer, and the portal
 * login (password, then the code) as the employee walks it.
 */
import { createAccessPasses, type AccessPasses } from '../../src/auth/access-passes.ts';
import { deriveKey } from '../../src/crypto/derived-keys.ts';
import type { User } from '../../src/store/users.ts';
import { readForm, type Browser } from './browser.ts';
import { addUser, TEST_SECRET_KEY, type RunningIdp } from './idp.ts';
import { codeAt, factorsOn, makeCodeViewer, type TestClock } from './totp.ts';

/** The password every portal employee of the tests has. */
export const PORTAL_PASSWORD = 'Sne-over-Silkeborg-2026';

/**
 * A new employee with one code viewer named `name`, bound with the previous step's code (inside
 * the drift window), so the login's code is a later step, not a replay.
 */
export async function employeeWithViewer(running: RunningIdp, clock: TestClock, username: string, name = 'Kodeviser'): Promise<{ user: User; viewer: ReturnType<typeof makeCodeViewer> }> {
  const user = await addUser(running.idp, { username, password: PORTAL_PASSWORD });
  const viewer = makeCodeViewer();
  await running.idp.storage.db.transaction((trx) => running.idp.storage.totpTokens.addToStock([viewer], trx));
  const bound = await factorsOn(running.idp.storage, clock.now).bindCodeViewer({ userId: user.id, serial: viewer.serial, name, code: codeAt(viewer, clock.step() - 1), context: { actor: 'cli' } });
  if (!bound.ok) throw new Error(`binding failed: ${bound.reason}`);
  return { user, viewer };
}

/** Logs in to self-service with the password (a wrong one first, if asked) and the viewer's code. */
export async function logInToPortal(running: RunningIdp, clock: TestClock, browser: Browser, username: string, viewer: Parameters<typeof codeAt>[0], { wrongFirst = false } = {}): Promise<void> {
  const start = await browser.follow(`${running.url}/selfservice`);
  let page = { html: await start.response.text(), url: start.url };
  if (wrongFirst) {
    const form = readForm(page.html, page.url);
    const again = await browser.submit(form.action, { ...form.fields, username, password: 'forkert-forkert' });
    page = { html: await again.response.text(), url: again.url };
  }
  const login = readForm(page.html, page.url);
  const codeStep = await browser.submit(login.action, { ...login.fields, username, password: PORTAL_PASSWORD });
  const form = readForm(await codeStep.response.text(), codeStep.url);
  await browser.submit(form.action, { ...form.fields, code: codeAt(viewer, clock.step()) });
}

/** IT's temporary access passes on `running`, as `stepup user access-pass` issues them. */
export function accessPassesOf(running: RunningIdp, now: () => number): AccessPasses {
  return createAccessPasses({ passes: running.idp.storage.accessPasses, audit: running.idp.storage.audit, key: deriveKey(TEST_SECRET_KEY, 'access-pass'), maxFailures: 5, now });
}

/** The portal page's CSRF token, for hand-made posts. */
export async function portalCsrf(running: RunningIdp, browser: Browser): Promise<string> {
  const html = await (await browser.follow(`${running.url}/selfservice`)).response.text();
  const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
  if (!token) throw new Error('no CSRF token on the portal page: not logged in?');
  return token;
}
