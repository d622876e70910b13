import type { CredentialKind, StoredCredential } from '../../index'

/** A planned send, held in a store: the user's slot for the local day and the credential. */
export interface Claim {
  token: string
  userId: string
  /** The local day number (weapp-notify `localDay`). */
  day: number
  credential: { kind: CredentialKind; id: string }
}

/** One page of the daily push: users with live credentials, their recent pushes, and those credentials. */
export interface Page {
  users: { userId: string; pushedAt: number[] }[]
  credentials: StoredCredential[]
  /** Pass as `after` for the next page; `null` when this was the last. */
  next: string | null
}

/** The contract every weapp-notify store keeps (the embedded, MySQL and Redis stores pass one
 * conformance suite). Stores guard claims; they never choose a credential. */
export interface Store {
  /** Creates or upgrades what the store needs (tables, nothing for Redis). */
  migrate(): Promise<void>
  /** Saves intake results: a formId or prepay_id once, a grant adding its accepts to the count. */
  saveCredentials(credentials: StoredCredential[]): Promise<void>
  /** Users after `after` (by id) with a live credential at `now`, with their pushes since `since`. */
  pageUsers(input: { after: string | null; limit: number; now: number; since?: number }): Promise<Page>
  /** Claims a planned send atomically: succeeds only while the credential is unclaimed, unexpired
   * (by the store's clock) and has uses left, and the user's day has fewer than `maxPerDay` pushes
   * and no other claim. `null` when not: re-plan the user from fresh rows. */
  claim(input: {
    userId: string | number
    day: number
    maxPerDay: number
    credential: { kind: CredentialKind; id: string }
    leaseMs: number
  }): Promise<Claim | null>
  /** Applies the send's outcome as the core classified it. Throws `ERR_CLAIM_LOST` if the claim is no longer held. */
  confirm(
    claim: Claim,
    outcome: { effect: 'consume' | 'dead' | 'keep'; pushed: boolean; at: number | null },
  ): Promise<void>
  /** Gives the claim up with nothing changed. */
  release(claim: Claim): Promise<void>
  /** Claims whose lease ran out (a worker died), handed to the caller under a new lease. */
  takeOverExpired(input: { leaseMs: number; limit?: number }): Promise<Claim[]>
  /** Deletes dead credentials (set-based); returns how many. */
  sweep(now: number): Promise<number>
  /** One user's stored credentials. */
  credentials(userId: string | number): Promise<StoredCredential[]>
  /** One user's recorded push instants. */
  pushes(userId: string | number): Promise<number[]>
  close(): Promise<void>
  /** Users a worker should keep in flight per send in flight (default 1). A store that batches
   * its writes (MySQL: 4) fills its batches from the users waiting on it while others' sends are out. */
  readonly usersPerSend?: number
}
