/**
 * Taking an SP's request in, the steps the SingleSignOnService (`sso.ts`) and the
 * SingleLogoutService (`slo.ts`) share (issue "Step 5"): the message off its binding, through
 * the parser's defences, to the SP registered under its Issuer, its signature checked by our own
 * wrap-proof rules (never samlify's: GHSA-63ch-w8pw-4mf2, open in 2.13.1, wraps signed
 * AuthnRequests and LogoutRequests alike), its ID claimed against replay. A step that fails
 * throws a {@link Refusal}; the endpoint made by {@link bindingEndpoint} turns it into an audit
 * event and an error page, never a redirect: nothing in the message is trusted until it all
 * checked out. Each endpoint reads and checks its own kind of request between these steps.
 */
import { X509Certificate } from 'node:crypto';

import { bodyParser } from '@koa/bodyparser';
import type { Document } from '@xmldom/xmldom';
import type { Context, Middleware } from 'koa';

import { requestState } from '../http/context.ts';
import { IdpError, type ErrorCode } from '../http/errors.ts';
import { formField } from '../http/form.ts';
import type { AuditLog, AuditType } from '../store/audit.ts';
import type { ServiceProviderRecord, ServiceProviderRepository } from '../store/service-providers.ts';
import type { ShortLivedStore } from '../store/short-lived/types.ts';
import { decodePostRequest, decodeRedirectRequest, readRedirectQuery, verifyRedirectSignature, type DecodeResult } from './bindings.ts';
import type { SamlBinding } from './idp-metadata.ts';
import { verifyEnvelopedSignature } from './request-signature.ts';
import { parseSamlXml } from './xml-safety.ts';

/** A request taken off its binding: the XML (or why not), RelayState, and how its signature is checked. */
export interface ReceivedRequest {
  binding: SamlBinding;
  decoded: DecodeResult;
  RelayState: string | undefined;
  /** Verifies the signature with the SP's certificates: undefined when it verifies, else why not (`unsigned` when there is none). */
  verifySignature(document: Document, certificates: X509Certificate[]): string | undefined;
}

/** A refusal: its reason for the audit trail, and the SP it claimed to be, if it got that far. */
export class Refusal extends Error {
  readonly reason: string;
  readonly issuer: string | undefined;

  constructor(reason: string, issuer?: string) {
    super(reason);
    this.reason = reason;
    this.issuer = issuer;
  }
}

/**
 * We receive requests only. A SAMLResponse (an SP answering a request of ours) is refused by
 * name: the IdP sends no request that one could answer.
 */
const UNEXPECTED_RESPONSE = 'unexpected-response';

/** HTTP-Redirect (SAML Bindings §3.4): the raw query, so the signed octets are the ones sent. */
export function receiveRedirect(ctx: Context): ReceivedRequest {
  if (ctx.query.SAMLResponse !== undefined) throw new Refusal(UNEXPECTED_RESPONSE);
  const read = readRedirectQuery({ rawQuery: ctx.querystring });
  if (!read.ok) throw new Refusal(`query-${read.reason}`);
  const { query } = read;
  return {
    binding: 'redirect',
    decoded: decodeRedirectRequest({ SAMLRequest: query.SAMLRequest }),
    RelayState: query.RelayState,
    verifySignature(_document, certificates) {
      const verified = verifyRedirectSignature({ query, certificates });
      return verified.verified ? undefined : verified.reason;
    },
  };
}

/** HTTP-POST (SAML Bindings §3.5): base64 XML, an enveloped signature checked by our wrap-proof rule. */
export function receivePost(ctx: Context): ReceivedRequest {
  if (formField(ctx, 'SAMLResponse')) throw new Refusal(UNEXPECTED_RESPONSE);
  return {
    binding: 'post',
    decoded: decodePostRequest({ SAMLRequest: formField(ctx, 'SAMLRequest') || undefined }),
    RelayState: formField(ctx, 'RelayState') || undefined,
    verifySignature(document, certificates) {
      const verified = verifyEnvelopedSignature({ document, certificates });
      return verified.verified ? undefined : verified.reason;
    },
  };
}

