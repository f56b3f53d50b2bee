import { createHmac } from 'node:crypto';

import type { Knex } from 'knex';

import type { User, UserRepository } from '../store/users.ts';

/** The attribute that is the employee's e-mail address (`users.email`), not one of `user_attributes`. */
export const EMAIL_ATTRIBUTE = 'email';

/** The employee attributes an upstream's claim is compared with, kept as keyed digests only. */
export interface UserAttributes {
  /** The digest of `value` as the attribute `name`: what is stored, and what a claim is compared as. */
  digest(name: string, value: string): Buffer;
  /** The digest of the employee's attribute `name`, or undefined when they have none. */
  expected(user: User, name: string): Promise<Buffer | undefined>;
  /** Stores the employee's attribute `name` (never `email`) as its digest; true if it replaced one. */
  set(input: { userId: string; name: string; value: string }, trx?: Knex.Transaction): Promise<boolean>;
}

/**
 * Attributes as HMAC-SHA256 digests under a key derived from `SECRET_KEY` (`user-attribute`):
 * a CPR-derived value is never stored, and without the key the digests cannot be searched for a
 * known number. Values are compared in Unicode NFC; an e-mail address without regard to letter
 * case, as mail systems in use treat it, so `Anna@Viborg.dk` at the upstream is `anna@viborg.dk` here.
 */
export function createUserAttributes(deps: { users: Pick<UserRepository, 'attributeDigest' | 'setAttributeDigest'>; key: Buffer }): UserAttributes {
  const digest = (name: string, value: string) => {
    const normalised = name === EMAIL_ATTRIBUTE ? value.normalize('NFC').toLowerCase() : value.normalize('NFC');
    return createHmac('sha256', deps.key).update(`${name}\0${normalised}`).digest();
  };
  return {
    digest,
    async expected(user, name) {
      if (name === EMAIL_ATTRIBUTE) return user.email ? digest(name, user.email) : undefined;
      const stored = await deps.users.attributeDigest(user.id, name);
      return stored === undefined ? undefined : Buffer.from(stored, 'base64url');
    },
    set({ userId, name, value }, trx) {
      if (name === EMAIL_ATTRIBUTE) throw new Error('email is the user\'s e-mail address, not a stored attribute');
      return deps.users.setAttributeDigest(userId, name, digest(name, value).toString('base64url'), trx);
    },
  };
}
