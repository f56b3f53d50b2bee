import Router from '@koa/router';
import type { Context, Next } from 'koa';

import type { PasswordLogin } from '../auth/password-login.ts';
import type { SessionAuthentication } from '../auth/step-up.ts';
import type { ActContext, Challenge, ChallengeState, FactorFlow, FactorKind, FactorRegistry, FactorStart, ListedFactor, SecondFactor } from '../factors/factor.ts';
import { requestState } from '../http/context.ts';
import type { Csrf } from '../http/csrf.ts';
import { IdpError } from '../http/errors.ts';
import { openEventStream } from '../http/event-stream.ts';
import { checkFormToken, formField, formParser } from '../http/form.ts';
import { clockTime, translate, type MessageKey } from '../http/i18n.ts';
import type { Renderer } from '../http/render.ts';
import type { SsoSessions } from '../sessions/sso-sessions.ts';
import type { AuthenticationStore } from '../store/authentications.ts';
import type { Flow, FlowProtocol, FlowRegistry } from './flow.ts';
import { factorRefusal, timeLeft } from './messages.ts';
import { flowProgress, loginOutcome } from './progress.ts';

export interface InteractionDeps {
  flows: FlowRegistry;
  passwordLogin: PasswordLogin;
  /** The second-factor kinds on offer; the chooser, the flow and the answers dispatch on them. */
  factors: FactorRegistry;
  /** What each login in progress has proven so far. */
  authentications: AuthenticationStore;
  /** The SSO session: read when a flow loads, written when a login finishes. */
  sessions: SsoSessions;
  csrf: Csrf;
  render: Renderer;
  /** Path prefix when mounted (`/idp`), for form actions and links. */
  basePath: string;
  /** The clock, epoch ms. */
  now: () => number;
  /** How long what a login has proven so far is kept (the interaction's lifetime), seconds. */
  flowTtlSeconds: number;
  /** Heartbeat interval of the waiting page's event stream, ms. Defaults to 15 s. */
  heartbeatMs?: number;
}

/** The login a request belongs to, under `ctx.state.interaction` (set by `loadFlow`). */
interface Interaction {
  flow: Flow;
  protocol: FlowProtocol;
  /** What the browser's SSO session had proven when the request came. */
  session: SessionAuthentication | undefined;
  /** What this login has proven so far, beside the session. */
  proven: SessionAuthentication | undefined;
}

const interaction = (ctx: Context) => (ctx.state as { interaction: Interaction }).interaction;

/** A posted answer's factor: the user's own, with its kind and the user's other factors. */
interface PostedFactor {
  accountId: string;
  factor: SecondFactor;
  kind: FactorKind;
  factors: SecondFactor[];
}

/** What the code page shows beside the factor. */
interface CodePageExtra {
  error?: string;
  notice?: string;
  /** After a wrong code, for a kind that can resynchronise. */
  offerResync?: boolean;
}

/** What the waiting page shows beside the factor: the challenge while it waits, and why not. */
interface WaitPageExtra {
  challenge?: Challenge | undefined;
  error?: string;
  notice?: string;
}

/**
 * The login pages (ARCHITECTURE.md, "A login, step by step", 2–5): password, the second-factor
 * chooser, the code page or the waiting page of the chosen factor's kind, and the page for a
 * user without a second factor. Each route loads the flow, checks the form, acts, and hands
 * over to `continueFlow`, which asks for whatever is still missing or finishes. Nothing here
 * knows OIDC or SAML, nor any one kind of second factor.
 */
