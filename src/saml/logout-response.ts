/**
 * The LogoutResponse the IdP answers an SP's LogoutRequest with (SAML core §3.7.2; profiles
 * §4.4.4.2): the StatusResponseType envelope the Response has (`response.ts`), addressed to the
 * SP's SingleLogoutService and signed (profiles §4.4.4.2: MUST be authenticated) with the current
 * RSA key: enveloped (RSA-SHA256, exclusive c14n) for HTTP-POST; for HTTP-Redirect the query is
 * signed instead and the XML goes unsigned (`outgoing-message.ts`, Bindings §3.4.4.1).
 */
import type { SigningKey } from '../store/signing-keys.ts';
import type { SamlBinding } from './idp-metadata.ts';
import { SAML_NS } from './request-abstract.ts';
import { STATUS, statusResponseXml, type StatusResponseAddress } from './response.ts';
import { signAfterIssuer, xmlInstant } from './xml-writing.ts';

/**
 * What a LogoutResponse may say (core §3.2.2.2, §3.7.3.2): the session is ended (or there was
 * none, which leaves the state the SP asked for); or the principal is not one we logged in at
 * that SP here, and nothing was done.
 */
export const LOGOUT_STATUS = {
  success: { status: STATUS.success, subStatus: undefined },
  unknownPrincipal: { status: STATUS.requester, subStatus: STATUS.unknownPrincipal },
} as const;

/** Options of {@link buildLogoutResponse}. */
export interface BuildLogoutResponseOptions extends StatusResponseAddress {
  outcome: keyof typeof LOGOUT_STATUS;
  /** The binding it is sent with, which decides where the signature goes. */
  binding: SamlBinding;
  /** The current RSA key, with its certificate. */
  key: SigningKey;
  /** Epoch ms. */
  now: number;
}

/** A LogoutResponse to `destination`, in response to `inResponseTo`; signed enveloped for HTTP-POST. */
export function buildLogoutResponse(options: BuildLogoutResponseOptions): string {
  const { status, subStatus } = LOGOUT_STATUS[options.outcome];
  const xml = statusResponseXml('LogoutResponse', options, xmlInstant(options.now), status, subStatus, '');
  return options.binding === 'post' ? signAfterIssuer(xml, options.key, 'LogoutResponse', SAML_NS.samlp) : xml;
}
