/**
 * The SingleSignOnService (SAML profiles §4.1.4.1; issue "Step 5", "SP-initiated SSO"): an
 * AuthnRequest over HTTP-Redirect or HTTP-POST passes every check here, becomes a SAML flow, and
 * the browser goes to the same interaction pages as an OIDC login. A refused request is an error
 * page and an audit event, never a redirect: nothing in it is trusted until it all checked out.
 */
import { X509Certificate } from 'node:crypto';

import { bodyParser } from '@koa/bodyparser';
import type { Document } from '@xmldom/xmldom';
import type { Context, Middleware } from 'koa';

import { requestState } from '../http/context.ts';
import { IdpError } from '../http/errors.ts';
import { formField } from '../http/form.ts';
import type { AuditLog } from '../store/audit.ts';
import type { ServiceProviderRecord, ServiceProviderRepository } from '../store/service-providers.ts';
import type { ShortLivedStore } from '../store/short-lived/types.ts';
import { checkAuthnRequest, readAuthnRequest } from './authn-request.ts';
import { decodePostRequest, decodeRedirectRequest, readRedirectQuery, verifyRedirectSignature, type DecodeResult } from './bindings.ts';
import { verifyEnvelopedSignature } from './request-signature.ts';
import { STATUS } from './response.ts';
import type { SamlFlowProtocol } from './saml-flow.ts';
import { parseSamlXml } from './xml-safety.ts';

/** Options of {@link createSsoEndpoint}. */
export interface SsoEndpointOptions {
  serviceProviders: ServiceProviderRepository;
  store: ShortLivedStore;
  audit: AuditLog;
  flows: SamlFlowProtocol;
  /** How far IssueInstant may be from our clock, seconds (`SAML_CLOCK_SKEW_SECONDS`). */
  skewSeconds: number;
  basePath: string;
  now: () => number;
}

/** A message taken off its binding: the XML, RelayState, and how its signature is checked. */
interface ReceivedRequest {
  decoded: DecodeResult;
  RelayState: string | undefined;
  /** Verifies the signature with the SP's certificates: undefined when it verifies, else why not (`unsigned` when there is none). */
  verifySignature(document: Document, certificates: X509Certificate[]): string | undefined;
}

/** A refusal: its reason for the audit trail, and the SP it claimed to be, if it got that far. */
class Refusal extends Error {
  readonly reason: string;
  readonly issuer: string | undefined;

  constructor(reason: string, issuer?: string) {
    super(reason);
    this.reason = reason;
    this.issuer = issuer;
  }
}

/** The SSO endpoint's two handlers, for `GET` (HTTP-Redirect) and `POST` (HTTP-POST) `/saml/sso`. */
export function createSsoEndpoint(options: SsoEndpointOptions): { redirect: Middleware; post: Middleware[] } {
  const { serviceProviders, store, audit, flows, skewSeconds, now } = options;

  /** HTTP-Redirect (SAML Bindings §3.4): the raw query, so the signed octets are the ones sent. */
  function receiveRedirect(ctx: Context): ReceivedRequest {
    const read = readRedirectQuery({ rawQuery: ctx.querystring });
    if (!read.ok) throw new Refusal(`query-${read.reason}`);
    const { query } = read;
    return {
      decoded: decodeRedirectRequest({ SAMLRequest: query.SAMLRequest }),
      RelayState: query.RelayState,
      verifySignature(_document, certificates) {
        const verified = verifyRedirectSignature({ query, certificates });
        return verified.verified ? undefined : verified.reason;
      },
    };
  }

  /** HTTP-POST (SAML Bindings §3.5): base64 XML, an enveloped signature checked by our wrap-proof rule. */
  function receivePost(ctx: Context): ReceivedRequest {
    return {
      decoded: decodePostRequest({ SAMLRequest: formField(ctx, 'SAMLRequest') || undefined }),
      RelayState: formField(ctx, 'RelayState') || undefined,
      verifySignature(document, certificates) {
        const verified = verifyEnvelopedSignature({ document, certificates });
        return verified.verified ? undefined : verified.reason;
      },
    };
  }

  /** Every check, in order; the request's ID is claimed last, so a refused request burns none. */
  async function acceptRequest(received: ReceivedRequest) {
    if (!received.decoded.ok) throw new Refusal(`decode-${received.decoded.reason}`);
    const parsed = parseSamlXml({ xml: received.decoded.xml });
    if (!parsed.ok) throw new Refusal(`xml-${parsed.reason}`);
    const read = readAuthnRequest(parsed.document);
    if (!read.ok) throw new Refusal(read.reason);
    const { request } = read;
    const sp = await serviceProviders.find(request.Issuer);
    if (!sp) throw new Refusal('unknown-sp', request.Issuer);
    checkSignature(received, parsed.document, sp);
    const checked = checkAuthnRequest({ request, sp, now: now(), skewSeconds });
    if (!checked.ok) throw new Refusal(checked.reason, sp.entityId);
    // Remembered for as long as IssueInstant keeps it acceptable (either side of our clock).
    const fresh = await store.setIfAbsent(`saml:request-id:${sp.entityId}:${request.ID}`, '1', (2 * skewSeconds + 1) * 1000);
    if (!fresh) throw new Refusal('replayed', sp.entityId);
    return { request, sp, acs: checked.acs, assurance: checked.assurance };
  }

  /**
   * Verifies a signature when there is one, and requires one when the SP's metadata
   * (AuthnRequestsSigned) or its registration (`--require-signed-requests`) does. A signature
   * that is there but does not verify is refused either way, wrapped or misplaced ones included.
   */
  function checkSignature(received: ReceivedRequest, document: Document, sp: ServiceProviderRecord) {
    const certificates = sp.metadata.signingCertificates.map((der) => new X509Certificate(Buffer.from(der, 'base64')));
    const failure = received.verifySignature(document, certificates);
    if (failure === 'unsigned' && !sp.metadata.authnRequestsSigned && !sp.requireSignedRequests) return;
    if (failure) throw new Refusal(failure === 'unsigned' ? 'signature-required' : failure, sp.entityId);
  }

  async function startFlow(ctx: Context, receive: (ctx: Context) => ReceivedRequest) {
    try {
      const received = receive(ctx);
      const { request, sp, acs, assurance } = await acceptRequest(received);
      const target = { requestId: request.ID, spEntityId: sp.entityId, acs, RelayState: received.RelayState };
      if (!assurance) return await flows.refuse(ctx, target, STATUS.noAuthnContext);
      const uid = await flows.start({ ...target, assurance, forceLogin: request.ForceAuthn, passive: request.IsPassive });
      ctx.status = 303;
      ctx.redirect(`${options.basePath}/interaction/${uid}`);
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      await audit.record({
        type: 'saml.request_refused',
        actor: 'anonymous',
        clientId: error.issuer ?? null,
        ip: ctx.ip,
        requestId: requestState(ctx).requestId,
        details: { reason: error.reason, binding: receive === receivePost ? 'post' : 'redirect' },
      });
      throw new IdpError('saml_request_refused', { detail: error.reason });
    }
  }

  return {
    redirect: async function receiveRedirectRequest(ctx) {
      await startFlow(ctx, receiveRedirect);
    },
    post: [
      // A POST request is base64 of at most 64 KiB of XML: room for that, no more.
      bodyParser({ enableTypes: ['form'], formLimit: '96kb' }),
      async function receivePostRequest(ctx) {
        await startFlow(ctx, receivePost);
      },
    ],
  };
}
