/**
 * A minimal browser for driving login pages over HTTP: keeps cookies, follows redirects on
 * request, and reads forms out of the HTML. Real Chromium tests come with the self-service
 * pages; this one exercises the protocol paths quickly.
 */
export class Browser {
  readonly cookies = new Map<string, string>();
  /** Headers sent with every request, e.g. `accept-language`. */
  readonly headers: Record<string, string>;

  constructor(headers: Record<string, string> = {}) {
    this.headers = headers;
  }

  async fetch(url: string | URL, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers({ ...this.headers, ...Object.fromEntries(new Headers(init.headers)) });
    if (this.cookies.size) headers.set('cookie', [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; '));
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a)) || value === '';
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return response;
  }

  /** GETs `url` and follows redirects until a page or a redirect to `stopAt`'s origin+path. */
  async follow(url: string | URL, options: { stopAt?: string; init?: RequestInit } = {}): Promise<{ response: Response; url: string }> {
    let current = new URL(url);
    let response = await this.fetch(current, options.init);
    for (let hops = 0; hops < 20 && response.status >= 300 && response.status < 400; hops += 1) {
      const next = new URL(response.headers.get('location') as string, current);
      if (options.stopAt && next.href.startsWith(options.stopAt)) return { response, url: next.href };
      current = next;
      response = await this.fetch(current);
    }
    return { response, url: current.href };
  }

  /** Posts a form (urlencoded) and follows the redirects after it. */
  async submit(action: string, fields: Record<string, string>, options: { stopAt?: string; origin?: string } = {}) {
    return this.follow(action, {
      ...options,
      init: {
        method: 'POST',
        body: new URLSearchParams(fields),
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...(options.origin ? { origin: options.origin } : {}) },
      },
    });
  }
}

/** A form on a page: its action (absolute) and its hidden and pre-filled fields. */
export function readForm(html: string, pageUrl: string, index = 0): { action: string; fields: Record<string, string> } {
  const forms = [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)];
  const form = forms[index];
  if (!form) throw new Error(`no form ${index} on the page`);
  const action = /action="([^"]*)"/.exec(form[1] as string)?.[1] ?? pageUrl;
  const fields: Record<string, string> = {};
  for (const input of (form[2] as string).matchAll(/<input\b([^>]*)>/g)) {
    const name = /name="([^"]*)"/.exec(input[1] as string)?.[1];
    const value = /value="([^"]*)"/.exec(input[1] as string)?.[1] ?? '';
    if (name) fields[name] = decodeEntities(value);
  }
  return { action: new URL(decodeEntities(action), pageUrl).href, fields };
}

function decodeEntities(text: string): string {
  return text.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&#x2F;/g, '/');
}
