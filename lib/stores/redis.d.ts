// weapp-notify/redis: the types of the Redis store (and FormIdCompat). Types only; the Store
// contract is store.d.ts's.
import type { Store } from './store'
import type { Logger } from '../worker'
export type { Store, Claim, ClaimRequest, ConfirmManyResult } from './store'
export type { Page, CredentialState, Outcome, HistoryWindow } from './store'

/** Redis or Redis Cluster through ioredis: Lua scripts over users' keys, hash-tagged by the user's
 * bucket (one of 32), leases on Redis TIME. On one Redis a chunk of claims (or outcomes, or a
 * page's reads) is one script call, leases included; on a Cluster one call per bucket slot its users
 * fall in (at most 32), and two on the lease index. migrate() moves a store of the layout before
 * buckets (keys tagged {u:ID}). `prefix` (default "wn", no braces) starts every key. `logger` hears migrate()'s warning of a server that persists nothing. The constructor throws `ERR_INVALID_ARGUMENT` for anything but an ioredis client (a URL
 * string, say), a bad prefix or an unknown option. */
export interface RedisStore extends Store {}
export declare const RedisStore: {
  new (options: { redis: RedisClient; prefix?: string; logger?: Logger }): RedisStore
}

/** What the store uses of an ioredis `Redis` or `Cluster` client, written out so that these
 * typings compile where ioredis is not installed. */
export interface RedisClient {
  defineCommand(name: string, definition: { lua: string; numberOfKeys?: number }): void
  quit(): Promise<unknown>
}

/** Seed 004's `Wechat::FormId`, operation for operation, atomic, choices made by the core. */
export declare class FormIdCompat {
  constructor(options: { store: RedisStore; clock?: () => number })
  save(userId: string | number, formId: string): Promise<void>
  getOne(userId: string | number): Promise<string | null>
  /** The formIds the core does not list dead. */
  getAll(userId: string | number): Promise<string[]>
  /** getOne and delete as one step: two callers never get the same formId. */
  pop(userId: string | number): Promise<string | null>
  delete(userId: string | number, formId: string): Promise<boolean>
  /** Removes the formIds the core lists dead; returns how many. */
  deleteExpire(userId: string | number): Promise<number>
}

/** The Lua scripts, by command name. One without `numberOfKeys` runs over a chunk: a call passes
 * how many keys follow (EVALSHA's own form). */
export declare const SCRIPTS: Record<string, { numberOfKeys?: number; lua: string }>
