/**
 * The PIN rule (issue "Step 4"; shared contract, "PIN rules"): a desktop client's PIN is exactly
 * 4 digits and an app's exactly 6, and a PIN anyone would try first is refused: all digits the
 * same (0000, 777777), or a straight run up or down by one (1234, 4321, 012345, 987654). There is
 * no wrap-around: 7890 and 0987 are allowed. NIST SP 800-63B §5.1.1.2 asks verifiers to refuse
 * such values; the PIN only counts together with the device's key, and 5 wrong PINs lock it.
 */
import type { DeviceKind } from '../store/devices.ts';

/** How many digits a PIN of each kind of device has. */
export const PIN_LENGTH: Readonly<Record<DeviceKind, number>> = { desktop: 4, app: 6 };

/** Why a PIN is refused. */
export type PinRefusal = 'not_digits' | 'wrong_length' | 'same_digits' | 'sequence';

export type PinRuleResult = { ok: true } | { ok: false; reason: PinRefusal; message: string };

const MESSAGES: Readonly<Record<PinRefusal, (length: number) => string>> = {
  not_digits: () => 'the PIN must be digits only',
  wrong_length: (length) => `the PIN must be exactly ${length} digits`,
  same_digits: () => 'the PIN must not be one digit repeated',
  sequence: () => 'the PIN must not run straight up or down (1234, 4321)',
};

/** Whether each digit is one more (step 1) or one less (step -1) than the one before. */
function runs(digits: number[], step: 1 | -1): boolean {
  return digits.every((digit, i) => i === 0 || digit - (digits[i - 1] as number) === step);
}

/** Whether `pin` may be chosen for a device of `kind`. */
export function checkPinRule(options: { pin: string; kind: DeviceKind }): PinRuleResult {
  const { pin, kind } = options;
  const length = PIN_LENGTH[kind];
  const refuse = (reason: PinRefusal): PinRuleResult => ({ ok: false, reason, message: MESSAGES[reason](length) });
  if (!/^[0-9]*$/.test(pin)) return refuse('not_digits');
  if (pin.length !== length) return refuse('wrong_length');
  const digits = [...pin].map(Number);
  if (digits.every((digit) => digit === digits[0])) return refuse('same_digits');
  if (runs(digits, 1) || runs(digits, -1)) return refuse('sequence');
  return { ok: true };
}
