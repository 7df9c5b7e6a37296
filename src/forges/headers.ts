/**
 * Incoming HTTP headers as Node gives them: lower-cased names, a string, a list (repeated header) or absent.
 */
export type WebhookHeaders = Readonly<Record<string, string | string[] | undefined>>;

/**
 * The value of one header. A repeated header yields its first value; callers that must not accept ambiguity
 * (signatures) use `headerValues` instead. Names are matched lower-cased so callers may write the forge's spelling.
 */
export function header(headers: WebhookHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  if (Array.isArray(value)) return value[0];
  return value;
}

/** Every value of a header (empty when absent). */
export function headerValues(headers: WebhookHeaders, name: string): string[] {
  const value = headers[name.toLowerCase()];
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}
