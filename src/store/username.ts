/**
 * The one normalisation of usernames: the unique index, the lookup at login and the lockout
 * counters all compare names in this form, so no two of them can disagree about which names are
 * one (Postgres' `lower()` folds only ASCII under the C locale while JavaScript folds all of
 * Unicode, so "İ" once gave one account two attempt counters).
 */

/**
 * A username in its comparable form, after RFC 8265 §3.3.2 (the PRECIS UsernameCaseMapped
 * profile): width and compatibility mapping (NFKC: full-width "Ａ" is "A", "ﬁ" is "fi", combining
 * marks composed), then lower case (Unicode's default mapping, the same in every locale), then
 * NFKC again, since lowering can leave a sequence composition would change ("İ" becomes "i" +
 * U+0307), so that normalising twice changes nothing.
 */
export function normaliseUsername(username: string): string {
  return username.normalize('NFKC').toLowerCase().normalize('NFKC');
}
