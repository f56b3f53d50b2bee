import type { Knex } from 'knex';

import { normaliseUsername } from './username.ts';

/** An employee who logs in here. `id` is the OIDC `sub`: stable and opaque. */
export interface User {
  id: string;
  username: string;
  displayName: string | null;
  email: string | null;
  status: 'active' | 'locked';
  passwordHash: string | null;
  createdAt: Date;
}

interface UserRow {
  id: string;
  username: string;
  username_normalised: string;
  display_name: string | null;
  email: string | null;
  status: 'active' | 'locked';
  password_hash: string | null;
  default_factor_id: string | null;
  created_at: Date;
  updated_at: Date | Knex.Raw;
}

/** Thrown when a username is already taken (in any letter case or width: see `normaliseUsername`). */
export class UsernameTakenError extends Error {
  constructor(username: string) {
    super(`the username "${username}" is taken`);
    this.name = 'UsernameTakenError';
  }
}

export interface UserRepository {
  add(input: { username: string; displayName?: string | null; email?: string | null; passwordHash?: string | null }, trx?: Knex.Transaction): Promise<User>;
  /** Finds a user by username as {@link normaliseUsername} compares them (letter case, width, composition). */
  findByUsername(username: string): Promise<User | undefined>;
  findById(id: string): Promise<User | undefined>;
  /** Every user, or those of one status, by username. */
  list(filter?: { status?: User['status'] }): Promise<User[]>;
  setStatus(id: string, status: User['status'], trx?: Knex.Transaction): Promise<void>;
  setPasswordHash(id: string, passwordHash: string, trx?: Knex.Transaction): Promise<void>;
  /**
   * The id of the second factor the user chose as their default, or null. It may name a factor
   * that is gone (factors live in two tables, so there is no foreign key): check it against theirs.
   */
  defaultFactorId(userId: string): Promise<string | null>;
  /** Makes `factorId` the user's default second factor; null clears it. The caller checks the factor is theirs. */
  setDefaultFactor(userId: string, factorId: string | null): Promise<void>;
  /** Clears the user's default second factor if it is `factorId` (which they just deleted); a newer choice stays. */
  clearDefaultFactor(userId: string, factorId: string): Promise<void>;
  /** The stored digest of one of the user's attributes (`user_attributes`), or undefined. */
  attributeDigest(userId: string, name: string): Promise<string | undefined>;
  /** Stores the digest of an attribute, replacing the one before; true if there was one. */
  setAttributeDigest(userId: string, name: string, digest: string, trx?: Knex.Transaction): Promise<boolean>;
  count(): Promise<number>;
}

const toUser = (row: UserRow): User => ({
  id: row.id,
  username: row.username,
  displayName: row.display_name,
  email: row.email,
  status: row.status,
  passwordHash: row.password_hash,
  createdAt: row.created_at,
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A {@link UserRepository} on the `users` table. */
export function createUserRepository(db: Knex): UserRepository {
  const users = (trx?: Knex.Transaction) => (trx ?? db)<UserRow>('users');
  return {
    async add(input, trx) {
      try {
        const [row] = (await users(trx)
          .insert({
            username: input.username,
            username_normalised: normaliseUsername(input.username),
            display_name: input.displayName ?? null,
            email: input.email ?? null,
            password_hash: input.passwordHash ?? null,
          })
          .returning('*')) as UserRow[];
        return toUser(row as UserRow);
      } catch (error) {
        if ((error as { code?: string }).code === '23505') throw new UsernameTakenError(input.username);
        throw error;
      }
    },
    async findByUsername(username) {
      const row = (await users().where({ username_normalised: normaliseUsername(username) }).first()) as UserRow | undefined;
      return row && toUser(row);
    },
    async list(filter = {}) {
      const query = users().orderBy('username_normalised');
      if (filter.status) query.where({ status: filter.status });
      return ((await query) as UserRow[]).map(toUser);
    },
    async findById(id) {
      if (!UUID.test(id)) return undefined;
      const row = (await users().where({ id }).first()) as UserRow | undefined;
      return row && toUser(row);
    },
    async setStatus(id, status, trx) {
      await users(trx).where({ id }).update({ status, updated_at: db.fn.now() });
    },
    async setPasswordHash(id, passwordHash, trx) {
      await users(trx).where({ id }).update({ password_hash: passwordHash, updated_at: db.fn.now() });
    },
    async defaultFactorId(userId) {
      if (!UUID.test(userId)) return null;
      const row = (await users().where({ id: userId }).first('default_factor_id')) as Pick<UserRow, 'default_factor_id'> | undefined;
      return row?.default_factor_id ?? null;
    },
    async setDefaultFactor(userId, factorId) {
      await users().where({ id: userId }).update({ default_factor_id: factorId, updated_at: db.fn.now() });
    },
    async clearDefaultFactor(userId, factorId) {
      await users().where({ id: userId, default_factor_id: factorId }).update({ default_factor_id: null, updated_at: db.fn.now() });
    },
    async attributeDigest(userId, name) {
      if (!UUID.test(userId)) return undefined;
      const row = (await db('user_attributes').where({ user_id: userId, name }).first('value_digest')) as { value_digest: string } | undefined;
      return row?.value_digest;
    },
    async setAttributeDigest(userId, name, digest, trx) {
      const attributes = () => (trx ?? db)('user_attributes');
      const existed = (await attributes().where({ user_id: userId, name }).first('name')) !== undefined;
      await attributes()
        .insert({ user_id: userId, name, value_digest: digest })
        .onConflict(['user_id', 'name'])
        .merge({ value_digest: digest, updated_at: db.fn.now() });
      return existed;
    },
    async count() {
      const [{ count }] = (await db('users').count({ count: '*' })) as [{ count: string | number }];
      return Number(count);
    },
  };
}
