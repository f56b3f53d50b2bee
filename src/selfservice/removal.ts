import type { Context } from 'koa';

import type { ActContext, FactorRegistry, ListedFactor } from '../factors/factor.ts';
import { requestState } from '../http/context.ts';
import { IdpError } from '../http/errors.ts';
import { formField } from '../http/form.ts';
import { isMessageKey, translate, type Language } from '../http/i18n.ts';
import type { Renderer } from '../http/render.ts';
import type { User, UserRepository } from '../store/users.ts';
import { deviceKindWords } from './device-list.ts';
import { ownFactor } from './own-factor.ts';
import type { PortalSession } from './sessions.ts';

/** What deleting a device takes from the portal. */
export interface RemovalPagesDeps {
  factors: FactorRegistry;
  /** To clear the default when the default device is deleted. */
  users: Pick<UserRepository, 'clearDefaultFactor'>;
  render: Renderer;
  who(ctx: Context): { session: PortalSession; user: User };
  csrfToken(session: PortalSession): string;
  acting(ctx: Context): ActContext;
  /** Where the portal's list is. */
  home: string;
}

/**
 * The reason posted with a deletion, for a kind that asks why (`FactorKind.removalReasons`):
 * one of its reasons is required, anything else is refused. A kind that does not ask gets none,
 * whatever was posted.
 */
export function chosenReason(options: { reasons: readonly string[] | undefined; posted: string }): { ok: true; reason: string | undefined } | { ok: false } {
  const { reasons, posted } = options;
  if (!reasons?.length) return { ok: true, reason: undefined };
  return reasons.includes(posted) ? { ok: true, reason: posted } : { ok: false };
}

/** A kind's reasons with their words (`ss.remove.reason.<reason>` and its `.hint`), for the radio group. */
function reasonChoices(reasons: readonly string[] | undefined, language: Language) {
  const words = (key: string) => (isMessageKey(key) ? translate(language, key) : undefined);
  return (reasons ?? []).map((reason) => ({ value: reason, label: words(`ss.remove.reason.${reason}`) ?? reason, hint: words(`ss.remove.reason.${reason}.hint`) }));
}

/**
 * Deleting one of the employee's own devices, with a confirmation page first, for every kind
 * that implements `FactorKind.remove`; a kind whose deletion differs by why (a code viewer) asks
 * for one of its reasons there, required. The routes run behind the portal's `loadSession`,
 * `checkForm` and `mayChangeFactors`, so a deletion needs a fresh second factor as an addition
 * does. An id that is not one of the employee's (another's, a removed one) is 404 and changes
 * nothing. The default device deleted, the employee has no default until they choose one.
 */
export function removalPages(deps: RemovalPagesDeps) {
  const language = (ctx: Context) => requestState(ctx).language;
  const own = (ctx: Context) => ownFactor({ factors: deps.factors, userId: deps.who(ctx).user.id, factorId: String(ctx.params.id), action: 'remove' });

  const showPage = (ctx: Context, factor: ListedFactor, reasons: readonly string[] | undefined, error?: string) => {
    deps.render(ctx, 'selfservice-remove', {
      csrf: deps.csrfToken(deps.who(ctx).session),
      factor: { id: factor.id, kind: deviceKindWords(factor, language(ctx)) },
      question: translate(language(ctx), 'ss.remove.question', { name: factor.name }),
      reasons: reasonChoices(reasons, language(ctx)),
      error,
    });
  };

  async function confirmRemoval(ctx: Context) {
    const { factor, kind } = await own(ctx);
    showPage(ctx, factor, kind.removalReasons);
  }

  async function removeFactor(ctx: Context) {
    const { factor, kind } = await own(ctx);
    const { user } = deps.who(ctx);
    const chosen = chosenReason({ reasons: kind.removalReasons, posted: formField(ctx, 'reason') });
    if (!chosen.ok) return showPage(ctx, factor, kind.removalReasons, translate(language(ctx), 'ss.remove.reason.missing'));
    if (!(await kind.remove({ userId: user.id, factorId: factor.id, reason: chosen.reason, context: deps.acting(ctx) }))) {
      throw new IdpError('not_found', { detail: `self-service: factor ${factor.id} was gone before it was removed` });
    }
    // Conditional, so a default chosen meanwhile in another tab stays.
    await deps.users.clearDefaultFactor(user.id, factor.id);
    ctx.status = 303;
    ctx.redirect(`${deps.home}?removed=1`);
  }

  return { confirmRemoval, removeFactor };
}
