/**
 * SAML as a flow protocol (ARCHITECTURE.md, "A login, step by step"): a checked AuthnRequest
 * waits in the short-lived store under a random uid and is a {@link Flow} to the interaction
 * pages; a finished login becomes a signed Response posted to the ACS, a failed one a Response
 * with an error status (SAML core §3.2.2.2).
 */
import { createHmac, randomBytes } from 'node:crypto';

import type { Context } from 'koa';

import { ACR_VALUES, type Level } from '../auth/levels.ts';
import type { FactorLifetimes } from '../auth/step-up.ts';
import { requestState } from '../http/context.ts';
import { IdpError } from '../http/errors.ts';
import type { Renderer } from '../http/render.ts';
import type { Flow, FlowFailure, FlowProtocol } from '../interactions/flow.ts';
import type { SsoSessions } from '../sessions/sso-sessions.ts';
import type { AuditLog } from '../store/audit.ts';
import type { ServiceProviderRecord, ServiceProviderRepository, SpNameIdFormat } from '../store/service-providers.ts';
import type { ShortLivedStore } from '../store/short-lived/types.ts';
import type { SigningKey } from '../store/signing-keys.ts';
import type { User, UserRepository } from '../store/users.ts';
import type { createAssertionEncryption } from './assertion-encryption.ts';
import { statedLevel, type AssuranceRequest } from './authn-request.ts';
import { OIOSAML_ATTRIBUTES } from './attributes.ts';
import { NAMEID_FORMATS, samlSigningKeys } from './idp-metadata.ts';
import { postBindingPage } from './outgoing-message.ts';
import { buildErrorResponse, buildSuccessResponse, STATUS } from './response.ts';
import { newSamlId } from './xml-writing.ts';

/** Where a Response goes: the SP, its checked ACS URL, and what it answers. */
export interface ResponseTarget {
  /** The AuthnRequest's ID (the Response's InResponseTo). */
  requestId: string;
  spEntityId: string;
  /** The ACS URL, matched against the SP's metadata. */
  acs: string;
  RelayState: string | undefined;
}

/** A checked AuthnRequest waiting for its login: where the Response goes, and what the login must reach. */
export interface PendingSamlRequest extends ResponseTarget {
  assurance: AssuranceRequest;
  forceLogin: boolean;
  /** IsPassive: answer NoPassive rather than show a page. */
  passive: boolean;
}

/** Options of {@link createSamlFlowProtocol}. */
export interface SamlFlowOptions {
  /** The IdP's entityID (the Issuer of every Response). */
  entityId: string;
  store: ShortLivedStore;
  serviceProviders: ServiceProviderRepository;
  users: Pick<UserRepository, 'findById'>;
  audit: AuditLog;
  /** The signing keys (the current RSA key signs). */
  keys: () => Promise<SigningKey[]>;
  /** Where each Response's NameID and SessionIndex are kept with the SSO session, for the SP's LogoutRequest (`slo.ts`). */
  sessions: Pick<SsoSessions, 'addParticipant'>;
  /** Encrypts assertions for SPs with an encryption certificate. */
  encryptAssertion: ReturnType<typeof createAssertionEncryption>;
  /** The key persistent NameIDs are made with (derived from SECRET_KEY). */
  nameIdKey: Buffer;
  /** How long each factor counts (SPs have no lifetimes of their own yet). */
  lifetimes: FactorLifetimes;
  /** How long a pending request waits for its login, seconds (the interaction's lifetime). */
  ttlSeconds: number;
  render: Renderer;
  basePath: string;
  now: () => number;
}

/** The SAML flow protocol, and `start`, which turns a checked request into a flow's uid. */
export interface SamlFlowProtocol extends FlowProtocol {
  /** Stores `pending` under a new uid and returns the uid for `/interaction/:uid`. */
  start(pending: PendingSamlRequest): Promise<string>;
  /** Answers at the ACS at once with a Responder `status`, no login (a request no level of ours meets). */
  refuse(ctx: Context, target: ResponseTarget, status: string): Promise<void>;
}

const key = (uid: string) => `saml:flow:${uid}`;

/**
 * How a flow that fails reaches the SP: the user's cancelling is `AuthnFailed`; a user without
 * the second factor the level needs is `NoAuthnContext`; a passive request that needs the user
 * is `NoPassive` (SAML core §3.2.2.2).
 */
const SAML_FAILURES: Record<FlowFailure, string> = {
  cancelled: STATUS.authnFailed,
  no_factor: STATUS.noAuthnContext,
  passive: STATUS.noPassive,
};

