/**
 * Sending a SAML response to an SP's endpoint over a binding (SAML Bindings §3.4, §3.5):
 * HTTP-POST as the auto-posting page (`views/saml-post.eta`, submitted by
 * `public/saml-post.js`), whose CSP `form-action` names the SP's origin; HTTP-Redirect as a 303
 * to the endpoint with the message deflated into the query and the query signed (§3.4.4.1).
 * The endpoint is always one from the SP's registered metadata, never one a message named.
 */
import { deflateRawSync } from 'node:zlib';

import type { Context } from 'koa';

import { requestState } from '../http/context.ts';
import type { Renderer } from '../http/render.ts';
import type { SigningKey } from '../store/signing-keys.ts';
import type { SamlBinding } from './idp-metadata.ts';
import { ALGORITHMS, signRedirectQuery } from './xml-writing.ts';

/** A response on its way: the endpoint and binding, the XML, and the RelayState to return. */
export interface OutgoingResponse {
  binding: SamlBinding;
  /** The SP's endpoint, from its metadata. */
  location: string;
  /**
   * The response's XML: signed enveloped for HTTP-POST; unsigned for HTTP-Redirect, where the
   * query is signed instead (a signature in the XML must be left out, §3.4.4.1).
   */
  SAMLResponse: string;
  /** The request's RelayState, returned as it came (§3.4.3, §3.5.3). */
  RelayState: string | undefined;
}

/** Sends `response`: the POST page, or the redirect with a query signed by `key`. */
export function sendResponse(ctx: Context, options: { response: OutgoingResponse; key: SigningKey; render: Renderer }): void {
  const { response } = options;
  if (response.binding === 'redirect') {
    ctx.status = 303;
    ctx.redirect(redirectBindingUrl({ ...response, key: options.key }));
    return;
  }
  postBindingPage(ctx, options.render, response);
}

/** The HTTP-POST binding's page (§3.5.4): a form the script submits, a button where script is off. */
export function postBindingPage(ctx: Context, render: Renderer, response: Pick<OutgoingResponse, 'location' | 'SAMLResponse' | 'RelayState'>): void {
  requestState(ctx).formTargets = [new URL(response.location).origin];
  render(ctx, 'saml-post', {
    action: response.location,
    SAMLResponse: Buffer.from(response.SAMLResponse, 'utf8').toString('base64'),
    RelayState: response.RelayState,
  });
}

/**
 * The HTTP-Redirect binding's URL (§3.4.4.1): `SAMLResponse` (raw DEFLATE, base64),
 * `RelayState`, `SigAlg` in that order, URL-encoded, signed over exactly those octets, then
 * `Signature`; after the endpoint's own query, if it has one (§3.4.4).
 */
export function redirectBindingUrl(options: Pick<OutgoingResponse, 'location' | 'SAMLResponse' | 'RelayState'> & { key: SigningKey }): string {
  const parameters: Array<[string, string]> = [['SAMLResponse', deflateRawSync(Buffer.from(options.SAMLResponse, 'utf8')).toString('base64')]];
  if (options.RelayState !== undefined) parameters.push(['RelayState', options.RelayState]);
  parameters.push(['SigAlg', ALGORITHMS.rsaSha256]);
  const signedOctets = parameters.map(([name, value]) => `${name}=${encodeURIComponent(value)}`).join('&');
  const query = `${signedOctets}&Signature=${encodeURIComponent(signRedirectQuery(signedOctets, options.key))}`;
  return `${options.location}${options.location.includes('?') ? '&' : '?'}${query}`;
}
