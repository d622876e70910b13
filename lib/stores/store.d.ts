// The Store contract every store implements and the worker calls. Types only; may not name a
// store's internals.
import type { CredentialKind, StoredCredential } from '../../index'

/** A credential as a claim or a removal names it: its key, and its uses left as the caller read
 * them (`null`: unlimited). Stores compare that state before they change anything. */
export interface CredentialState {
  kind: CredentialKind
  id: string
  usesLeft: number | null
}

/** A planned send, held in a store: the user's slot for the local day, and the credential with the
 * state the claim was made on (what `confirm` compares against). */
export interface Claim {
  token: string
  userId: string
  /** The local day number (weapp-notify `localDay`). */
  day: number
  credential: CredentialState
  /** From `takeOverExpired`: whether the claim's send had started (marked by `renew`). One that
   * had not was never sent; one that had is of unknown fate. */
  started?: boolean
}

/** One page of the daily push: users with any stored credential, their pushes since `since`, and
 * every stored credential of theirs (dead and invalid ones too: the core's plan lists those). */
export interface Page {
  users: { userId: string; pushedAt: number[] }[]
  credentials: StoredCredential[]
  /** Pass as `after` for the next page; `null` when this was the last. */
  next: string | null
}

/** A planned send to claim: `claim`'s input, one element of `claimMany`'s. */
export interface ClaimRequest {
  userId: string | number
  day: number
  maxPerDay: number
  credential: CredentialState
  leaseMs: number
}

/** How a send left its credential, computed by the core: `usesLeft` from `applySendEffect`, and
 * `remove` when `deadCredentials` lists the result. */
export interface Outcome {
  usesLeft: number | null
  remove: boolean
  /** The user was pushed: the day slot counts it and the push is recorded at `at`. */
  pushed: boolean
  at: number | null
  /** How long a push is kept (`historyWindow`'s `keepMs`); required when `pushed`. */
  keepMs?: number
  /** WeChat's msgid for the delivery (its decimal digits, from `classifyOutcome`), kept with the
   * push for as long as the push is kept; only with `pushed`. */
  msgid?: string | null
}

/** The core's `historyWindow` at some instant, as `sweep` takes it. */
export interface HistoryWindow {
  since: number
  today: number
  keepMs?: number
}

/** What `confirmMany` says of one outcome: applied, not applied for the stored uses left (as
 * `confirm` answers), or its claim not held. */
export type ConfirmManyResult =
  | { ok: true; conflict?: undefined; lost?: undefined }
  | { ok?: undefined; conflict: { usesLeft: number | null }; lost?: undefined }
  | { ok?: undefined; conflict?: undefined; lost: true }

/** The contract every weapp-notify store keeps (the embedded, MySQL and Redis stores pass one
 * conformance suite). Stores only guard: every state they write was computed by the core. Wrong
 * input is an `ERR_INVALID_ARGUMENT` error whose message starts with the field. */
/** A delivery WeChat's sent event reported failed. */
export interface FailedDelivery {
  userId: string | number
  /** WeChat's msgid of the send, as its exact digits. */
  msgid: string
  templateId: string
  /** The event's ErrorCode (never 0: that one was delivered). */
  errorCode: number
  /** The event's CreateTime, in ms. */
  at: number
}

export interface FailedDeliveries {
  total: number
  /** ErrorCode -> how many. */
  byErrorCode: Record<string, number>
}

