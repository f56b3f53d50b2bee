import type { FactorKind, FactorRegistry, ListedFactor } from '../factors/factor.ts';
import { IdpError } from '../http/errors.ts';

/** An action a kind may offer on the employee's own devices in self-service. */
export type FactorAction = 'rename' | 'remove';

/**
 * The employee's own device `factorId` (a pending one too), whose kind offers `action`; 404
 * for any other id: another employee's, a removed one, one whose kind does not offer it. The
 * kind acts on the user's own rows only, so a race cannot reach another's device either.
 */
export async function ownFactor<A extends FactorAction>(options: { factors: FactorRegistry; userId: string; factorId: string; action: A }): Promise<{ factor: ListedFactor; kind: FactorKind & Required<Pick<FactorKind, A>> }> {
  const { factors, userId, factorId, action } = options;
  const factor = (await factors.listForUser(userId, { pending: true })).find((candidate) => candidate.id === factorId);
  const kind = factor && factors.get(factor.kind);
  if (!factor || !kind?.[action]) throw new IdpError('not_found', { detail: `self-service: factor ${factorId} is not one of user ${userId}'s that can be asked to ${action}` });
  return { factor, kind: kind as FactorKind & Required<Pick<FactorKind, A>> };
}
