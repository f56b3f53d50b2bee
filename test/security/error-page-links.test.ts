import { request } from 'node:http';

import { expect } from 'chai';

import { createBacking, startIdp, type Backing, type RunningIdp } from '../helpers/idp.ts';

/**
 * Request paths that a browser or a careless template could read as a link to another origin.
 * Sent byte for byte (node:http, not fetch: the WHATWG URL parser would normalise `\` to `/`).
 */
const HOSTILE_PATHS = [
  '//evil.example/x',
  '///evil.example/x',
  '/\\evil.example',
  '/\\/evil.example/x',
  '/%2F%2Fevil.example',
  '/%2f%2fevil.example/x',
  '/%5Cevil.example',
  '/.//evil.example/x',
  '//evil.example/x?lang=en',
  '/interaction/x/..//evil.example',
];

/** A GET with a raw request target, as an attacker's link would make a browser send. */
function getRaw(base: string, path: string, language = 'da'): Promise<{ status: number; html: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method: 'GET', headers: { accept: 'text/html', 'accept-language': language } }, (res) => {
      let html = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (html += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, html }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Every URL a page links to, loads or submits to (`href`, `src`, `action`, `formaction`). */
function urlsIn(html: string): string[] {
  return [...html.matchAll(/\s(?:href|src|action|formaction)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/gi)]
    .map((match) => (match[1] ?? match[2] ?? match[3] ?? '').replaceAll('&amp;', '&').replaceAll('&#39;', "'").replaceAll('&quot;', '"'));
}

/**
 * Where a browser at `pageUrl` goes for `reference`. Browsers treat `\` as `/` in http(s) URLs,
 * and so does the WHATWG URL parser used here, so `/\evil.example` counts as off-origin.
 */
function resolvedOrigin(reference: string, pageUrl: string): string {
  if (reference.startsWith('data:')) return 'data:';
  return new URL(reference, pageUrl).origin;
}

describe('security: error pages link only to themselves', function () {
  let backing: Backing;
  let plain: RunningIdp;
  let mounted: RunningIdp;

  before(async () => {
    backing = await createBacking();
    plain = await startIdp(backing);
    mounted = await startIdp(backing, { mountPath: '/idp' });
  });
  after(async () => {
    await plain?.stop();
    await mounted?.stop();
    await backing?.cleanup();
  });

  for (const path of HOSTILE_PATHS) {
    it(`keeps every link and form of the page for ${JSON.stringify(path)} on the IdP's origin`, async () => {
      for (const [node, prefix] of [[plain, ''], [mounted, '/idp']] as const) {
        for (const language of ['da', 'en']) {
          const { status, html } = await getRaw(node.url, `${prefix}${path}`, language);
          expect(status, html).to.be.within(400, 499);
          expect(html).to.match(/<html lang="/);
          const origin = new URL(node.url).origin;
          // The page's URL as the browser has it: the request target appended to the origin.
          const pageUrl = new URL(`${origin}${prefix}${path}`).href;
          const urls = urlsIn(html);
          expect(urls.length).to.be.greaterThan(0);
          for (const url of urls) {
            expect(resolvedOrigin(url, pageUrl), `${url} on the page for ${path}`).to.be.oneOf([origin, 'data:']);
            // Whatever base the browser settles on, a reference with an authority of its own leaves it.
            expect(url, `${url} on the page for ${path}`).to.not.match(/^\s*[\\/]{2}|^[a-z][a-z0-9+.-]*:(?!,)/i);
          }
        }
      }
    });
  }

  it('keeps the language switch on the page it is shown on', async () => {
    const { html } = await getRaw(plain.url, '//evil.example/x');
    const link = /<a class="lang" href="([^"]*)"/.exec(html)?.[1];
    expect(link).to.equal('?lang=en');
  });

  it('keeps the links of oidc-provider\'s own error page on the origin', async () => {
    const { status, html } = await getRaw(plain.url, '/auth?client_id=%2F%2Fevil.example&redirect_uri=%2F%2Fevil.example%2Fcb&response_type=code&scope=openid');
    expect(status).to.equal(400);
    for (const url of urlsIn(html)) {
      expect(resolvedOrigin(url, `${plain.url}/auth`)).to.be.oneOf([new URL(plain.url).origin, 'data:']);
      expect(url).to.not.match(/evil\.example/);
    }
  });
});
