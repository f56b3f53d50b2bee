import { createHmac } from 'node:crypto';

import { normaliseUsername } from '../store/username.ts';

/**
 * What stands for a typed name that matches no user, in the audit log and the lockout counters:
 * HMAC-SHA256 under a key derived from `SECRET_KEY` (purpose `audit-username`) of the normalised
 * name. People type passwords into the username field; a keyed hash lets IT see that one name
 * was tried again and again, and, knowing a name, find its attempts, but never read what was
 * typed, and without the key not even guess it from a list of words.
 */
export function usernameDigest(key: Buffer, username: string): string {
  return createHmac('sha256', key).update(normaliseUsername(username)).digest('base64url');
}
