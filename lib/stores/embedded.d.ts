// weapp-notify/embedded: the types of the embedded file store. Types only; the Store contract is
// store.d.ts's.
import type { Store } from './store'
export type { Store, Claim, ClaimRequest, ConfirmManyResult } from './store'
export type { Page, CredentialState, Outcome, HistoryWindow } from './store'

/** The embedded store: no server, one process; state survives in `file` (a log of writes,
 * compacted on open: a temporary file flushed, renamed over the log, the directory flushed). Every
 * call resolves only once what it changed is on disk (fdatasync; the calls of one tick share one
 * write), so a crash or a power loss loses only calls that had not resolved. `migrate()` opens it:
 * it takes the lock file `<file>.lock` (held until `close()`; another opener gets
 * `ERR_STORE_LOCKED`, a lock left by a dead process on this host is taken over), drops a torn last
 * write (reported in `tornTail`), opens an empty file as an empty store, and refuses a file not in
 * format 2 or 3 with `ERR_STORE_FORMAT`, one damaged anywhere but its last write with
 * `ERR_STORE_CORRUPT`, and a path the system cannot open (a directory, too long a name, no
 * permission: `err.errno` EISDIR, ENAMETOOLONG, EACCES...) with `ERR_STORE_OPEN`. A failed write makes every later
 * call `ERR_STORE_FAILED` (reopen to go on from the file); a call before `migrate()` or after
 * `close()` is `ERR_STORE_CLOSED`. Leases run on `clock` (default `Date.now`). */
export interface EmbeddedStore extends Store {
  /** Set by `migrate()`: the torn last write it dropped (where it began in the file, and its
   * length), or `null` when the file ended whole. What it held had not been confirmed to anyone. */
  readonly tornTail: { offset: number; bytes: number } | null
}
export declare const EmbeddedStore: { new (options: { file: string; clock?: () => number }): EmbeddedStore }
