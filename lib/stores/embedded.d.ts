import type { Store } from './store'
export type { Store, Claim, Page, CredentialState, Outcome, HistoryWindow } from './store'

/** The embedded store: no server, one process; state survives in `file` (an append-only log,
 * compacted on open; a file of an older format is refused with `ERR_STORE_FORMAT`). Leases run on
 * `clock` (default `Date.now`). */
export interface EmbeddedStore extends Store {}
export declare const EmbeddedStore: { new (options: { file: string; clock?: () => number }): EmbeddedStore }
