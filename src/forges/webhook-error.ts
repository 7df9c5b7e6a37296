/**
 * The one error a forge normalizer throws. It always means "the sender gave us something we cannot use", so the
 * server answers 400 with `reason`; anything else thrown from a normalizer is a bug on our side (500).
 */
export class WebhookError extends Error {
  readonly statusCode = 400 as const;

  constructor(readonly reason: string) {
    super(reason);
    this.name = 'WebhookError';
  }
}
