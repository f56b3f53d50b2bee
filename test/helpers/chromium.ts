/**
 * Real Chromium for the page tests (Debian's, driven by playwright-core): launching it or
 * skipping when it is missing, pages that collect script errors and CSP violations, and the
 * accessibility checks every page must pass (axe-core at WCAG 2.2 AA with best practices, reflow
 * at 320 CSS px).
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';

import { expect } from 'chai';
import { chromium, type Browser, type BrowserContextOptions, type Page, type Request } from 'playwright-core';

import { REDIRECT_URI } from '../oidc/login-flow.ts';

export const CHROMIUM = '/usr/bin/chromium';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** The rule sets the pages are held to. */
export const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'];

/** Where the tests leave screenshots of the main pages (a CI artifact). */
export const SCREENSHOT_DIR = join(process.cwd(), 'test-artifacts', 'screenshots');

/**
 * Chromium, or a skip of the suite (`this.skip()` in a `before`) when it is not installed; with
 * STEPUP_REQUIRE_SERVICES=1 (CI) a missing Chromium fails instead.
 */
export async function launchChromium(context: Mocha.Context): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    if (process.env.STEPUP_REQUIRE_SERVICES === '1') throw new Error(`STEPUP_REQUIRE_SERVICES=1 but ${CHROMIUM} is missing (apt-get install chromium)`);
    console.log(`  (notice: ${CHROMIUM} is missing; skipping the Chromium tests)`);
    context.skip();
  }
  // Port 9 is the test relying parties' redirect URI (never served); Chromium refuses it unless allowed.
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--explicitly-allowed-ports=9'] });
}

/** A fresh context and page that collect console errors (CSP violations among them) and script errors. */
export async function newPage(browser: Browser, options: BrowserContextOptions = {}): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext({ locale: 'da-DK', ...options });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  return { page, problems };
}

/**
 * The browser's request back to the test relying party, with the code: the end of a login. The
 * redirect URI is never served (port 9), so its page never loads and a wait for the URL can meet
 * the refused connection instead; begin this before the step that redirects.
 */
export function backAtRelyingParty(page: Page): Promise<Request> {
  return page.waitForEvent('request', (sent) => sent.url().startsWith(REDIRECT_URI));
}

/** axe-core's violations on the page as it is now, as `rule: targets` lines. */
export async function axeViolations(page: Page): Promise<string[]> {
  await page.evaluate(AXE_SOURCE);
  return (await page.evaluate(`axe.run(document, { runOnly: ${JSON.stringify(AXE_TAGS)} })
    .then((result) => result.violations.map((violation) => violation.id + ': ' + violation.nodes.map((node) => node.target.join(' ')).join(', ')))`)) as string[];
}

/**
 * Whether the page needs horizontal scrolling at 320 CSS px (WCAG 1.4.10 Reflow): the widest
 * element's right edge past the viewport. The viewport is restored afterwards.
 */
export async function overflowsAt320(page: Page): Promise<string[]> {
  const before = page.viewportSize();
  await page.setViewportSize({ width: 320, height: 640 });
  // A string, as it runs in the page: the project's types have no DOM.
  const wide = (await page.evaluate(`(() => {
    const width = document.documentElement.clientWidth;
    return [...document.querySelectorAll('body *')]
      .filter((element) => element.getBoundingClientRect().right > width + 0.5)
      .map((element) => element.tagName.toLowerCase() + (element.id ? '#' + element.id : '') + (typeof element.className === 'string' && element.className ? '.' + element.className.split(' ').join('.') : ''));
  })()`)) as string[];
  if (before) await page.setViewportSize(before);
  return wide;
}

/** The page passes axe and reflows at 320 px; `name` says which page failed, and a screenshot is kept. */
export async function expectAccessible(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
  expect(await axeViolations(page), `axe on ${name} (${page.url()})`).to.deep.equal([]);
  expect(await overflowsAt320(page), `reflow at 320 px on ${name} (${page.url()})`).to.deep.equal([]);
}
