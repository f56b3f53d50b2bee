import type { TotpKind } from '../store/totp-tokens.ts';

/** The kinds of second factor a user can have. Device PIN, push and security keys join later. */
export type FactorKind = TotpKind;

/** A second factor as the chooser shows it. */
export interface SecondFactor {
  id: string;
  kind: FactorKind;
  name: string;
  lastUsedAt: Date | null;
  /** Set while the factor is locked after wrong codes. */
  lockedUntil: Date | null;
}

/**
 * The authentication method references (RFC 8176 §2) a kind proves: any code is `otp`, and a
 * code viewer is also a hardware key (`hwk`). ARCHITECTURE.md keeps `swk` for the device client.
 */
export function amrOfKind(kind: FactorKind): string[] {
  return kind === 'code_viewer' ? ['otp', 'hwk'] : ['otp'];
}