export interface Store {
  /** Creates or upgrades what the store needs (tables; on Redis, nothing but the marker) and
   * writes the store's marker, once: a random id that lives with the data (see `stamp`). Run it
   * before the first push, on every store. On Redis it also warns (process.emitWarning, code
   * WEAPP_NOTIFY_REDIS_VOLATILE, and the store's logger) when a server persists nothing. */
  migrate(): Promise<void>
  /** The store's clock (the one its leases run on), epoch ms, and the marker migrate() wrote
   * (null when the store holds none: its data is gone, or it was never migrated), in one call. A
   * push checks both before recovery, at each page and at its end (ERR_STORE_RESET, ERR_CLOCK_SKEW). */
  stamp(): Promise<{ now: number; marker: string | null }>
  /** Saves credentials as given (legacy rows the core will list dead included): a formId or
   * prepay_id once, a grant adding its accepts to the count. Ids hold at most 128 characters. */
  saveCredentials(credentials: StoredCredential[]): Promise<void>
  /** Users after `after` (by id, in the store's own order) with any stored credential, with their
   * pushes since `since` (`historyWindow`'s `since`) and all their stored credentials. `until`
   * (null or left out: no bound) is the last id the page may hold: no rows of the users after it
   * are read, and `next` is `null` once the page reaches it. */
  pageUsers(input: { after: string | null; until?: string | null; limit: number; since: number }): Promise<Page>
  /** The ids `pageUsers` pages, in its order, alone: no credential or push is read (on Redis the
   * index may still name a user whose keys all expired, until `sweep`). A scheduler cuts
   * the users into disjoint ranges `(after, until]` with it (`next` is the last id of a full page,
   * `null` after the last), each paged with `pageUsers({ after, until })`. The store's own order is
   * byte order for MySQL and Redis, JavaScript string order for the embedded store. */
  userIds(input: { after: string | null; limit: number }): Promise<{ userIds: string[]; next: string | null }>
  /** Claims a planned send atomically: succeeds only while the credential is unclaimed, its stored
   * uses left equal `credential.usesLeft`, it is unexpired by the store's clock, and the user's day
   * has fewer than `maxPerDay` pushes and no other claim. `null` when not: re-plan the user from
   * fresh rows. */
  claim(input: ClaimRequest): Promise<Claim | null>
  /** Claims many planned sends at once, each exactly as `claim` would on the state the ones before
   * it left; -> one result per request, in order. Of several requests for one user, only the first
   * is tried (the later are `null`). A chunk of up to 1000 costs MySQL one transaction of 7
   * statements and one per `maxPerDay` value in it, one Redis a script call, a Redis Cluster a
   * call per hash slot of its users and two on the lease index. Checked per element before
   * anything is claimed: a wrong one fails the whole call, naming it (`requests[3].day`). */
  claimMany(requests: ClaimRequest[]): Promise<(Claim | null)[]>
  /** Stores the credential state the core computed (and the push), compare-and-set: only while the
   * claim is held (else throws `ERR_CLAIM_LOST`) and the stored uses left still equal
   * `claim.credential.usesLeft`. If they changed meanwhile (a grant's count grew), nothing is
   * applied, the claim stays held, and the answer is `{ conflict: { usesLeft } }` with the stored
   * value: compute again from it and confirm with `claim.credential.usesLeft` set to it. A
   * credential already gone (a Redis key that expired) has nothing to compare or write. */
  confirm(
    claim: Claim,
    outcome: Outcome,
  ): Promise<{ ok: true; conflict?: undefined } | { conflict: { usesLeft: number | null } }>
  /** Stores many outcomes at once, each exactly as `confirm` would; -> one result per item, in
   * order, `{ lost: true }` where `confirm` would throw `ERR_CLAIM_LOST`. A token given twice
   * counts once, the first time (the later items are lost). A chunk of up to 1000 costs MySQL one
   * transaction of at most 9 statements, one Redis a script call, a Redis Cluster a call per hash
   * slot of its users and one on the lease index. Checked per element before anything is applied
   * (`items[3].outcome.usesLeft`). */
  confirmMany(items: { claim: Claim; outcome: Outcome }[]): Promise<ConfirmManyResult[]>
  /** Lets the claim go, changing nothing. Throws `ERR_CLAIM_LOST` if it is not held. */
  release(claim: Claim): Promise<void>
  /** Extends the leases of held claims to `leaseMs` from now by the store's clock (0: the lease
   * ends now, and the next `takeOverExpired` hands the claim over), and with `started` records
   * that their sends start (call it before the first send goes out). One call for many claims.
   * Returns the tokens of the claims no longer held (confirmed, released or taken over): their
   * leases are not touched. */
  renew(input: { claims: Claim[]; leaseMs: number; started?: boolean }): Promise<string[]>
  /** Deletes the credentials the core listed dead, each only if unclaimed and its uses left are
   * still those given; returns how many it deleted. */
  removeCredentials(credentials: (CredentialState & { userId: string | number })[]): Promise<number>
  /** Claims whose lease ran out (a worker died, or handed the claim over), handed to the caller
   * under a new lease, each with the credential state it was made on and whether its send had
   * started. The old token is lost from then on: its confirm, release or renewal fails. */
  takeOverExpired(input: { leaseMs: number; limit?: number }): Promise<Claim[]>
  /** Drops push records before `history.since` and unclaimed day slots before `history.today`
   * (pass `historyWindow({ now, policy })`); returns how many of each. */
  sweep(history: HistoryWindow): Promise<{ pushes: number; days: number }>
  /** One user's stored credentials. */
  credentials(userId: string | number): Promise<StoredCredential[]>
  /** One user's recorded push instants. */
  pushes(userId: string | number): Promise<number[]>
  /** One user's recorded pushes with WeChat's msgid of each (null where none was answered: a
   * send of unknown fate counted as delivered), oldest first. */
  deliveries(userId: string | number): Promise<{ at: number; msgid: string | null }[]>
  /** Records deliveries a `subscribe_msg_sent_event` reported failed (WeChat accepted the send,
   * then could not deliver it), once per msgid: WeChat re-sends an event it got no answer to.
   * Returns how many were new. `sweep` forgets them with the pushes. */
  recordFailedDeliveries(failures: FailedDelivery[]): Promise<number>
  /** The failed deliveries reported with an instant in [since, until): how many, by ErrorCode. */
  failedDeliveries(input: { since: number; until?: number }): Promise<FailedDeliveries>
  close(): Promise<void>
  /** Users a worker should keep in flight per send in flight (default 1). A store that batches
   * its writes (MySQL: 4) fills its batches from the users waiting on it while others' sends are out. */
  readonly usersPerSend?: number
}
