import type { Context } from 'koa';

import type { Level } from '../auth/levels.ts';
import type { LoginRequirements, SessionAuthentication } from '../auth/step-up.ts';

/**
 * A login in progress, whatever protocol asked for it (ARCHITECTURE.md, "A login, step by
 * step"). The interaction pages read and finish flows through this interface only; each
 * protocol (OIDC today, SAML next) implements {@link FlowProtocol}, and `app.ts` registers it.
 */
export interface Flow {
  /** The protocol that owns the flow, e.g. `oidc`. */
  protocol: string;
  uid: string;
  clientId: string;
  /** The relying party's name, for "You are logging in to …". */
  clientName: string | undefined;
  /** The relying party's origin: the login form's post ends in a redirect there (CSP form-action). */
  returnOrigin: string | undefined;
  /** Whether the user must log in; false when only protocol bookkeeping (consent) is left. */
  needsLogin: boolean;
  /**
   * The user must not be asked anything (SAML IsPassive): if the session does not satisfy the
   * requirements, the flow fails with `passive` instead of showing a page. (OIDC `prompt=none`
   * never reaches the pages: oidc-provider answers it.)
   */
  passive: boolean;
  /**
   * What the relying party needs (level, factor lifetimes, freshness), as the protocol read it
   * from its request. What the SSO session has proven is read from `sessions/`, not from here.
   */
  requirements: LoginRequirements;
}

/** What a finished login proves: who, at what level, with which methods (RFC 8176 `amr`). */
export interface LoginResult {
  level: Level;
  amr: string[];
  /** When the authentication the level rests on took place (epoch seconds): the oldest factor it counts. */
  authTime: number;
  /** What the session has proven, and when; the SSO session keeps it for the next request. */
  authentication: SessionAuthentication;
}

/**
 * Why a flow ends without a login, whatever the protocol: the user cancelled, has no second
 * factor for the level asked, or would have to be asked in a passive flow. Each protocol maps it
 * to its own error (OIDC: `access_denied`, `unmet_authentication_requirements`, `login_required`).
 */
export type FlowFailure = 'cancelled' | 'no_factor' | 'passive';

/** How one protocol loads, finishes and fails its flows. */
export interface FlowProtocol {
  readonly name: string;
  /** The flow `uid` belongs to, or undefined if it is not this protocol's. */
  load(ctx: Context, uid: string): Promise<Flow | undefined>;
  /** Completes the login and sends the user back to the relying party. */
  complete(ctx: Context, flow: Flow, result: LoginResult): Promise<void>;
  /** Finishes what needs nothing from the user (e.g. OIDC consent for a first-party client). */
  proceed(ctx: Context, flow: Flow): Promise<void>;
  /** Ends the flow with the protocol's own error for `reason`, which the relying party understands. */
  fail(ctx: Context, flow: Flow, reason: FlowFailure): Promise<void>;
}

/** The registered protocols; finds the one a flow belongs to. */
export interface FlowRegistry {
  load(ctx: Context, uid: string): Promise<{ flow: Flow; protocol: FlowProtocol } | undefined>;
}

export function createFlowRegistry(protocols: FlowProtocol[]): FlowRegistry {
  return {
    async load(ctx, uid) {
      for (const protocol of protocols) {
        const flow = await protocol.load(ctx, uid);
        if (flow) return { flow, protocol };
      }
      return undefined;
    },
  };
}
