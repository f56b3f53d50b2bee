import { randomBytes } from 'node:crypto';

import { generateSync, ScureBase32Plugin } from 'otplib';

import type { TotpToken } from '../../src/factors/totp/index.ts';
import { createTotpFactors, type TotpFactors } from '../../src/factors/totp-factors.ts';
import type { Storage } from '../../src/store/index.ts';

/** A controllable clock for TOTP and expiry: starts 7 s into a time step, moves when told. */
export class TestClock {
  ms: number;

  constructor(startMs = 1_800_000_000_000 + 7000) {
    this.ms = startMs;
  }

  now = (): number => this.ms;

  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }

  /** The current 30-second time step. */
  step(period = 30): number {
    return Math.floor(this.ms / 1000 / period);
  }
}

/**
 * A clock for one suite that starts at the wall clock when the suite starts (a `before` hook),
 * not when mocha loads the file: in a full run that is minutes earlier, and whatever meets the
 * IdP's clock from outside (a device's signed timestamps, node-saml's instants) would be stale.
 * Call it in the `describe` body before the hooks that start the IdP.
 */
export function suiteClock(): TestClock {
  const clock = new TestClock();
  before(() => {
    clock.ms = Date.now();
  });
  return clock;
}

/** A code viewer as a vendor file would describe it: a 13-digit serial and a random seed. */
export function makeCodeViewer(serial = `5${randomBytes(6).readUIntBE(0, 6).toString().padStart(12, '0').slice(0, 12)}`): TotpToken & { serial: string } {
  return { serial, secret: randomBytes(20), algorithm: 'SHA1', digits: 6, period: 30 };
}

/** The code a token shows in a time step (what the employee reads off the screen). */
export function codeAt(token: TotpToken, step: number): string {
  return generateSync({
    secret: token.secret,
    algorithm: token.algorithm === 'SHA1' ? 'sha1' : token.algorithm === 'SHA256' ? 'sha256' : 'sha512',
    digits: token.digits,
    period: token.period,
    epoch: step * token.period,
  });
}

/** The secret of an otpauth URI or base32 text, as an app would read it. */
export function secretFromBase32(text: string): Uint8Array {
  return new ScureBase32Plugin().decode(text);
}

/** The TOTP factor service on a store, with the default windows and limits and the given clock. */
export function factorsOn(storage: Pick<Storage, 'totpTokens' | 'audit'>, now: () => number): TotpFactors {
  return createTotpFactors({
    tokens: storage.totpTokens,
    audit: storage.audit,
    windows: { verify: 2, bind: 10, resync: 60 },
    limits: { maxFailures: 5, baseSeconds: 300, maxSeconds: 86400 },
    now,
  });
}
