import type { Context } from 'koa';

import { checkFactorName } from '../factors/factor-name.ts';
import type { ActContext, FactorRegistry, ListedFactor } from '../factors/factor.ts';
import { requestState } from '../http/context.ts';
import { IdpError } from '../http/errors.ts';
import { formField } from '../http/form.ts';
import type { Renderer } from '../http/render.ts';
import type { User } from '../store/users.ts';
import { deviceKindWords } from './device-list.ts';
import { nameRefusal } from './messages.ts';
import { ownFactor } from './own-factor.ts';
import type { PortalSession } from './sessions.ts';

/** What renaming a device takes from the portal. */
export interface RenamePagesDeps {
  factors: FactorRegistry;
  render: Renderer;
  who(ctx: Context): { session: PortalSession; user: User };
  csrfToken(session: PortalSession): string;
  acting(ctx: Context): ActContext;
  /** Where the portal's list is. */
  home: string;
}

/**
 * Renaming one of the employee's own devices ("Gem navn"), for every kind that implements
 * `FactorKind.rename`: a page with the name, then the post. The routes run behind the portal's
 * `loadSession`, `checkForm` and `mayChangeFactors`, so a new name needs a fresh second factor
 * as every change does. Another's id is 404 and changes nothing; a name that breaks the rule
 * (`factors/factor-name.ts`, as when a device is added) is shown again with why, and changes nothing.
 */
export function renamePages(deps: RenamePagesDeps) {
  const language = (ctx: Context) => requestState(ctx).language;
  const own = (ctx: Context) => ownFactor({ factors: deps.factors, userId: deps.who(ctx).user.id, factorId: String(ctx.params.id), action: 'rename' });

  const showPage = (ctx: Context, factor: ListedFactor, name: string, error?: string) => {
    deps.render(ctx, 'selfservice-rename', {
      csrf: deps.csrfToken(deps.who(ctx).session),
      factor: { id: factor.id, name: factor.name, kind: deviceKindWords(factor, language(ctx)) },
      name,
      error,
    });
  };

  async function showRename(ctx: Context) {
    const { factor } = await own(ctx);
    showPage(ctx, factor, factor.name);
  }

  async function saveName(ctx: Context) {
    const { factor, kind } = await own(ctx);
    const typed = formField(ctx, 'name');
    const checked = checkFactorName({ name: typed });
    if (!checked.ok) return showPage(ctx, factor, typed, nameRefusal(language(ctx), checked.reason));
    if (!(await kind.rename({ userId: deps.who(ctx).user.id, factorId: factor.id, name: checked.name, context: deps.acting(ctx) }))) {
      throw new IdpError('not_found', { detail: `self-service: factor ${factor.id} was gone before it was renamed` });
    }
    ctx.status = 303;
    ctx.redirect(`${deps.home}?renamed=1`);
  }

  return { showRename, saveName };
}
