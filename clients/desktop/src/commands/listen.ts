import { EventEmitter, on } from 'node:events';

import { ApiError, ClientError } from '../errors.ts';
import { watchChallenges, type ChallengeEvent } from '../events.ts';
import { openDevice, type CommandContext, type Device } from './context.ts';

/**
 * `listen`: holds the event stream and puts each challenge to the person, one at a time: which
 * system, its code, the time left, then the PIN (and in number-matching mode the number the
 * browser shows). An empty answer rejects. Runs until Ctrl-C, or until the server closes the
 * stream (revoked, locked, unregistered), which fails the command.
 */
export async function listen(context: CommandContext): Promise<{ stopped: string }> {
  const device = await openDevice(context.stateFile);
  // Challenges queue here while the person answers an earlier one; the server repeats pending
  // ones after every reconnect, so each is put to the person once.
  const queue = new EventEmitter();
  const seen = new Set<string>();
  const stop = new AbortController();
  let end = 'aborted';
  const watching = watchChallenges({
    api: device.api,
    identity: device.identity,
    signal: AbortSignal.any([context.signal, stop.signal]),
    onChallenge: (event) => {
      if (seen.has(event.challengeId)) return;
      seen.add(event.challengeId);
      queue.emit('challenge', event);
    },
    onNotice: context.out.notice,
  }).then((reason) => {
    end = reason;
    queue.emit('end');
  }, (error: unknown) => queue.emit('error', error));

  context.out.line(`Waiting for logins of ${device.state.userName ?? 'this device'} to approve on "${device.state.name}" (Ctrl-C stops).`);
  try {
    for await (const [event] of on(queue, 'challenge', { close: ['end'] }) as AsyncIterable<[ChallengeEvent]>) {
      await putToPerson(device, event, context);
    }
  } catch (error) {
    // Ctrl-C at a question ends listening as Ctrl-C anywhere else does.
    if (!(error instanceof ClientError && error.code === 'cancelled')) throw error;
  } finally {
    stop.abort();
    await watching;
  }
  if (end !== 'aborted') throw new ClientError('closed', `the server closed the event stream: the device is ${end}`);
  return { stopped: end };
}

/** One challenge: shown, answered, and asked again after a wrong PIN or number while tries are left. */
async function putToPerson(device: Device, event: ChallengeEvent, context: CommandContext): Promise<void> {
  const { api, identity } = device;
  const { out, prompter } = context;
  try {
    const challenge = await api.challenge(identity, event.challengeId);
    const left = Date.parse(challenge.expiresAt) - Date.now();
    const what = `the login to ${challenge.clientName} (code ${challenge.code})`;
    if (challenge.status !== 'pending' || left <= 0) {
      out.notice(`${what} is no longer waiting (${challenge.status === 'pending' ? 'expired' : challenge.status})`);
      return;
    }
    out.line(`\nLogin to ${challenge.clientName}: code ${challenge.code}, ${minutesAndSeconds(left)} left. Check that the browser shows the same code.`);
    for (;;) {
      const number = challenge.numberMatching ? await prompter.ask('Number shown in the browser (empty rejects): ') : undefined;
      const pin = number === '' ? '' : await prompter.ask('PIN to approve (empty rejects): ', { secret: true });
      if (pin === '') {
        await api.reject(identity, challenge.id);
        out.line(`Rejected ${what}.`);
        return;
      }
      try {
        await api.approve(identity, challenge.id, { pin, ...(number !== undefined && { number }) });
        out.line(`Approved ${what}.`);
        return;
      } catch (error) {
        if (!(error instanceof ApiError && (error.code === 'wrong_pin' || error.code === 'wrong_number'))) throw error;
        out.line(`${error.serverMessage} (${error.triesLeft ?? 'no'} ${error.triesLeft === 1 ? 'try' : 'tries'} left)`);
      }
    }
  } catch (error) {
    // The challenge expired, was answered elsewhere, or the device was locked: say so and wait
    // for the next one. The stream itself tells when the device can no longer be used.
    if (!(error instanceof ClientError) || error.code === 'cancelled') throw error;
    out.line(`Could not answer: ${error.message}`);
  }
}

function minutesAndSeconds(milliseconds: number): string {
  const seconds = Math.floor(milliseconds / 1000);
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}
