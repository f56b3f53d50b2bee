/**
 * Levels of assurance (NSIS, as used by Danish public-sector identity): the level a relying
 * party asks for, and the `acr` value that names it on the wire.
 */
export const LEVELS = ['low', 'substantial'] as const;

export type Level = (typeof LEVELS)[number];

/** The `acr` / AuthnContextClassRef for each level (ARCHITECTURE.md, "Levels of assurance"). */
export const ACR_VALUES: Readonly<Record<Level, string>> = {
  low: 'https://data.gov.dk/concept/core/nsis/loa/Low',
  substantial: 'https://data.gov.dk/concept/core/nsis/loa/Substantial',
};

/** Whether `value` names a level. */
export function isLevel(value: unknown): value is Level {
  return typeof value === 'string' && (LEVELS as readonly string[]).includes(value);
}

/** The level an `acr` value names, or undefined for one we do not know. */
export function levelOfAcr(acr: string): Level | undefined {
  return LEVELS.find((level) => ACR_VALUES[level] === acr);
}

/** Whether a session at `reached` satisfies a request for `needed`. */
export function satisfiesLevel(reached: Level, needed: Level): boolean {
  return LEVELS.indexOf(reached) >= LEVELS.indexOf(needed);
}

/** The higher of two levels. */
export function higherLevel(a: Level, b: Level): Level {
  return satisfiesLevel(a, b) ? a : b;
}

/** The lower of two levels. */
export function lowerLevel(a: Level, b: Level): Level {
  return satisfiesLevel(a, b) ? b : a;
}
