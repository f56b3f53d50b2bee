import { ATTRIBUTE_NAME } from '../config/index.ts';
import { EMAIL_ATTRIBUTE } from '../identity/attributes.ts';
import { CliError } from './errors.ts';

/**
 * The rules for what an operator types, as pure functions. Each returns the value to store or
 * throws a {@link CliError} (`invalid_input`) that names the argument and says what is allowed.
 */

const invalid = (message: string): never => {
  throw new CliError('invalid_input', message);
};

/** Letters that would make two usernames look alike or hide part of one: spaces, controls, format characters (zero-width, bidi). */
const UNSEEN = /[\s\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

/** A username: 1–64 characters, none of them whitespace, control or invisible format characters. */
export function checkUsername(username: string): string {
  const length = [...username].length;
  if (length < 1 || length > 64) invalid(`username must be 1 to 64 characters, got ${length}`);
  if (UNSEEN.test(username)) invalid('username must not contain spaces, control or invisible characters');
  return username;
}

/** A display name (`--name`): 1–200 characters without control characters; surrounding spaces are trimmed. */
export function checkDisplayName(name: string, option = '--name'): string {
  const trimmed = name.trim();
  const length = [...trimmed].length;
  if (length < 1 || length > 200) invalid(`${option} must be 1 to 200 characters`);
  if (/[\p{Cc}\p{Zl}\p{Zp}]/u.test(trimmed)) invalid(`${option} must not contain control characters or line breaks`);
  return trimmed;
}

/**
 * The shape of a "valid e-mail address" in the HTML Living Standard (§4.10.5.1.5), the same rule
 * oidc-provider applies to `contacts`; at most 254 characters (RFC 5321 §4.5.3.1.3).
 */
const EMAIL = /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

/** An e-mail address (`--email`). */
export function checkEmail(email: string): string {
  if (email.length > 254 || !EMAIL.test(email)) invalid(`--email "${printable(email)}" is not an e-mail address`);
  return email;
}

/**
 * The name of an employee attribute (`user set-attribute`), as `IDENTITY_USER_ATTRIBUTE` names
 * it. Not `email`: that is the user's e-mail address, set with `--email`.
 */
export function checkAttributeName(name: string): string {
  if (name === EMAIL_ATTRIBUTE) invalid('email is the user\'s e-mail address (--email), not an attribute to set');
  if (!ATTRIBUTE_NAME.test(name)) invalid(`the attribute name must be a letter, then up to 63 letters, digits, '.', '_' or '-', got "${printable(name)}"`);
  return name;
}

/**
 * An attribute's value read from stdin: not empty, without control characters or surrounding
 * spaces, which no upstream claim would carry and which would only make it never match.
 */
export function checkAttributeValue(value: string): string {
  if (value.length === 0) invalid('the value on stdin is empty');
  if (/[\p{Cc}]/u.test(value) || value.trim() !== value) invalid('the value on stdin must not contain control characters or begin or end with a space');
  return value;
}

/** A password read from stdin: not empty (length is the only rule here; argon2id takes any bytes). */
export function checkPassword(password: string): string {
  if (password.length === 0) invalid('the password on stdin is empty');
  return password;
}

/**
 * A client_id: 1–128 visible ASCII characters. It appears in URLs, in HTTP Basic credentials
 * (RFC 6749 §2.3.1 form-encodes it) and in the audit log, so nothing that needs escaping to read.
 */
export function checkClientId(clientId: string): string {
  if (!/^[\x21-\x7e]{1,128}$/.test(clientId)) invalid(`client_id must be 1 to 128 visible ASCII characters (no spaces), got "${printable(clientId)}"`);
  return clientId;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * A redirect URI: absolute, https, without a fragment (RFC 6749 §3.1.2); plain http only to a
 * loopback host, for development and native apps (RFC 8252 §7.3). Stored exactly as given,
 * because oidc-provider compares redirect URIs as strings.
 */
export function checkRedirectUri(uri: string, option = '--redirect-uri'): string {
  // The WHATWG parser drops tabs and line breaks silently; the stored string must be the URL.
  if (/[\s\p{Cc}]/u.test(uri)) invalid(`${option} "${printable(uri)}" must not contain spaces or control characters`);
  const url = URL.parse(uri);
  if (!url) return invalid(`${option} "${printable(uri)}" is not an absolute URL`);
  if (uri.includes('#')) invalid(`${option} "${printable(uri)}" must not have a fragment (#…)`);
  if (url.username || url.password) invalid(`${option} "${printable(uri)}" must not carry a user name or password`);
  if (url.protocol === 'http:' && !LOOPBACK_HOSTS.has(url.hostname)) {
    invalid(`${option} "${printable(uri)}" must use https (plain http only for localhost or 127.0.0.1)`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') invalid(`${option} "${printable(uri)}" must be an https URL`);
  return uri;
}

/** The shortest client secret accepted from `--secret`: a generated one is 43 characters (32 bytes). */
export const MIN_SECRET_LENGTH = 32;

/** A client secret given with `--secret`. */
export function checkClientSecret(secret: string): string {
  if (secret.length < MIN_SECRET_LENGTH) invalid(`--secret must be at least ${MIN_SECRET_LENGTH} characters (leave it out to have one generated)`);
  if (/[\s\p{Cc}]/u.test(secret)) invalid('--secret must not contain spaces or control characters');
  return secret;
}

/** One of a fixed list of values, with a message that lists them. */
export function checkOneOf<T extends string>(value: string, allowed: readonly T[], option: string): T {
  if (!(allowed as readonly string[]).includes(value)) {
    const choices = allowed.length > 2 ? `one of ${allowed.join(', ')}` : allowed.join(' or ');
    invalid(`${option} must be ${choices}, got "${printable(value)}"`);
  }
  return value as T;
}

/** A value fit to echo on one line: control characters shown as escapes, values over `max` cut. */
export function printable(value: string, max = 120): string {
  // eslint-disable-next-line no-control-regex -- escaping exactly these is the point
  const escaped = value.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return escaped.length > max ? `${escaped.slice(0, max - 3)}...` : escaped;
}
