/** Signature checks for both forges: the server answers 401 whenever `ok` is false. */
import { describe, expect, it } from 'vitest';
import { bitbucketForge } from './bitbucket/forge.js';
import { signBitbucket } from './bitbucket/sign.js';
import type { Forge } from './forge.js';
import { githubForge } from './github/forge.js';
import { signGithub } from './github/sign.js';

const secret = 'It’s a s3cret, with ünïcode';
// Deliberately not what JSON.stringify would produce: spaces, key order and an escaped slash.
const rawText = '{ "zen": "Keep it logically awesome.",\n  "url": "https:\\/\\/example.com", "hook_id": 7 }';
const raw = Buffer.from(rawText, 'utf8');

const cases: { forge: Forge; header: string; sign: (b: Uint8Array | string, s: string) => string }[] = [
  { forge: githubForge, header: 'x-hub-signature-256', sign: signGithub },
  { forge: bitbucketForge, header: 'x-hub-signature', sign: signBitbucket },
];

for (const { forge, header, sign } of cases) {
  describe(`${forge.name} signature`, () => {
    it('accepts the HMAC-SHA256 of the raw bytes', () => {
      expect(forge.verifySignature({ [header]: sign(raw, secret) }, raw, secret)).toEqual({ ok: true });
    });

    it('accepts an upper-case hex digest', () => {
      const value = sign(raw, secret).replace(/^sha256=/, '');
      expect(forge.verifySignature({ [header]: `sha256=${value.toUpperCase()}` }, raw, secret).ok).toBe(true);
    });

    it('refuses a signature made with another secret', () => {
      const result = forge.verifySignature({ [header]: sign(raw, 'other') }, raw, secret);
      expect(result).toEqual({ ok: false, reason: expect.stringMatching(/does not match the body/) });
    });

    it('refuses a missing signature header and says which header', () => {
      const result = forge.verifySignature({}, raw, secret);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.reason.toLowerCase()).toContain(`missing ${header}`);
    });

    it('refuses another algorithm prefix (sha1=)', () => {
      const digest = sign(raw, secret).slice('sha256='.length);
      const result = forge.verifySignature({ [header]: `sha1=${digest}` }, raw, secret);
      expect(result).toEqual({ ok: false, reason: expect.stringMatching(/sha256=/) });
    });

    it('says SHA-1 is not accepted and to switch the webhook to SHA-256', () => {
      const result = forge.verifySignature({ [header]: 'sha1=0123456789abcdef0123456789abcdef01234567' }, raw, secret);
      expect(result).toEqual({ ok: false, reason: expect.stringMatching(/SHA-1 signatures are not accepted: set the webhook to SHA-256/) });
    });

    it('accepts an upper-case algorithm name and digest (SHA256=<HEX>)', () => {
      expect(forge.verifySignature({ [header]: sign(raw, secret).toUpperCase() }, raw, secret).ok).toBe(true);
    });

    it('refuses a digest of another length without throwing', () => {
      const short = sign(raw, secret).slice(0, -2);
      expect(forge.verifySignature({ [header]: short }, raw, secret).ok).toBe(false);
      const long = `${sign(raw, secret)}00`;
      expect(forge.verifySignature({ [header]: long }, raw, secret).ok).toBe(false);
      expect(forge.verifySignature({ [header]: 'sha256=' }, raw, secret).ok).toBe(false);
      expect(forge.verifySignature({ [header]: 'sha256=zz' }, raw, secret).ok).toBe(false);
    });

    it('verifies the bytes received, not a re-serialization of them', () => {
      const reserialized = Buffer.from(JSON.stringify(JSON.parse(rawText)), 'utf8');
      expect(reserialized.equals(raw)).toBe(false);
      // Signed over the original bytes: the re-serialized body must not pass.
      expect(forge.verifySignature({ [header]: sign(raw, secret) }, reserialized, secret).ok).toBe(false);
      // And a signature over the re-serialized body does not pass for the original.
      expect(forge.verifySignature({ [header]: sign(reserialized, secret) }, raw, secret).ok).toBe(false);
    });

    it('refuses a body changed by one byte', () => {
      const tampered = Buffer.from(raw);
      tampered[tampered.length - 3] = 0x38; // "7" -> "8"
      expect(forge.verifySignature({ [header]: sign(raw, secret) }, tampered, secret).ok).toBe(false);
    });

    it('refuses a repeated signature header', () => {
      const good = sign(raw, secret);
      expect(forge.verifySignature({ [header]: [good, good] }, raw, secret).ok).toBe(false);
    });

    it('refuses everything when no secret is configured', () => {
      expect(forge.verifySignature({ [header]: sign(raw, '') }, raw, '').ok).toBe(false);
    });
  });
}

it('GitHub does not accept the Bitbucket header, nor the legacy sha1 X-Hub-Signature', () => {
  const headers = { 'x-hub-signature': signBitbucket(raw, secret) };
  expect(githubForge.verifySignature(headers, raw, secret).ok).toBe(false);
});

it('GitHub: a delivery with only the SHA-1 X-Hub-Signature is told to use SHA-256', () => {
  const result = githubForge.verifySignature({ 'x-hub-signature': 'sha1=0123456789abcdef0123456789abcdef01234567' }, raw, secret);
  expect(result.ok).toBe(false);
  if (!result.ok) {
    expect(result.reason).toMatch(/SHA-1 signatures are not accepted: set the webhook to SHA-256/);
    expect(result.reason).toMatch(/GitHub sends X-Hub-Signature-256 when a secret is set/);
  }
});
