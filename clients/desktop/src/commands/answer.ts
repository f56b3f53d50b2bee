import type { Challenge } from '../api.ts';
import { ClientError } from '../errors.ts';
import { watchChallenges, type ChallengeEvent } from '../events.ts';
import { openDevice, readPin, type CommandContext, type Device } from './context.ts';

/** What `approve --next` / `reject --next` were asked to do. */
export interface AnswerOptions {
  action: 'approve' | 'reject';
  /** Approve only: read the PIN from stdin instead of the terminal. */
  pinStdin?: boolean;
  /** Approve only, number matching: the number the browser shows. */
  number?: string;
  /** Give up when no challenge comes within this many seconds; undefined waits as long as it takes. */
  timeoutSeconds?: number;
}

/** The result under `--json`. */
export interface Answered {
  status: 'approved' | 'rejected';
  challengeId: string;
  clientName: string;
  code: string;
}

/**
 * `approve --next` and `reject --next`, for scripts and tests: the PIN is read first (a script's
 * stdin or a person's typing, before anything waits), then the oldest pending challenge, or the
 * next to arrive, is answered without a question.
 */
export async function answerNext(options: AnswerOptions, context: CommandContext): Promise<Answered> {
  const device = await openDevice(context.stateFile);
  const pin = options.action === 'approve' ? await readPin(context, { fromStdin: options.pinStdin === true, question: 'PIN to approve the next login: ' }) : undefined;

  const event = await nextChallenge(context, device, options.timeoutSeconds);
  const challenge: Challenge = await device.api.challenge(device.identity, event.challengeId);
  const what = `the login to ${challenge.clientName} (code ${challenge.code})`;
  if (pin === undefined) {
    await device.api.reject(device.identity, challenge.id);
    context.out.line(`Rejected ${what}.`);
  } else {
    await device.api.approve(device.identity, challenge.id, { pin, ...(options.number !== undefined && { number: options.number }) });
    context.out.line(`Approved ${what}.`);
  }
  return { status: pin === undefined ? 'rejected' : 'approved', challengeId: challenge.id, clientName: challenge.clientName, code: challenge.code };
}

/** Holds the event stream until the first challenge, the timeout, Ctrl-C, or the server closing it. */
async function nextChallenge(context: CommandContext, device: Device, timeoutSeconds: number | undefined): Promise<ChallengeEvent> {
  const stop = new AbortController();
  const signals = [context.signal, stop.signal];
  if (timeoutSeconds !== undefined) signals.push(AbortSignal.timeout(timeoutSeconds * 1000));
  let first: ChallengeEvent | undefined;
  const end = await watchChallenges({
    api: device.api,
    identity: device.identity,
    signal: AbortSignal.any(signals),
    onChallenge: (event) => {
      first ??= event;
      stop.abort();
    },
    onNotice: context.out.notice,
  });
  if (first) return first;
  if (context.signal.aborted) throw new ClientError('cancelled', 'cancelled while waiting for a challenge');
  if (end === 'aborted') throw new ClientError('timeout', `no challenge came within ${timeoutSeconds} s`);
  throw new ClientError('closed', `the server closed the event stream: the device is ${end}`);
}
