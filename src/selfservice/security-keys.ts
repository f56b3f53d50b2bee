import type { Context } from 'koa';

import { checkFactorName } from '../factors/factor-name.ts';
import type { ActContext } from '../factors/factor.ts';
import type { CeremonyFailure, SecurityKeys } from '../factors/webauthn/security-keys.ts';
import { requestState } from '../http/context.ts';
import { formField } from '../http/form.ts';
import { translate, type MessageKey } from '../http/i18n.ts';
import type { Renderer } from '../http/render.ts';
import type { User } from '../store/users.ts';
import { nameRefusal } from './messages.ts';
import type { PortalSession } from './sessions.ts';

/** What the security key pages take from the portal: its session, and its steps shared by every kind. */
export interface SecurityKeyPagesDeps {
  keys: SecurityKeys;
  render: Renderer;
  /** The portal session and employee `loadSession` found. */
  who(ctx: Context): { session: PortalSession; user: User };
  csrfToken(session: PortalSession): string;
  acting(ctx: Context): ActContext;
  /** After a device was added: audits a first one and shows the list. */
  added(ctx: Context, factorId: string): Promise<void>;
}

/** What a refused registration tells the employee: a key already theirs, or try again. */
const REFUSALS: Partial<Record<CeremonyFailure, MessageKey>> = { already_registered: 'ss.securityKey.exists' };

/**
 * Adding a security key or passkey in self-service ("Tilføj sikkerhedsnøgle"): a name first, then
 * the WebAuthn registration ceremony on the next page, whose challenge is bound to the portal
 * session and used once. The routes run behind the portal's `loadSession`, `checkForm` and
 * `mayChangeFactors`, as every other kind's enrolment does.
 */
export function securityKeyPages(deps: SecurityKeyPagesDeps) {
  const language = (ctx: Context) => requestState(ctx).language;

  /** The page: the name form, or with `name` the ceremony for it (a new challenge each time). */
  const showPage = async (ctx: Context, name?: string, error?: string) => {
    const { session, user } = deps.who(ctx);
    const options = name === undefined ? undefined : await deps.keys.registrationOptions({
      userId: user.id,
      username: user.username,
      displayName: user.displayName ?? user.username,
      boundTo: session.id,
    });
    deps.render(ctx, 'selfservice-security-key', { csrf: deps.csrfToken(session), name, options, error });
  };

  async function showSecurityKeyForm(ctx: Context) {
    await showPage(ctx);
  }

  async function beginSecurityKey(ctx: Context) {
    const name = formField(ctx, 'name').trim();
    const checked = checkFactorName({ name });
    if (!checked.ok) return showPage(ctx, undefined, nameRefusal(language(ctx), checked.reason));
    await showPage(ctx, name);
  }

  async function finishSecurityKey(ctx: Context) {
    const { session, user } = deps.who(ctx);
    const name = formField(ctx, 'name').trim();
    const checked = checkFactorName({ name });
    if (!checked.ok) return showPage(ctx, undefined, nameRefusal(language(ctx), checked.reason));
    const result = await deps.keys.register({ userId: user.id, boundTo: session.id, name, response: formField(ctx, 'response'), context: deps.acting(ctx) });
    if (result.ok) return deps.added(ctx, result.credential.id);
    await showPage(ctx, name, translate(language(ctx), REFUSALS[result.reason] ?? 'ss.securityKey.notVerified'));
  }

  return { showSecurityKeyForm, beginSecurityKey, finishSecurityKey };
}