export function createSamlFlowProtocol(options: SamlFlowOptions): SamlFlowProtocol {
  const { store, serviceProviders, render } = options;

  async function pendingOf(uid: string): Promise<PendingSamlRequest | undefined> {
    const stored = await store.get(key(uid));
    return stored ? (JSON.parse(stored) as PendingSamlRequest) : undefined;
  }

  /** The pending request and its SP, still registered; else the flow has ended. */
  async function loadPending(uid: string) {
    const pending = await pendingOf(uid);
    const sp = pending && (await serviceProviders.find(pending.spEntityId));
    return pending && sp ? { pending, sp } : undefined;
  }

  /** The HTTP-POST binding's page (SAML Bindings §3.5.4). */
  function postToAcs(ctx: Context, target: ResponseTarget, response: string) {
    postBindingPage(ctx, render, { location: target.acs, SAMLResponse: response, RelayState: target.RelayState });
  }

  async function currentKey() {
    return samlSigningKeys(await options.keys()).current;
  }

  /** A signed Responder Response with the second-level `status`, posted to the ACS. */
  async function postError(ctx: Context, target: ResponseTarget, status: string) {
    const response = buildErrorResponse({
      issuer: options.entityId,
      audience: target.spEntityId,
      destination: target.acs,
      inResponseTo: target.requestId,
      status,
      key: await currentKey(),
      now: options.now(),
    });
    await options.audit.record({ type: 'saml.error_response_sent', actor: 'anonymous', clientId: target.spEntityId, ip: ctx.ip, details: { status, requestId: requestState(ctx).requestId } });
    postToAcs(ctx, target, response);
  }

  return {
    name: 'saml',

    async start(pending) {
      const uid = randomBytes(16).toString('base64url');
      await store.set(key(uid), JSON.stringify(pending), options.ttlSeconds * 1000);
      return uid;
    },

    async load(_ctx, uid) {
      const loaded = await loadPending(uid);
      if (!loaded) return undefined;
      const { pending, sp } = loaded;
      return {
        protocol: 'saml',
        uid,
        clientId: sp.entityId,
        clientName: new URL(pending.acs).host,
        returnOrigin: new URL(pending.acs).origin,
        needsLogin: true,
        passive: pending.passive,
        requirements: { level: pending.assurance.level, lifetimes: options.lifetimes, maxAge: undefined, forceLogin: pending.forceLogin },
      } satisfies Flow;
    },

    async complete(ctx, flow, result) {
      const loaded = await loadPending(flow.uid);
      const user = await options.users.findById(result.authentication.accountId);
      if (!loaded || !user) throw new IdpError('interaction_expired');
      const { pending, sp } = loaded;
      await store.delete(key(flow.uid));
      const level = statedLevel(result.level, pending.assurance.statable);
      const nameId = nameIdFor({ format: sp.nameIdFormat, user, spEntityId: sp.entityId, key: options.nameIdKey });
      // The login reached what was asked, so a level always fits; a user without an email for
      // an SP that names people by email is the IdP declining to answer (core §3.2.2.2).
      if (!level) return postError(ctx, pending, STATUS.noAuthnContext);
      if (!nameId) return postError(ctx, pending, STATUS.requestDenied);
      const [encryptionCertificate] = sp.metadata.encryptionCertificates;
      const recipient = encryptionCertificate && { entityId: sp.entityId, certificate: encryptionCertificate, encryptionMethods: sp.metadata.encryptionMethods };
      const sessionIndex = newSamlId();
      const response = await buildSuccessResponse({
        issuer: options.entityId,
        audience: sp.entityId,
        destination: pending.acs,
        inResponseTo: pending.requestId,
        nameId,
        authnContextClassRef: ACR_VALUES[level],
        authnInstant: result.authTime,
        sessionIndex,
        attributes: attributesFor(sp, user, level),
        key: await currentKey(),
        signResponse: sp.signResponse,
        encrypt: recipient ? (xml) => options.encryptAssertion(xml, recipient) : undefined,
        now: options.now(),
      });
      // A transient NameID cannot be made again, so what the SP was told is kept for its logout.
      await options.sessions.addParticipant(ctx, { clientId: sp.entityId, subject: nameId, sessionIndex });
      await options.audit.record({ type: 'saml.response_sent', actor: `user:${user.id}`, userId: user.id, clientId: sp.entityId, ip: ctx.ip, details: { level, requestId: requestState(ctx).requestId } });
      postToAcs(ctx, pending, response);
    },

    async proceed() {
      // Every SAML flow needs the login (`needsLogin`), so the pages never ask for this.
      throw new IdpError('interaction_expired', { detail: 'a SAML flow has nothing to proceed to' });
    },

    async fail(ctx, flow, reason) {
      const loaded = await loadPending(flow.uid);
      if (!loaded) throw new IdpError('interaction_expired');
      await store.delete(key(flow.uid));
      await postError(ctx, loaded.pending, SAML_FAILURES[reason]);
    },

    refuse: postError,
  };
}

/**
 * The NameID an SP gets (SAML core §8.3): persistent is an HMAC of the SP's entityID and the
 * user's id under a key of our own, so it is stable, opaque and different at every SP (§8.3.7);
 * transient is new each time; email is the user's address, undefined for a user without one.
 */
export function nameIdFor(options: { format: SpNameIdFormat; user: Pick<User, 'id' | 'email'>; spEntityId: string; key: Buffer }): { format: string; value: string } | undefined {
  const [persistent, transient, email] = NAMEID_FORMATS;
  switch (options.format) {
    case 'transient':
      return { format: transient, value: `_${randomBytes(20).toString('hex')}` };
    case 'email':
      return options.user.email ? { format: email, value: options.user.email } : undefined;
    default:
      return { format: persistent, value: createHmac('sha256', options.key).update(`${options.spEntityId}\n${options.user.id}`).digest('base64url') };
  }
}

/** The SP's attributes, in its registered order, each with its value for this user; an empty value is left out. */
function attributesFor(sp: ServiceProviderRecord, user: User, level: Level): Array<[string, string[]]> {
  const values: Record<string, string | null> = {
    [OIOSAML_ATTRIBUTES.specVersion]: 'OIO-SAML-3.0',
    [OIOSAML_ATTRIBUTES.loa]: ACR_VALUES[level],
    [OIOSAML_ATTRIBUTES.email]: user.email,
    [OIOSAML_ATTRIBUTES.fullName]: user.displayName,
    [OIOSAML_ATTRIBUTES.professionalUuid]: user.id,
  };
  return sp.attributes.flatMap((name) => {
    const value = values[name];
    return value ? [[name, [value]] as [string, string[]]] : [];
  });
}
