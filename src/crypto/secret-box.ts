import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const VERSION = 'v1';

/**
 * Encrypts secrets at rest with AES-256-GCM. `context` is bound as additional authenticated
 * data, so a ciphertext moved to another row or column (a seed pasted onto another token, a
 * key's private part onto another kid) fails to open.
 */
export interface SecretBox {
  seal(plaintext: Uint8Array | string, context: string): string;
  open(sealed: string, context: string): Buffer;
}

/**
 * A sealed secret did not open: it was sealed under another key (another `SECRET_KEY`), or it
 * was altered. GCM cannot tell the two apart, and either way nothing in it can be used.
 */
export class SealedSecretError extends Error {
  constructor() {
    super('a sealed secret does not open with this key: it was sealed with another SECRET_KEY, or altered');
    this.name = 'SealedSecretError';
  }
}

/** A {@link SecretBox} with the given 32-byte key (derive it with `deriveKey(…, 'at-rest')`). */
export function createSecretBox(key: Buffer): SecretBox {
  if (key.length !== 32) throw new TypeError('secret box key must be 32 bytes');
  return {
    seal(plaintext, context) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(context));
      const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
      return [VERSION, iv, body, cipher.getAuthTag()].map((part) =>
        typeof part === 'string' ? part : part.toString('base64url')).join('.');
    },
    open(sealed, context) {
      const [version, iv, body, tag] = sealed.split('.');
      if (version !== VERSION || !iv || body === undefined || !tag) throw new Error('not a sealed secret');
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(context));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      const opened = decipher.update(Buffer.from(body, 'base64url'));
      try {
        return Buffer.concat([opened, decipher.final()]);
      } catch {
        throw new SealedSecretError();
      }
    },
  };
}
