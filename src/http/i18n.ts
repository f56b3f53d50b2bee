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
  'error.payload_too_large': 'Forespørgslen er større, end tjenesten modtager.',
  'error.csrf_failed': 'Formularen er udløbet eller kom ikke fra denne side. Gå tilbage og prøv igen.',
  'error.interaction_expired': 'Login-forløbet er udløbet. Gå tilbage til systemet og start forfra.',
  'error.saml_request_refused': 'Systemet, du kom fra, sendte en login-forespørgsel, som ikke kan modtages. Gå tilbage til systemet og start forfra, eller kontakt IT-supporten.',
  'saml.post.title': 'Sender dig tilbage',
  'saml.post.continue': 'Fortsæt',
  'saml.post.explain': 'Tryk på knappen, hvis du ikke sendes videre af sig selv.',
  'error.service_unavailable': 'Tjenesten er midlertidigt utilgængelig. Prøv igen om lidt.',
  'error.server_error': 'Der opstod en uventet fejl. Prøv igen, eller kontakt IT-support.',
  'error.oidc': 'Systemet, du kom fra, sendte en ugyldig forespørgsel.',
  'error.login_cancelled': 'Login blev afbrudt eller mislykkedes. Prøv igen.',
  'error.reference': 'Fejlreference',
  'skip': 'Gå til indhold',
  'factor.title': 'Bekræft med din 2-faktor enhed',
  'factor.intro': 'Systemet kræver 2-faktor godkendelse.',
  'factor.choose': 'Vælg hvilken 2-faktor enhed du vil bruge',
  'factor.kind.code_viewer': 'Kodeviser',
  'factor.kind.authenticator': 'Authenticator-app',
  'factor.kind.desktop': 'Computer',
  'factor.kind.app': 'Telefon-app',
  'factor.lastUsed': 'Sidst brugt',
  'factor.locked': 'Spærret',
  'factor.default': 'Standard',
  'code.label': 'Kode',
  'code.hint.code_viewer': 'Tryk på knappen på kodeviseren, og indtast koden, der vises.',
  'code.hint.authenticator': 'Åbn din authenticator-app, og indtast koden, den viser.',
  'code.submit': 'Bekræft',
  'code.invalid': 'Koden er forkert. Indtast den kode, der vises nu.',
  'code.replayed': 'Koden er allerede brugt. Vent på den næste kode, og indtast den.',
  'code.malformed': 'Indtast koden med de cifre, der står på skærmen.',
  'code.locked': 'Enheden er spærret efter for mange forkerte koder. Prøv igen senere, eller kontakt IT-support.',
  'code.lockedUntil': 'Enheden er spærret efter for mange forkerte koder, til kl. {time}. Brug en anden enhed, eller kontakt IT-support.',
  'code.not_found': 'Enheden kan ikke bruges. Vælg en anden.',
  'code.otherDevice': 'Brug en anden 2-faktor enhed',
  'wait.intro': 'Vi har sendt en anmodning til {name}. Godkend den på enheden.',
  'wait.compare': 'Enheden viser samme kode, så du kan se, at det er denne anmodning:',
  'wait.number': 'Indtast dette tal på enheden:',
  'wait.expires': 'Anmodningen gælder til kl. {time} ({left} tilbage).',
  'wait.continueHint': 'Tryk Fortsæt, når du har godkendt på enheden.',
  'wait.continue': 'Fortsæt',
  'wait.sendAgain': 'Send en ny anmodning',
  'wait.waiting': 'Venter på svar fra enheden …',
  'wait.approved': 'Godkendt. Du sendes videre …',
  'wait.answered': 'Enheden har svaret. Et øjeblik …',
  'challenge.pending': 'Anmodningen er ikke godkendt endnu. Godkend den på enheden, og tryk Fortsæt.',
  'challenge.rejected': 'Anmodningen blev afvist på enheden. Send en ny, hvis det var en fejl.',
  'challenge.expired': 'Anmodningen er udløbet. Send en ny.',
  'challenge.tooMany': 'Der venter allerede for mange anmodninger på dine enheder. Godkend eller afvis dem, eller vent et par minutter.',
  'resync.title': 'Passer koderne ikke?',
  'resync.intro': 'Er kodeviseren kommet ud af takt, kan du synkronisere den: indtast to koder lige efter hinanden.',
  'resync.code1': 'Første kode',
  'resync.code2': 'Næste kode',
  'resync.submit': 'Synkroniser',
  'resync.done': 'Enheden er synkroniseret. Vent på en ny kode, og indtast den.',
  'resync.failed': 'De to koder passede ikke sammen. Prøv igen med to koder lige efter hinanden.',
  'nofactor.title': 'Du mangler en 2-faktor enhed',
  'nofactor.body': 'Systemet kræver 2-faktor godkendelse, men du har ingen 2-faktor enhed tilknyttet. Tilknyt en kodeviser eller en authenticator-app i selvbetjeningen, eller kontakt IT-support.',
  'nofactor.selfservice': 'Gå til selvbetjening',
  'nofactor.back': 'Tilbage til systemet',
  'ss.title': 'Selvbetjening',
  'ss.devices': 'Dine 2-faktor enheder',
  'ss.none': 'Du har ingen 2-faktor enheder endnu.',
  'ss.addCodeViewer': 'Tilknyt en kodeviser',
  'ss.addAuthenticator': 'Tilknyt en authenticator-app',
  'ss.added': 'Enheden er tilknyttet.',
  'ss.makeDefault': 'Gør til standard',
  'ss.defaultSet': 'Enheden er nu din standard. Den vises først, når du logger ind.',
  'ss.logout': 'Log ud af selvbetjening',
  'ss.name': 'Navn på klient',
  'ss.nameHint': 'Et navn, så du kan kende enheden, fx "Kodeviser på kontoret".',
  'ss.serial': 'Serienummer',
  'ss.serialHint': 'De 13 cifre på bagsiden af kodeviseren.',
  'ss.codeNow': 'Kode',
  'ss.codeNowHint': 'Tryk på knappen på kodeviseren, og indtast koden, før den skifter.',
  'ss.save': 'Gem',
  'ss.continue': 'Fortsæt',
  'ss.cancel': 'Tilbage',
  'ss.nameMissing': 'Giv enheden et navn.',
  'ss.notInStock': 'Kodeviseren kan ikke tilknyttes. Tjek serienummeret, eller kontakt IT-support.',
  'ss.serialLocked': 'Kodeviseren er spærret efter for mange forkerte koder, til kl. {time}. Prøv igen derefter, eller kontakt IT-support.',
  'ss.enrolmentLocked': 'Du har indtastet forkerte koder for mange gange og kan ikke tilknytte en enhed af denne slags før kl. {time}. Kontakt IT-support, hvis du har brug for hjælp.',
  'ss.enrolmentExpired': 'Tilknytningen er udløbet. Start forfra, og scan den nye QR-kode.',
  'ss.scan': 'Scan QR-koden med din authenticator-app, eller indtast nøglen i hånden. Indtast derefter koden, appen viser.',
  'ss.qrLabel': 'QR-kode til authenticator-appen',
  'ss.secret': 'Nøgle til indtastning i hånden',
  'ss.accessPass.title': 'Midlertidig adgangskode',
  'ss.accessPass.needed': 'Du har ingen 2-faktor enhed endnu. For at tilknytte den første skal du bruge den midlertidige adgangskode, du har fået af IT-support.',
  'ss.accessPass.enter': 'Indtast midlertidig adgangskode',
  'ss.accessPass.label': 'Midlertidig adgangskode',
  'ss.accessPass.hint': 'De 16 tegn, du har fået af IT-support, fx 7KQ2-M9XD-3HTR-B6WE. Store og små bogstaver er lige gode.',
  'ss.accessPass.invalid': 'Adgangskoden er forkert eller udløbet. Prøv igen, eller bed IT-support om en ny.',
  'ss.accessPass.locked': 'Adgangskoden er spærret efter for mange forkerte forsøg. Bed IT-support om en ny.',
  'ss.accessPass.accepted': 'Adgangskoden er godkendt. Tilknyt nu din første 2-faktor enhed.',
  'ss.loggedOut': 'Du er logget ud af selvbetjeningen.',
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
  'error.payload_too_large': 'The request is larger than the service accepts.',
  'error.csrf_failed': 'The form has expired or did not come from this page. Go back and try again.',
  'error.interaction_expired': 'The login has expired. Go back to the system and start again.',
  'error.saml_request_refused': 'The system you came from sent a login request that cannot be accepted. Go back to the system and start again, or contact IT support.',
  'saml.post.title': 'Sending you back',
  'saml.post.continue': 'Continue',
  'saml.post.explain': 'Press the button if you are not sent on by yourself.',
  'error.service_unavailable': 'The service is temporarily unavailable. Try again shortly.',
  'error.server_error': 'An unexpected error occurred. Try again, or contact IT support.',
  'error.oidc': 'The system you came from sent an invalid request.',
  'error.login_cancelled': 'The login was cancelled or failed. Try again.',
  'error.reference': 'Error reference',
  'skip': 'Skip to content',
  'factor.title': 'Confirm with your 2-factor device',
  'factor.intro': 'The system requires 2-factor authentication.',
  'factor.choose': 'Choose which 2-factor device to use',
  'factor.kind.code_viewer': 'Code viewer',
  'factor.kind.authenticator': 'Authenticator app',
  'factor.kind.desktop': 'Computer',
  'factor.kind.app': 'Phone app',
  'factor.lastUsed': 'Last used',
  'factor.locked': 'Locked',
  'factor.default': 'Default',
  'code.label': 'Code',
  'code.hint.code_viewer': 'Press the button on the code viewer and enter the code it shows.',
  'code.hint.authenticator': 'Open your authenticator app and enter the code it shows.',
  'code.submit': 'Confirm',
  'code.invalid': 'The code is wrong. Enter the code shown now.',
  'code.replayed': 'That code has already been used. Wait for the next code and enter it.',
  'code.malformed': 'Enter the code\'s digits as shown on the screen.',
  'code.locked': 'The device is locked after too many wrong codes. Try again later, or contact IT support.',
  'code.lockedUntil': 'The device is locked after too many wrong codes, until {time}. Use another device, or contact IT support.',
  'code.not_found': 'That device cannot be used. Choose another.',
  'code.otherDevice': 'Use another 2-factor device',
  'wait.intro': 'We have sent a request to {name}. Approve it on the device.',
  'wait.compare': 'The device shows the same code, so you can see it is this request:',
  'wait.number': 'Enter this number on the device:',
  'wait.expires': 'The request is valid until {time} ({left} left).',
  'wait.continueHint': 'Press Continue once you have approved on the device.',
  'wait.continue': 'Continue',
  'wait.sendAgain': 'Send a new request',
  'wait.waiting': 'Waiting for the device to answer …',
  'wait.approved': 'Approved. Taking you on …',
  'wait.answered': 'The device has answered. One moment …',
  'challenge.pending': 'The request is not approved yet. Approve it on the device, then press Continue.',
  'challenge.rejected': 'The request was rejected on the device. Send a new one if that was a mistake.',
  'challenge.expired': 'The request has expired. Send a new one.',
  'challenge.tooMany': 'Too many requests are already waiting on your devices. Approve or reject them, or wait a few minutes.',
  'resync.title': 'Do the codes not match?',
  'resync.intro': 'If the code viewer has drifted out of step, you can resynchronise it: enter two codes in a row.',
  'resync.code1': 'First code',
  'resync.code2': 'Next code',
  'resync.submit': 'Resynchronise',
  'resync.done': 'The device is resynchronised. Wait for a new code and enter it.',
  'resync.failed': 'The two codes did not match. Try again with two codes in a row.',
  'nofactor.title': 'You need a 2-factor device',
  'nofactor.body': 'The system requires 2-factor authentication, but you have no 2-factor device. Add a code viewer or an authenticator app in self-service, or contact IT support.',
  'nofactor.selfservice': 'Go to self-service',
  'nofactor.back': 'Back to the system',
  'ss.title': 'Self-service',
  'ss.devices': 'Your 2-factor devices',
  'ss.none': 'You have no 2-factor devices yet.',
  'ss.addCodeViewer': 'Add a code viewer',
  'ss.addAuthenticator': 'Add an authenticator app',
  'ss.added': 'The device has been added.',
  'ss.makeDefault': 'Make default',
  'ss.defaultSet': 'The device is now your default. It comes first when you log in.',
  'ss.logout': 'Log out of self-service',
  'ss.name': 'Device name',
  'ss.nameHint': 'A name to recognise the device by, e.g. "Code viewer at the office".',
  'ss.serial': 'Serial number',
  'ss.serialHint': 'The 13 digits on the back of the code viewer.',
  'ss.codeNow': 'Code',
  'ss.codeNowHint': 'Press the button on the code viewer and enter the code before it changes.',
  'ss.save': 'Save',
  'ss.continue': 'Continue',
  'ss.cancel': 'Back',
  'ss.nameMissing': 'Give the device a name.',
  'ss.notInStock': 'The code viewer cannot be added. Check the serial number, or contact IT support.',
  'ss.serialLocked': 'The code viewer is locked after too many wrong codes, until {time}. Try again then, or contact IT support.',
  'ss.enrolmentLocked': 'You have entered too many wrong codes and cannot add a device of this kind until {time}. Contact IT support if you need help.',
  'ss.enrolmentExpired': 'Adding the app has expired. Start again and scan the new QR code.',
  'ss.scan': 'Scan the QR code with your authenticator app, or type in the key by hand. Then enter the code the app shows.',
  'ss.qrLabel': 'QR code for the authenticator app',
  'ss.secret': 'Key to type in by hand',
  'ss.accessPass.title': 'Temporary access pass',
  'ss.accessPass.needed': 'You have no 2-factor device yet. To add your first, you need the temporary access pass IT support gave you.',
  'ss.accessPass.enter': 'Enter temporary access pass',
  'ss.accessPass.label': 'Temporary access pass',
  'ss.accessPass.hint': 'The 16 characters IT support gave you, e.g. 7KQ2-M9XD-3HTR-B6WE. Upper or lower case, either will do.',
  'ss.accessPass.invalid': 'The access pass is wrong or has expired. Try again, or ask IT support for a new one.',
  'ss.accessPass.locked': 'The access pass is blocked after too many wrong tries. Ask IT support for a new one.',
  'ss.accessPass.accepted': 'The access pass is accepted. Now add your first 2-factor device.',
  'ss.loggedOut': 'You are logged out of self-service.',
};

const MESSAGES: Readonly<Record<Language, Record<MessageKey, string>>> = { da, en };

/**
 * Translates a key into a language, filling `{name}` placeholders from `values`. Templates make
 * some keys from a factor kind's name (`factor.kind.<name>`); a kind registered without its
 * words shows the key rather than failing the login page.
 */
export function translate(language: Language, key: MessageKey, values: Record<string, string> = {}): string {
  return (MESSAGES[language][key] ?? key).replace(/\{(\w+)\}/g, (whole, name: string) => values[name] ?? whole);
}

/** A time of day as employees read a clock in Denmark (`14:05`), whatever the server's zone. */
export function clockTime(language: Language, date: Date): string {
  return date.toLocaleTimeString(language === 'da' ? 'da-DK' : 'en-GB', { hour: '2-digit', minute: '2-digit', timeZone: 'Europe/Copenhagen' });
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
