/**
 * Werker tokens: what a remote werker presents to the server's werker protocol. Only the sha256 of a token is
 * stored, so a database dump does not hand out werker access; the token itself is shown once, at creation.
 * Revocation keeps the row (who had access, and until when) and takes effect on the werker's next request to
 * the replica that revoked it, and within a second on the others (TokenCheckCache).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { StoreDialect } from './dialect.js';
import type { Database } from './schema.js';
import type { WerkerTokenRow } from './store.js';

/** A request the admin can fix: a bad name or a name already in use. */
export class WerkerTokenError extends Error {
  override name = 'WerkerTokenError';
  constructor(
    readonly code: 'bad_name' | 'duplicate',
    message: string,
  ) {
    super(message);
  }
}

/** Prefix so a leaked token is recognizable in logs and by secret scanners. */
const TOKEN_PREFIX = 'ocw_';

export function hashWerkerToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export async function createWerkerToken(d: StoreDialect, name: string): Promise<{ id: number; name: string; token: string }> {
  const clean = name.trim();
  if (!/^[\w.@-]{1,64}$/.test(clean)) {
    throw new WerkerTokenError('bad_name', `werker token name '${name}' must be 1-64 letters, digits, '.', '_', '@' or '-'`);
  }
  const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  return d.write(async (trx) => {
    // Names are how admins revoke; two live tokens with one name would make "revoke <name>" ambiguous.
    const live = await trx
      .selectFrom('werker_tokens')
      .select('id')
      .where('name', '=', clean)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (live) throw new WerkerTokenError('duplicate', `a werker token named '${clean}' exists already (id ${live.id}); revoke it first or pick another name`);
    const row = await trx
      .insertInto('werker_tokens')
      .values({ name: clean, token_hash: hashWerkerToken(token), created_at: Date.now(), revoked_at: null })
      .returning('id')
      .executeTakeFirstOrThrow();
    return { id: Number(row.id), name: clean, token };
  });
}

export async function listWerkerTokens(db: Kysely<Database>): Promise<WerkerTokenRow[]> {
  const rows = await db.selectFrom('werker_tokens').select(['id', 'name', 'created_at', 'revoked_at']).orderBy('id').execute();
  return rows.map((r) => ({ id: Number(r.id), name: r.name, createdAt: Number(r.created_at), revokedAt: r.revoked_at == null ? null : Number(r.revoked_at) }));
}

/** Revoke by id (digits) or by name; returns the revoked rows (empty when nothing live matched). */
export async function revokeWerkerToken(d: StoreDialect, idOrName: string): Promise<WerkerTokenRow[]> {
  const now = Date.now();
  return d.write(async (trx) => {
    let q = trx.updateTable('werker_tokens').set({ revoked_at: now }).where('revoked_at', 'is', null);
    q = /^\d+$/.test(idOrName) ? q.where('id', '=', Number(idOrName)) : q.where('name', '=', idOrName);
    const rows = await q.returning(['id', 'name', 'created_at', 'revoked_at']).execute();
    return rows.map((r) => ({ id: Number(r.id), name: r.name, createdAt: Number(r.created_at), revokedAt: r.revoked_at == null ? null : Number(r.revoked_at) }));
  });
}

/**
 * Every werker request carries its token, and looking it up was a database round trip per request: with a batched
 * protocol, a fair share of what a build cost the server. A live token is therefore remembered for a second per
 * Store (per server replica). A revocation through this Store forgets everything at once; other replicas notice
 * within the second. Refusals are not remembered: a wrong token stays as cheap to refuse as it ever was to try.
 */
export class TokenCheckCache {
  private readonly live = new Map<string, number>();
  /** Bumped by every clear(): a lookup that started before a revocation must not put its answer back. */
  generation = 0;
  constructor(
    private readonly ttlMs = 1_000,
    private readonly maxEntries = 10_000,
  ) {}

  isLive(token: string, now = Date.now()): boolean {
    const until = this.live.get(token);
    if (until === undefined) return false;
    if (until > now) return true;
    this.live.delete(token);
    return false;
  }

  remember(token: string, since: number, now = Date.now()): void {
    if (since !== this.generation) return;
    if (this.live.size >= this.maxEntries) this.live.clear();
    this.live.set(token, now + this.ttlMs);
  }

  clear(): void {
    this.generation++;
    this.live.clear();
  }
}

export async function checkWerkerToken(db: Kysely<Database>, token: string, cache?: TokenCheckCache): Promise<boolean> {
  if (!token.startsWith(TOKEN_PREFIX)) return false;
  if (cache?.isLive(token)) return true;
  const since = cache?.generation ?? 0;
  const live = await lookUpToken(db, token);
  if (live) cache?.remember(token, since);
  return live;
}

async function lookUpToken(db: Kysely<Database>, token: string): Promise<boolean> {
  const row = await db
    .selectFrom('werker_tokens')
    .select('id')
    .where('token_hash', '=', hashWerkerToken(token))
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return row !== undefined;
}
