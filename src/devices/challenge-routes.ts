/**
 * The device API's challenge routes (shared contract of step 4), added to the device router
 * through its `extensions` with the same steps as every other signed call:
 *
 * | route                          | steps                                                                  |
 * | ------------------------------ | ---------------------------------------------------------------------- |
 * | GET  challenges                | readRawBody, signedBy(active), listChallenges                          |
 * | GET  challenges/{id}           | readRawBody, signedBy(active), readChallenge                           |
 * | POST challenges/{id}/approve   | readRawBody, signedBy(active), jsonBody(ApproveRequest), approve       |
 * | POST challenges/{id}/reject    | readRawBody, signedBy(active), jsonBody(RejectRequest), reject         |
 *
 * A locked device is refused by `signedBy` (`423 device_locked`) before any challenge is read.
 */
import type Router from '@koa/router';
import type { Context } from 'koa';

import type { ChallengeRecord, ChallengeStatus } from '../factors/device/challenge-rules.ts';
import type { AnswerFailure, ChallengeAnswers } from '../factors/device/answers.ts';
import { IdpError } from '../http/errors.ts';
import type { DeviceRecord } from '../store/devices.ts';
import type { ChallengeAnnouncement } from './events.ts';
import { actContext, bodyOf, signingDevice, type DeviceApiSteps } from './router.ts';

/** A challenge as the device API describes it (`Challenge` in the OpenAPI document): never the number. */
export function challengeView(challenge: ChallengeRecord, status: ChallengeStatus) {
  return {
    id: challenge.id,
    clientName: challenge.clientName,
    code: challenge.code,
    numberMatching: challenge.number !== undefined,
    createdAt: new Date(challenge.createdAt).toISOString(),
    expiresAt: new Date(challenge.expiresAt).toISOString(),
    status,
  };
}

/** A device's waiting challenges as its event stream announces them when it (re)connects. */
export function pendingAnnouncements(answers: Pick<ChallengeAnswers, 'pending'>): (device: DeviceRecord) => Promise<ChallengeAnnouncement[]> {
  return async (device) => (await answers.pending(device)).map((challenge) => ({
    type: 'challenge',
    challengeId: challenge.id,
    expiresAt: new Date(challenge.expiresAt).toISOString(),
  }));
}

/** The contract's error for each refused answer. */
function answerError(failure: AnswerFailure): IdpError {
  switch (failure.reason) {
    case 'not_found':
      return new IdpError('not_found', { explanation: 'There is no such request for this device.' });
    case 'expired':
      return new IdpError('challenge_expired');
    case 'closed':
      return new IdpError('challenge_closed');
    case 'wrong_pin':
      return new IdpError('wrong_pin', { fields: { triesLeft: failure.triesLeft } });
    case 'wrong_number':
      // A wrong number rejects the request outright (answers.ts): no try is left on it. The
      // PIN was not checked, so the device's PIN count is unchanged.
      return new IdpError('wrong_number', { explanation: 'The number is wrong; the request is rejected. Start the login again.', fields: { triesLeft: 0 } });
    case 'locked':
      return new IdpError('device_locked', { fields: { lockedUntil: failure.lockedUntil.toISOString() } });
    case 'unusable':
      // Revoked between the signature check and the PIN check.
      return new IdpError('device_revoked');
  }
}

/** Adds the challenge routes to the device router; `answers` is built over the device service's `checkPin`. */
export function challengeRoutes(deps: { answers: ChallengeAnswers }): (router: Router, steps: DeviceApiSteps) => void {
  const { answers } = deps;

  async function listChallenges(ctx: Context) {
    const pending = await answers.pending(signingDevice(ctx));
    ctx.body = { challenges: pending.map((challenge) => challengeView(challenge, 'pending')) };
  }

  async function readChallenge(ctx: Context) {
    const found = await answers.read(signingDevice(ctx), ctx.params.id as string);
    if (!found) throw answerError({ reason: 'not_found' });
    ctx.body = challengeView(found.challenge, found.status);
  }

  async function approve(ctx: Context) {
    const device = signingDevice(ctx);
    const { pin, number } = bodyOf(ctx, 'ApproveRequest');
    const result = await answers.approve({ device, challengeId: ctx.params.id as string, pin, number, context: actContext(ctx, `device:${device.id}`) });
    if (!result.ok) throw answerError(result);
    ctx.body = { status: 'approved' };
  }

  async function reject(ctx: Context) {
    const device = signingDevice(ctx);
    const result = await answers.reject({ device, challengeId: ctx.params.id as string, context: actContext(ctx, `device:${device.id}`) });
    if (!result.ok) throw answerError(result);
    ctx.body = { status: 'rejected' };
  }

  return (router, { readRawBody, signedBy, jsonBody }) => {
    router.get('/challenges', readRawBody, signedBy(['active']), listChallenges);
    router.get('/challenges/:id', readRawBody, signedBy(['active']), readChallenge);
    router.post('/challenges/:id/approve', readRawBody, signedBy(['active']), jsonBody('ApproveRequest'), approve);
    router.post('/challenges/:id/reject', readRawBody, signedBy(['active']), jsonBody('RejectRequest'), reject);
  };
}
