/**
 * An employee deleting their own code viewer in self-service. The guide's cases differ, so the
 * employee says why: one given on to a colleague is reset and goes back to stock for them to
 * bind (as IT's `stepup tokens reset` does); one lost, stolen or broken is marked so for IT (as
 * `stepup tokens mark` does) and never goes back to stock by itself. Either way no code from it
 * is accepted from this user again. The acts are IT's own (`inventory.ts`), with the employee as
 * the holder, so they touch only a code viewer in use by them.
 */
import type { ActContext } from '../../store/audit.ts';
import { markCodeViewer, resetCodeViewer, type CodeViewerMark, type InventoryActOptions } from './inventory.ts';

/** Why an employee deletes a code viewer, in the order the confirmation offers them. */
export const CODE_VIEWER_REMOVAL_REASONS = ['given_to_colleague', 'lost', 'defective'] as const;
export type CodeViewerRemovalReason = (typeof CODE_VIEWER_REMOVAL_REASONS)[number];

/** What deleting a code viewer does to it: back to stock, or marked out of use for IT. */
export type CodeViewerRelease = { act: 'reset' } | { act: 'mark'; mark: CodeViewerMark };

/** Whether `value` is one of {@link CODE_VIEWER_REMOVAL_REASONS}. */
export const isCodeViewerRemovalReason = (value: unknown): value is CodeViewerRemovalReason =>
  (CODE_VIEWER_REMOVAL_REASONS as readonly unknown[]).includes(value);

/**
 * The act for a reason: given to a colleague is a reset (unbound, back in stock, its last step
 * kept so no code the employee used works again); lost or stolen is marked `lost`, defective
 * `defective`, out of stock until IT resets it (a found one, or a repaired one).
 */
export function releaseFor(reason: CodeViewerRemovalReason): CodeViewerRelease {
  switch (reason) {
    case 'given_to_colleague':
      return { act: 'reset' };
    case 'lost':
      return { act: 'mark', mark: 'lost' };
    case 'defective':
      return { act: 'mark', mark: 'defective' };
  }
}

/**
 * Releases the user's code viewer `tokenId` for `reason` and audits it (`code_viewer.reset` or
 * `code_viewer.marked`, with the employee as actor and the reason). False, changing nothing,
 * when it is not a code viewer in use by them or the reason is not one of ours.
 */
export async function releaseCodeViewer(options: {
  storage: InventoryActOptions['storage'];
  userId: string;
  tokenId: string;
  reason: string | undefined;
  context: ActContext;
}): Promise<boolean> {
  const { storage, userId, context } = options;
  if (!isCodeViewerRemovalReason(options.reason)) return false;
  const token = await storage.totpTokens.find(options.tokenId);
  if (!token?.serial || token.kind !== 'code_viewer' || token.userId !== userId) return false;
  const act = {
    storage,
    serial: token.serial,
    actor: context.actor,
    holder: { userId, reason: options.reason, ip: context.ip, requestId: context.requestId },
  };
  const release = releaseFor(options.reason);
  const result = release.act === 'reset' ? await resetCodeViewer(act) : await markCodeViewer({ ...act, mark: release.mark });
  return result.ok && result.changed;
}