/** The request's XML, decoded and parsed past the defences of `xml-safety.ts` (DOCTYPE, entities, size). */
export function openRequest(received: ReceivedRequest): Document {
  if (!received.decoded.ok) throw new Refusal(`decode-${received.decoded.reason}`);
  const parsed = parseSamlXml({ xml: received.decoded.xml });
  if (!parsed.ok) throw new Refusal(`xml-${parsed.reason}`);
  return parsed.document;
}

/**
 * Verifies the signature with the SP's metadata certificates (never one the message brings) when
 * there is one, and refuses a request without one when `required`. A signature that is there but
 * does not verify is refused either way, wrapped or misplaced ones included.
 */
export function checkSignature(received: ReceivedRequest, document: Document, sp: ServiceProviderRecord, options: { required: boolean }): void {
  const certificates = sp.metadata.signingCertificates.map((der) => new X509Certificate(Buffer.from(der, 'base64')));
  const failure = received.verifySignature(document, certificates);
  if (failure === 'unsigned' && !options.required) return;
  if (failure) throw new Refusal(failure === 'unsigned' ? 'signature-required' : failure, sp.entityId);
}

/** Options of {@link createRequestIntake}. */
export interface RequestIntakeOptions {
  serviceProviders: ServiceProviderRepository;
  store: ShortLivedStore;
  /** How far IssueInstant may be from our clock, seconds (`SAML_CLOCK_SKEW_SECONDS`): how long an ID is remembered. */
  skewSeconds: number;
}

/** The steps that need the SP registry and the short-lived store. */
export function createRequestIntake(options: RequestIntakeOptions) {
  const { serviceProviders, store, skewSeconds } = options;
  return {
    /** The SP registered under the request's Issuer. */
    async serviceProvider(issuer: string): Promise<ServiceProviderRecord> {
      const sp = await serviceProviders.find(issuer);
      if (!sp) throw new Refusal('unknown-sp', issuer);
      return sp;
    },

    /**
     * Claims the request's ID, once for every kind of request from that SP (an xs:ID is unique),
     * for as long as IssueInstant keeps it acceptable either side of our clock. Called last, so a
     * refused request burns no ID.
     */
    async claimId(sp: ServiceProviderRecord, ID: string): Promise<void> {
      const fresh = await store.setIfAbsent(`saml:request-id:${sp.entityId}:${ID}`, '1', (2 * skewSeconds + 1) * 1000);
      if (!fresh) throw new Refusal('replayed', sp.entityId);
    },
  };
}

/** Options of {@link bindingEndpoint}. */
export interface BindingEndpointOptions {
  audit: AuditLog;
  /** The audit event of a refusal. */
  refusedEvent: Extract<AuditType, `saml.${string}_refused`>;
  /** The error page of a refusal. */
  refusedError: Extract<ErrorCode, `saml_${string}_refused`>;
  /** Acts on a request taken off its binding; throws a {@link Refusal} to refuse it. */
  handle: (ctx: Context, received: ReceivedRequest) => Promise<void>;
}

/**
 * An endpoint's handlers for `GET` (HTTP-Redirect) and `POST` (HTTP-POST). A {@link Refusal}
 * from any step is recorded as `refusedEvent` with its reason and shown as the `refusedError`
 * page; the SP it claimed to be is named only in the audit trail.
 */
export function bindingEndpoint(options: BindingEndpointOptions): { redirect: Middleware; post: Middleware[] } {
  async function serve(ctx: Context, binding: SamlBinding, receive: (ctx: Context) => ReceivedRequest) {
    try {
      await options.handle(ctx, receive(ctx));
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      await options.audit.record({
        type: options.refusedEvent,
        actor: 'anonymous',
        clientId: error.issuer ?? null,
        ip: ctx.ip,
        requestId: requestState(ctx).requestId,
        details: { reason: error.reason, binding },
      });
      throw new IdpError(options.refusedError, { detail: error.reason });
    }
  }

  return {
    redirect: async function receiveRedirectBinding(ctx) {
      await serve(ctx, 'redirect', receiveRedirect);
    },
    post: [
      // A POST request is base64 of at most 64 KiB of XML: room for that, no more.
      bodyParser({ enableTypes: ['form'], formLimit: '96kb' }),
      async function receivePostBinding(ctx) {
        await serve(ctx, 'post', receivePost);
      },
    ],
  };
}