export function createInteractionRouter(deps: InteractionDeps): Router {
  const router = new Router();
  const forms = formParser();
  const nowSeconds = () => Math.floor(deps.now() / 1000);
  const text = (ctx: Context, key: MessageKey, values?: Record<string, string>) => translate(requestState(ctx).language, key, values);
  const paths = (flow: Flow) => {
    const base = `${deps.basePath}/interaction/${flow.uid}`;
    return {
      base,
      login: `${base}/login`,
      code: `${base}/code`,
      challenge: `${base}/challenge`,
      webauthn: `${base}/webauthn`,
      challengeEvents: (challengeId: string, factorId: string) => `${base}/challenge/${encodeURIComponent(challengeId)}/events?factor=${encodeURIComponent(factorId)}`,
      resync: `${base}/resync`,
      cancel: `${base}/cancel`,
      choose: `${base}/choose`,
    };
  };

  /** The flow of `:uid` and what it has proven; an unknown or ended one is `interaction_expired`. */
  async function loadFlow(ctx: Context, next: Next) {
    const uid = ctx.params.uid as string;
    // Read beside the flow, so both reads share one round trip to the store (issue 10); for a
    // flow that is gone, the record read is simply not used.
    const [loaded, proven] = await Promise.all([deps.flows.load(ctx, uid), deps.authentications.forFlow(uid)]);
    if (!loaded) throw new IdpError('interaction_expired');
    requestState(ctx).formTargets = loaded.flow.returnOrigin ? [loaded.flow.returnOrigin] : [];
    (ctx.state as { interaction: Interaction }).interaction = {
      ...loaded,
      session: (await deps.sessions.current(ctx))?.authentication,
      proven,
    };
    return next();
  }

  /** A posted form carries this flow's CSRF token and comes from our origin. */
  async function checkForm(ctx: Context, next: Next) {
    checkFormToken(ctx, deps.csrf, `interaction:${interaction(ctx).flow.uid}`);
    return next();
  }

  /** What every page of a flow shows. */
  const pageBase = (flow: Flow) => ({
    clientName: flow.clientName,
    csrf: deps.csrf.token(`interaction:${flow.uid}`),
    cancelAction: paths(flow).cancel,
  });

  /** "Use another device", when there is another. */
  const chooseHref = (flow: Flow, factors: SecondFactor[]) => (factors.length > 1 ? paths(flow).choose : undefined);

  /** The registered kind of a listed factor (the registry lists only those). */
  const kindOf = (factor: SecondFactor) => {
    const kind = deps.factors.get(factor.kind);
    if (!kind) throw new IdpError('server_error', { detail: `factor ${factor.id} is of no registered kind (${factor.kind})` });
    return kind;
  };

  function loginPage(ctx: Context, extra: { error?: string; username?: string } = {}) {
    const { flow } = interaction(ctx);
    deps.render(ctx, 'login', { ...pageBase(flow), action: paths(flow).login, username: extra.username ?? '', error: extra.error });
  }

  function chooserPage(ctx: Context, factors: ListedFactor[]) {
    const { flow } = interaction(ctx);
    deps.render(ctx, 'choose-factor', {
      ...pageBase(flow),
      factors: factors.map((factor) => ({
        ...factor,
        href: `${paths(flow).choose}/${factor.id}`,
        lastUsed: factor.lastUsedAt ? factor.lastUsedAt.toLocaleDateString('da-DK', { timeZone: 'Europe/Copenhagen' }) : undefined,
        locked: Boolean(factor.lockedUntil),
      })),
    });
  }

  function codePage(ctx: Context, factor: SecondFactor, factors: SecondFactor[], extra: CodePageExtra = {}) {
    const { flow } = interaction(ctx);
    deps.render(ctx, 'code', {
      ...pageBase(flow),
      factor,
      codeAction: paths(flow).code,
      resyncAction: paths(flow).resync,
      chooseHref: chooseHref(flow, factors),
      ...extra,
    });
  }

  function waitPage(ctx: Context, factor: SecondFactor, factors: SecondFactor[], extra: WaitPageExtra = {}) {
    const { flow } = interaction(ctx);
    const { language } = requestState(ctx);
    const { challenge } = extra;
    deps.render(ctx, 'wait', {
      ...pageBase(flow),
      factor,
      error: extra.error,
      notice: extra.notice,
      intro: text(ctx, 'wait.intro', { name: factor.name }),
      challenge: challenge && {
        id: challenge.id,
        code: challenge.code,
        number: challenge.number,
        expires: text(ctx, 'wait.expires', { time: clockTime(language, challenge.expiresAt), left: timeLeft(challenge.expiresAt.getTime(), deps.now()) }),
        eventsHref: paths(flow).challengeEvents(challenge.id, factor.id),
      },
      continueAction: paths(flow).challenge,
      // Only this sends a new challenge (a page load shows the one sent): a form post with its
      // CSRF token, never a link a page elsewhere or a prefetch could follow to push at the device.
      sendAgainAction: `${paths(flow).choose}/${factor.id}`,
      chooseHref: chooseHref(flow, factors),
    });
  }

  /** The security key page: its script runs the WebAuthn ceremony and posts the assertion. */
  function securityKeyPage(ctx: Context, factor: SecondFactor, factors: SecondFactor[], options: Extract<FactorStart, { type: 'webauthn' }>['options'], error?: string) {
    const { flow } = interaction(ctx);
    deps.render(ctx, 'webauthn', { ...pageBase(flow), factor, options, error, assertionAction: paths(flow).webauthn, chooseHref: chooseHref(flow, factors) });
  }

  /** The account whose second factor is asked for: the one this login or the session proved. */
  const accountOf = ({ session, proven }: Interaction) => (proven ?? session)?.accountId;

  /**
   * Asks for what the login still misses, or finishes it. `choice`: the factor the user picked;
   * `resend`: they asked for a new challenge, where a page load shows the one already sent.
   */
  async function continueFlow(ctx: Context, choice?: string, { resend = false } = {}) {
    const { flow, session, proven } = interaction(ctx);
    const { authentication, decision } = flowProgress({ flow, session, proven, now: nowSeconds() });
    if (flow.passive && (decision.password || decision.secondFactor || !authentication)) return interaction(ctx).protocol.fail(ctx, flow, 'passive');
    if (decision.password || !authentication) return loginPage(ctx);
    if (!decision.secondFactor) return finish(ctx, authentication);
    const factors = await deps.factors.listForUser(authentication.accountId);
    if (!factors.length) {
      return deps.render(ctx, 'no-factor', { ...pageBase(flow), selfserviceHref: `${deps.basePath}/selfservice` });
    }
    const chosen = factors.find((factor) => factor.id === choice) ?? (factors.length === 1 ? factors[0] : undefined);
    if (!chosen) return chooserPage(ctx, factors);
    return startFactor(ctx, authentication.accountId, chosen, factors, resend);
  }

  /**
   * The login is done: the SSO session records it first, so whichever protocol asks next reads
   * the same record, then the flow's protocol answers its relying party.
   */
  async function finish(ctx: Context, authentication: SessionAuthentication) {
    const { flow, protocol } = interaction(ctx);
    await deps.sessions.record(ctx, authentication);
    return protocol.complete(ctx, flow, loginOutcome(authentication, flow, nowSeconds()));
  }

  /**
   * Starts the chosen factor as its kind says: the code page, a challenge and the waiting page, or
   * the security key page (with `error` when its last answer was refused).
   */
  async function startFactor(ctx: Context, accountId: string, factor: SecondFactor, factors: SecondFactor[], resend: boolean, error?: string) {
    const { flow } = interaction(ctx);
    const started = await kindOf(factor).start({
      userId: accountId,
      factor,
      flow: factorFlow(flow),
      context: actContext(ctx, accountId, flow),
      resend,
    });
    if (started.type === 'challenge') return waitPage(ctx, factor, factors, { challenge: started.challenge });
    if (started.type === 'webauthn') return securityKeyPage(ctx, factor, factors, started.options, error);
    if (started.type === 'refused') return waitPage(ctx, factor, factors, { error: factorRefusal(requestState(ctx).language, started.refusal) });
    return codePage(ctx, factor, factors);
  }

  /** Records the second factor this login proved (`amr`: what the answer proved, else its kind's) and goes on. */
  async function factorProven(ctx: Context, kind: FactorKind, amr: readonly string[] = kind.amr) {
    const current = interaction(ctx);
    const { authentication } = flowProgress({ ...current, now: nowSeconds() });
    const proven: SessionAuthentication = {
      ...(authentication as SessionAuthentication),
      secondFactorAt: nowSeconds(),
      secondFactorAmr: [...amr],
    };
    await deps.authentications.saveForFlow(current.flow.uid, proven, deps.flowTtlSeconds);
    current.proven = proven;
    return continueFlow(ctx);
  }

  /** A posted answer's factor, if the form names one of the user's; else undefined. */
  async function postedFactor(ctx: Context): Promise<PostedFactor | undefined> {
    const accountId = accountOf(interaction(ctx));
    const factors = accountId ? await deps.factors.listForUser(accountId) : [];
    const factor = factors.find((candidate) => candidate.id === formField(ctx, 'factor'));
    if (!accountId || !factor) return undefined;
    return { accountId, factor, kind: kindOf(factor), factors };
  }

  async function resume(ctx: Context) {
    const { flow, protocol } = interaction(ctx);
    if (!flow.needsLogin) return protocol.proceed(ctx, flow);
    return continueFlow(ctx);
  }

  async function showChooser(ctx: Context) {
    return continueFlow(ctx, '');
  }

  async function chooseFactor(ctx: Context) {
    return continueFlow(ctx, ctx.params.factor);
  }

  /** The waiting page's "send again": the one request that sends a challenge anew. */
  async function sendAgain(ctx: Context) {
    return continueFlow(ctx, ctx.params.factor, { resend: true });
  }

  async function checkPassword(ctx: Context) {
    const { flow } = interaction(ctx);
    const username = formField(ctx, 'username').trim();
    const password = formField(ctx, 'password');
    if (!username || !password) return loginPage(ctx, { username, error: text(ctx, 'login.missing') });

    const outcome = await deps.passwordLogin.login({ username, password, ip: ctx.ip, clientId: flow.clientId, requestId: requestState(ctx).requestId });
    if (!outcome.ok) return loginPage(ctx, { username, error: text(ctx, 'login.failed') });

    const proven: SessionAuthentication = { accountId: outcome.user.id, passwordAt: nowSeconds() };
    interaction(ctx).proven = proven;
    // The second-factor page gets its own URL (post, redirect, get), so a reload asks nothing
    // twice; the flow keeps what the password proved for it. A login that needs no second
    // factor finishes now, and the SSO session records it: nothing to keep for the flow.
    if (flowProgress({ ...interaction(ctx), now: nowSeconds() }).decision.secondFactor) {
      await deps.authentications.saveForFlow(flow.uid, proven, deps.flowTtlSeconds);
      ctx.status = 303;
      return ctx.redirect(paths(flow).base);
    }
    return continueFlow(ctx);
  }

  async function verifyCode(ctx: Context) {
    const posted = await postedFactor(ctx);
    if (!posted) return continueFlow(ctx);
    const { accountId, factor, kind, factors } = posted;
    const { flow } = interaction(ctx);
    const result = await kind.verify({ userId: accountId, factorId: factor.id, answer: { code: formField(ctx, 'code') }, flow: factorFlow(flow), context: actContext(ctx, accountId, flow) });
    if (result.ok) return factorProven(ctx, kind);
    return codePage(ctx, factor, factors, {
      error: factorRefusal(requestState(ctx).language, result),
      offerResync: result.reason === 'invalid' && Boolean(kind.resync),
    });
  }

  /** The waiting page's "continue": accepted once the device approved the challenge. */
  async function verifyChallenge(ctx: Context) {
    const posted = await postedFactor(ctx);
    if (!posted) return continueFlow(ctx);
    const { accountId, factor, kind, factors } = posted;
    const answer = { challengeId: formField(ctx, 'challenge') };
    const { flow } = interaction(ctx);
    const result = await kind.verify({ userId: accountId, factorId: factor.id, answer, flow: factorFlow(flow), context: actContext(ctx, accountId, flow) });
    if (result.ok) return factorProven(ctx, kind);
    const message = factorRefusal(requestState(ctx).language, result);
    // Still waiting is no error: the same challenge again, with a reminder.
    if (result.reason === 'pending') return waitPage(ctx, factor, factors, { challenge: result.challenge, notice: message });
    return waitPage(ctx, factor, factors, { error: message });
  }

  /**
   * The security key page's answer: the browser's assertion, accepted once, for this login's
   * challenge. Refused, the page comes again with a new challenge, so the button tries again.
   */
  async function verifyAssertion(ctx: Context) {
    const posted = await postedFactor(ctx);
    if (!posted) return continueFlow(ctx);
    const { accountId, factor, kind, factors } = posted;
    const { flow } = interaction(ctx);
    const answer = { assertion: formField(ctx, 'response') };
    const result = await kind.verify({ userId: accountId, factorId: factor.id, answer, flow: factorFlow(flow), context: actContext(ctx, accountId, flow) });
    if (result.ok) return factorProven(ctx, kind, result.amr);
    return startFactor(ctx, accountId, factor, factors, false, factorRefusal(requestState(ctx).language, result));
  }

  /**
   * The waiting page's live update (Server-Sent Events, WHATWG HTML §9.2): one `settled` event
   * when this login's challenge is approved, rejected or expires, then the end; `: heartbeat`
   * comments meanwhile, so proxies keep it open. The page then posts its continue form, which
   * finishes the login or explains the outcome. A challenge that is not this login's reads
   * `not_found`, whatever became of it.
   */
  async function streamChallenge(ctx: Context) {
    const accountId = accountOf(interaction(ctx));
    const factors = accountId ? await deps.factors.listForUser(accountId) : [];
    const factor = factors.find((candidate) => candidate.id === ctx.query.factor);
    const kind = factor && kindOf(factor);
    if (!accountId || !factor || !kind?.awaitChallenge) throw new IdpError('not_found');
    const { flow } = interaction(ctx);
    const { log } = requestState(ctx);

    const stream = openEventStream(ctx, { heartbeatMs: deps.heartbeatMs ?? 15_000 });
    // Answered in the background: the response is the stream, which Koa starts sending now.
    void kind.awaitChallenge({ userId: accountId, factorId: factor.id, challengeId: ctx.params.id as string, flow: factorFlow(flow), signal: stream.closed })
      .then((state: ChallengeState) => {
        if (state !== 'pending') stream.send('settled', { status: state });
      }, (error: unknown) => log.warn({ err: error }, 'waiting for a challenge failed; the page reconnects'))
      .finally(stream.end);
  }

  /** Two codes in a row find a drifted factor's clock, for kinds that can resynchronise. */
  async function resynchronise(ctx: Context) {
    const posted = await postedFactor(ctx);
    if (!posted?.kind.resync) return continueFlow(ctx);
    const { accountId, factor, factors } = posted;
    const codes: [string, string] = [formField(ctx, 'code1'), formField(ctx, 'code2')];
    const result = await posted.kind.resync({ userId: accountId, factorId: factor.id, codes, context: actContext(ctx, accountId, interaction(ctx).flow) });
    if (result.ok) return codePage(ctx, factor, factors, { notice: text(ctx, 'resync.done') });
    const error = result.reason === 'invalid' ? text(ctx, 'resync.failed') : factorRefusal(requestState(ctx).language, result);
    return codePage(ctx, factor, factors, { error, offerResync: result.reason === 'invalid' });
  }

  async function cancel(ctx: Context) {
    const { flow, protocol } = interaction(ctx);
    // The no-factor page cancels with `reason=no_factor`: a login that required a second factor
    // the user does not have; the protocol tells its relying party so in its own terms.
    await protocol.fail(ctx, flow, formField(ctx, 'reason') === 'no_factor' ? 'no_factor' : 'cancelled');
  }

  router.get('/interaction/:uid', loadFlow, resume);
  router.get('/interaction/:uid/choose', loadFlow, showChooser);
  router.get('/interaction/:uid/choose/:factor', loadFlow, chooseFactor);
  router.post('/interaction/:uid/choose/:factor', forms, loadFlow, checkForm, sendAgain);
  router.post('/interaction/:uid/login', forms, loadFlow, checkForm, checkPassword);
  router.post('/interaction/:uid/code', forms, loadFlow, checkForm, verifyCode);
  router.post('/interaction/:uid/challenge', forms, loadFlow, checkForm, verifyChallenge);
  router.post('/interaction/:uid/webauthn', forms, loadFlow, checkForm, verifyAssertion);
  router.get('/interaction/:uid/challenge/:id/events', loadFlow, streamChallenge);
  router.post('/interaction/:uid/resync', forms, loadFlow, checkForm, resynchronise);
  router.post('/interaction/:uid/cancel', forms, loadFlow, checkForm, cancel);
  return router;
}

/** Who answers, for the factor kinds' audit events. */
function actContext(ctx: Context, accountId: string, flow: Flow): ActContext {
  return { actor: `user:${accountId}`, ip: ctx.ip, clientId: flow.clientId, requestId: requestState(ctx).requestId };
}

/** The login as a factor kind sees it. */
function factorFlow(flow: Flow): FactorFlow {
  return { uid: flow.uid, clientId: flow.clientId, clientName: flow.clientName };
}
