import { higherLevel, levelOfAcr, lowerLevel, type Level } from '../auth/levels.ts';

/**
 * The level an authorization request needs: the client's registered minimum, raised by
 * `acr_values` (OIDC Core §3.1.2.1) and by an essential `acr` in the `claims` parameter
 * (§5.5.1.1). Each lists the values the relying party accepts, so the lowest known one is
 * enough; values we do not know are ignored.
 */
export function requestedLevel(options: { acr_values?: unknown; claims?: unknown; clientMinimum: Level }): Level {
  const lowestOf = (values: unknown[]): Level | undefined => {
    const levels = values.map((value) => (typeof value === 'string' ? levelOfAcr(value) : undefined)).filter((level): level is Level => level !== undefined);
    return levels.length ? levels.reduce(lowerLevel) : undefined;
  };
  const asked = [
    typeof options.acr_values === 'string' ? lowestOf(options.acr_values.split(' ')) : undefined,
    lowestOf(essentialAcrValues(options.claims)),
  ];
  return asked.reduce<Level>((level, ask) => (ask ? higherLevel(level, ask) : level), options.clientMinimum);
}

/** The `acr` values of an essential `acr` claim request, for the ID token or userinfo. */
function essentialAcrValues(claims: unknown): unknown[] {
  let parsed: unknown = claims;
  if (typeof claims === 'string') {
    try {
      parsed = JSON.parse(claims);
    } catch {
      return [];
    }
  }
  if (!parsed || typeof parsed !== 'object') return [];
  return ['id_token', 'userinfo'].flatMap((member) => {
    const acr = ((parsed as Record<string, unknown>)[member] as Record<string, unknown> | undefined)?.acr as
      | { essential?: boolean; value?: unknown; values?: unknown }
      | undefined;
    if (!acr?.essential) return [];
    return Array.isArray(acr.values) ? acr.values : acr.value !== undefined ? [acr.value] : [];
  });
}
