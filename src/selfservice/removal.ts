import type { Context } from 'koa';

import type { ActContext, FactorRegistry, ListedFactor } from '../factors/factor.ts';
import { requestState } from '../http/context.ts';
import { IdpError } from '../http/errors.ts';
import { translate } from '../http/i18n.ts';
import type { Renderer } from '../http/render.ts';
import type { User } from '../store/users.ts';
import type { PortalSession } from './sessions.ts';

/** What deleting a device takes from the portal. */
export interface RemovalPagesDeps {
  factors: FactorRegistry;
  render: Renderer;
  who(ctx: Context): { session: PortalSession; user: User };
  csrfToken(session: PortalSession): string;
  acting(ctx: Context): ActContext;
  /** Where the portal's list is. */
  home: string;
}

/** Whether the employee can delete this factor in self-service: its kind knows how. */
export const isRemovable = (factors: FactorRegistry, factor: ListedFactor) => Boolean(factors.get(factor.kind)?.remove);

/**
 * Deleting one of the employee's own devices, with a confirmation page first, for every kind
 * that implements `FactorKind.remove`. The routes run behind the portal's `loadSession`,
 * `checkForm` and `mayChangeFactors`, so a deletion needs a fresh second factor as an addition
 * does. An id that is not one of the employee's (another's, a removed one) is 404 and changes
 * nothing; the kind deletes only the user's own, so a race cannot reach another's either.
 */
export function removalPages(deps: RemovalPagesDeps) {
  /** The employee's removable factor named in the path; 404 otherwise. */
  const ownFactor = async (ctx: Context) => {
    const { user } = deps.who(ctx);
    const factor = (await deps.factors.listForUser(user.id)).find((candidate) => candidate.id === ctx.params.id);
    const kind = factor && deps.factors.get(factor.kind);
    if (!factor || !kind?.remove) throw new IdpError('not_found', { detail: `self-service: factor ${ctx.params.id} is not a removable factor of user ${user.id}` });
    return { user, factor, remove: kind.remove };
  };

  async function confirmRemoval(ctx: Context) {
    const { factor } = await ownFactor(ctx);
    deps.render(ctx, 'selfservice-remove', {
      csrf: deps.csrfToken(deps.who(ctx).session),
      factor,
      question: translate(requestState(ctx).language, 'ss.remove.question', { name: factor.name }),
    });
  }

  async function removeFactor(ctx: Context) {
    const { user, factor, remove } = await ownFactor(ctx);
    if (!(await remove({ userId: user.id, factorId: factor.id, context: deps.acting(ctx) }))) {
      throw new IdpError('not_found', { detail: `self-service: factor ${factor.id} was gone before it was removed` });
    }
    ctx.status = 303;
    ctx.redirect(`${deps.home}?removed=1`);
  }

  return { confirmRemoval, removeFactor };
}
