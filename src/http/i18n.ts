/**
 * The words on our pages, Danish first and English second, as employees know them from the
 * municipality's own guides ("Log ind", "Brugernavn", "Kodeord").
 */
export const LANGUAGES = ['da', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];

const da = {
  'lang.name': 'Dansk',
  'lang.switch': 'English',
  'lang.switchLabel': 'Switch to English',
  'login.title': 'Log ind',
  'login.intro': 'Log ind med dit brugernavn og kodeord fra arbejdet.',
  'login.for': 'Du logger ind på',
  'login.username': 'Brugernavn',
  'login.password': 'Kodeord',
  'login.submit': 'Log ind',
  'login.cancel': 'Annuller',
  'login.failed': 'Brugernavn eller kodeord er forkert, eller kontoen er spærret. Prøv igen, eller kontakt IT-support.',
  'login.missing': 'Udfyld både brugernavn og kodeord.',
  'logout.title': 'Log ud',
  'logout.question': 'Vil du logge ud af alle systemer, du er logget ind på her?',
  'logout.confirm': 'Ja, log ud',
  'logout.stay': 'Nej, forbliv logget ind',
  'logout.done': 'Du er nu logget ud.',
  'error.title': 'Der opstod en fejl',
  'error.not_found': 'Siden findes ikke.',
  'error.invalid_request': 'Forespørgslen er ugyldig.',
  'error.csrf_failed': 'Formularen er udløbet eller kom ikke fra denne side. Gå tilbage og prøv igen.',
  'error.interaction_expired': 'Login-forløbet er udløbet. Gå tilbage til systemet og start forfra.',
  'error.service_unavailable': 'Tjenesten er midlertidigt utilgængelig. Prøv igen om lidt.',
  'error.server_error': 'Der opstod en uventet fejl. Prøv igen, eller kontakt IT-support.',
  'error.oidc': 'Systemet, du kom fra, sendte en ugyldig forespørgsel.',
  'error.reference': 'Fejlreference',
  'skip': 'Gå til indhold',
} as const;

export type MessageKey = keyof typeof da;

const en: Record<MessageKey, string> = {
  'lang.name': 'English',
  'lang.switch': 'Dansk',
  'lang.switchLabel': 'Skift til dansk',
  'login.title': 'Log in',
  'login.intro': 'Log in with your work username and password.',
  'login.for': 'You are logging in to',
  'login.username': 'Username',
  'login.password': 'Password',
  'login.submit': 'Log in',
  'login.cancel': 'Cancel',
  'login.failed': 'The username or password is wrong, or the account is locked. Try again, or contact IT support.',
  'login.missing': 'Enter both username and password.',
  'logout.title': 'Log out',
  'logout.question': 'Do you want to log out of every system you are logged in to here?',
  'logout.confirm': 'Yes, log out',
  'logout.stay': 'No, stay logged in',
  'logout.done': 'You are now logged out.',
  'error.title': 'Something went wrong',
  'error.not_found': 'The page does not exist.',
  'error.invalid_request': 'The request is invalid.',
  'error.csrf_failed': 'The form has expired or did not come from this page. Go back and try again.',
  'error.interaction_expired': 'The login has expired. Go back to the system and start again.',
  'error.service_unavailable': 'The service is temporarily unavailable. Try again shortly.',
  'error.server_error': 'An unexpected error occurred. Try again, or contact IT support.',
  'error.oidc': 'The system you came from sent an invalid request.',
  'error.reference': 'Error reference',
  'skip': 'Skip to content',
};

const MESSAGES: Readonly<Record<Language, Record<MessageKey, string>>> = { da, en };

/** Translates a key into a language. */
export function translate(language: Language, key: MessageKey): string {
  return MESSAGES[language][key];
}

/**
 * The page language: an explicit choice (the `lang` query or cookie) wins, then the browser's
 * `Accept-Language` (RFC 9110 §12.5.4, by q-value), then Danish.
 */
export function chooseLanguage(options: { chosen?: string | undefined; acceptLanguage?: string | undefined }): Language {
  if (isLanguage(options.chosen)) return options.chosen;
  const ranked = (options.acceptLanguage ?? '')
    .split(',')
    .map((part, index) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)?.[1]).find(Boolean);
      return { primary: tag.toLowerCase().split('-')[0], q: q === undefined ? 1 : Number(q), index };
    })
    .filter((entry) => entry.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index);
  for (const entry of ranked) {
    if (isLanguage(entry.primary)) return entry.primary;
    if (entry.primary === 'nb' || entry.primary === 'no' || entry.primary === 'sv') return 'da';
  }
  return 'da';
}

export function isLanguage(value: unknown): value is Language {
  return typeof value === 'string' && (LANGUAGES as readonly string[]).includes(value);
}
