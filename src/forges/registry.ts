import { bitbucketForge } from './bitbucket/forge.js';
import type { Forge } from './forge.js';
import { githubForge } from './github/forge.js';

/**
 * Every forge we take webhooks from, by the name in its URL (`POST /hooks/<name>`).
 * Adding a forge is adding a folder beside github/ and one line here.
 */
export const forges = {
  github: githubForge,
  bitbucket: bitbucketForge,
} as const satisfies Record<string, Forge>;

export type WebhookForgeName = keyof typeof forges;

/** The forge for a URL segment, or undefined (the server answers 404). */
export function getForge(name: string): Forge | undefined {
  return Object.prototype.hasOwnProperty.call(forges, name) ? forges[name as WebhookForgeName] : undefined;
}
