import type { Store } from './store'
export type { Store, Claim, Page } from './store'

/** The embedded store: no server, one process; state survives in `file` (an append-only log,
 * compacted on open). Leases run on `clock` (default `Date.now`). */
export interface EmbeddedStore extends Store {}
export declare const EmbeddedStore: { new (options: { file: string; clock?: () => number }): EmbeddedStore }
