// weapp-notify/worker: the types of runDailyPush, createPush, httpTransport and TokenKeeper. Types
// only; counts tied to lib/push/counts.js by typings.test.js.
import type { MessageKind, Policy, UserId } from '../index'
import type { Store, Page } from './stores/store'

/** How the worker POSTs: `{ status, body?, json }` (json null when the body is not JSON); rejects on a
 * network failure. With `body`, the raw text, the core reads a send's answer from it (every digit of
 * a msgid kept); without it, from `json`. */
export interface Transport {
  post(path: string, body: string): Promise<{ status: number; body?: string; json: any }>
  close?(): void
}

/** HTTP(S) over undici's Pool: keep-alive, one connection per concurrent send, a POST never resent. */
export declare function httpTransport(options: {
  baseUrl: string
  concurrency?: number
  timeoutMs?: number
  /** Close a kept-alive socket after this long idle (default 4000), so that it is never reused just
   * as the server closes it: such a send fails with its fate unknown. */
  idleMs?: number
}): Transport & { close(): void; get(path: string): Promise<{ status: number; body: string; json: any }> }

/** One access_token for every sender: stable_token, refreshed ahead of expiry, refreshed once after
 * a token error (only if the failed token is still the cached one). Tokens are never logged. */
export declare class TokenKeeper {
  constructor(options: {
    transport: Transport
    appid: string
    secret: string
    clock?: () => number
    logger?: Logger
    metrics?: MetricsRegistry
  })
  /** Calls stable_token (`force_refresh: force`) and caches the token. -> it, and when the core
   * says it is due for a refresh (epoch ms). The queue's RedisTokenKeeper shares what it returns. */
  fetchToken(force: boolean): Promise<{ token: string; refreshAt: number }>
  /** The cached token, or a new one once its refresh is due. */
  get(): Promise<string>
  /** After a token error with `token`: a forced refresh, if it is still the cached token. */
  failed(token: string): Promise<void>
}

/** A logger with pino's interface (a pino logger fits). Lines hold counts, errcodes, reasons, user
 * ids and codes: never the app secret, an access_token or an openid. */
export interface Logger {
  child(bindings: Record<string, unknown>): Logger
  debug(obj: object, msg?: string): void
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

/** What the push uses of a prom-client `Registry` (prom-client is an optional peer dependency). */
export interface MetricsRegistry {
  registerMetric(metric: unknown): void
  getSingleMetric(name: string): unknown
}

export type StopReason = 'stopForToday' | 'stopConfigError' | 'tokenUnavailable' | 'stopped' | 'aborted'

/** What one page's work did (`Push.pushPage`): the summary's counts that belong to a page. */
export interface PageCounts {
  sent: number
  /** Skips by plan reason (`alreadyPushedToday`, `noCredential`...) or `after errcode N`. */
  skipped: Record<string, number>
  /** Credentials deleted as dead: those a plan listed dead, and those an answer killed. */
  dead: number
  /** `dead` by reason: the core's (`expired`, `spent`, `invalid`: an id intake would refuse) and
   * `killed` (an answer such as 41028 found it dead). */
  deadByReason: Record<string, number>
  /** Errcodes seen (and `network`, `http N`), including retried ones; a user's own error as
   * `content <code>` or `row <code>` (see `userErrors`). */
  errors: Record<string, number>
  /** Users skipped for an error of their own, the run going on: `content` threw or the core
   * refused the body made from it (`content <code>` in `errors`), or the core refused a row read
   * for them (a credential or user row: `row <code>`). Errors no user escapes (the options, the
   * store, the token) stop the run instead. */
  userErrors: UserError[]
  /** Claims found no longer held when their outcome was applied (another worker's recovery took
   * them over): that worker resolves them. Never fatal to the run. */
  lostClaims: number
  /** Sends this run gave up with an ambiguous answer unresolved (retries ran out, or the run
   * stopped): each is handed over in the store, and the next run resolves it first. */
  unresolved: number
}

/** A user skipped for its own error. `userId` is the user's id in its one form (a string: a
 * numeric id as its decimal text), or null for a row that names no user of the page; `message`
 * starts with the field (`page.credentials[3].usesLeft: ...`). */
export interface UserError {
  userId: string | null
  code: string | null
  message: string
}

/** A delivery the store recorded, with WeChat's msgid for it (its decimal digits). */
export interface Delivery {
  userId: string
  msgid: string | null
  at: number
}

export interface PushSummary extends PageCounts {
  /** Why the run stopped early: `stopForToday` (45009), `stopConfigError`, or `tokenUnavailable`
   * (no access_token could be fetched; `errors` counts it as `token <errcode or error code>`), or
   * the reason given to `Push.stop`. Claims not yet sent are released, so a rerun picks their users up. */
  stopped: null | StopReason
  /** Claims of unknown fate resolved at the start (a crashed worker's, or sends a run gave up
   * after an ambiguous answer), by the core's rule for an ambiguous send. */
  recovered: number
  /** Claims taken over at the start whose sends had never started: released, nothing to resolve. */
  unstarted: number
  /** What the closing sweep dropped: push records and day slots older than the policy's window. */
  swept?: { pushes: number; days: number }
  /** runDailyPush, on a store that records them: the deliveries WeChat's sent events reported
   * failed today (the local day of the run's end), as far as they had arrived by then
   * (`weapp-notify/events`' PushIntake records them). */
  failedDeliveries?: { total: number; byErrorCode: Record<string, number> }
  /** `runDailyPush({ quota: true })`'s: the day's quota read before the push (`unknown` says why
   * none could be read; the push then ran without a budget). */
  quota?:
    | { cgiPath: string; dailyLimit: number | null; used: number | null; remain: number; sends: number }
    | { cgiPath?: string; unknown: string }
  /** `runDailyPush`'s: users still held by another worker's claims when it stopped coming back
   * for them (`leaseWaitMs`), counted in `skipped.claimedElsewhere`, and when the last of those
   * leases runs out if not renewed (by this run's leaseMs; null when none wait). A live holder
   * pushes them; a rerun after `until` takes a dead one's over. */
  waiting?: { users: number; until: number | null; userIds: string[] }
  /** `runDailyPush`'s: each delivery of the run, with WeChat's msgid (null where none was seen). */
  deliveries?: { userId: string; msgid: string | null }[]
}

/** An answer's batch decision that is not `continue`, or no token to be had: what a fleet of
 * workers shares (a queue pauses or stops every worker on it). */
export interface BatchEvent {
  batch: 'wait' | 'stopForToday' | 'stopConfigError' | 'tokenUnavailable'
  /** The answer's errcode (45011, 45009, 40037...); absent for `tokenUnavailable`. */
  errcode?: number
  /** For `wait`: how long no send should start. */
  retryInMs?: number
}

interface PushOptionsBase {
  store: Store
  /** The users the business excludes (e.g. checked in today), asked once per page with the page's
   * user ids in their one form (strings: a numeric id as its decimal text). The Set's members are
   * matched in that form: `new Set([42])` excludes the user `'42'`; a member that is no user id
   * (NaN, 4.5, an object) is `ERR_INVALID_ARGUMENT` at `excluded`, as is an answer that is no Set. */
  excluded?: (userIds: string[]) => Promise<Set<UserId>>
  message: MessageKind
  /** The message for one user (its id in the one form, a string), without the credential: the
   * worker adds `formId`. */
  content: (userId: string) => {
    touser: string
    templateId: string
    page?: string
    data: Record<string, unknown>
    [k: string]: unknown
  }
  policy?: Policy
  clock?: () => number
  /** Sends in flight at once (default 128). */
  concurrency?: number
  /** Users being claimed, sent or applied at once (default `concurrency` times the store's
   * `usersPerSend`, else `concurrency`); never more than `concurrency` of them sending. */
  usersInFlight?: number
  /** How long a claim holds before recovery may take it over (default 60000). */
  leaseMs?: number
  /** How long a store call is retried on a transient fault (a reset or refused connection, a
   * timeout, a server restarting, a lock wait, a Cluster's MOVED/ASK/TRYAGAIN/CLUSTERDOWN) before
   * the run stops with ERR_STORE_UNAVAILABLE (default 30000; 0: not retried). */
  storeRetryMs?: number
  /** How far `clock` may be from the store's clock (`store.stamp()`, read before recovery, at each
   * page and at the run's end) before the push stops with ERR_CLOCK_SKEW (default 2000). `null`:
   * not checked, for a clock meant to differ from the store's (a simulation). */
  clockToleranceMs?: number | null
  /** Uniform in [0, 1), for retry jitter (default Math.random). */
  random?: () => number
  /** For subscribe messages: each body is checked against `templates.template(message.templateId)`
   * (a TemplateRegistry, weapp-notify/templates); a body that does not fit is that user's error
   * (`content ERR_TEMPLATE_MISMATCH`), and nothing is sent to them. */
  templates?: { template(templateId: string): Promise<import('../index').Template> }
  /** Told of every answer whose batch decision is not `continue`, and once when no token can be
   * had. A hook that throws fails the run. */
  onBatch?: (event: BatchEvent) => void
  /** Told of each delivery once the store has it, with WeChat's msgid (null when its answer was
   * never seen: a send of unknown fate counted as delivered). A hook that throws fails the run. */
  onDelivered?: (delivery: Delivery) => void
  /** Where the push logs (pino's interface; default: nothing is logged): sends not delivered and
   * dead credentials at debug, token fetches and the run's end at info, batch decisions at warn,
   * no token and the push's failure at error. */
  logger?: Logger
  /** Aborting it stops the push: no send starts, sends in flight finish (or are handed over with
   * their fate unknown), claims not sent are released, `summary.stopped` is `aborted`. */
  signal?: AbortSignal
  /** The sends left for today, shared: each post takes one first (`take()` false: the push stops
   * for today, `stopForToday`). weapp-notify/queue passes the fleet's with `quota: true`. */
  budget?: { take(): boolean | Promise<boolean> }
  /** A prom-client Registry: weapp_notify_sends_total{api,errcode,action},
   * weapp_notify_send_duration_seconds{api}, weapp_notify_token_refreshes_total{mode},
   * weapp_notify_credentials_dead_total{reason}, and the gauges weapp_notify_users_planned,
   * weapp_notify_users_sent, weapp_notify_users_left, weapp_notify_pages_left (the queue's). */
  metrics?: MetricsRegistry
}

interface RunOptions {
  /** Pages to push (default: the store's own `pageUsers`). */
  pages?: AsyncIterable<Page>
  pageSize?: number
  /** Told with a copy of the summary once each page's users are all done (their sends confirmed),
   * and once more at the end with the summary the run returns. A hook that throws stops the push,
   * and the run rejects with its error (`onProgress: ...`). */
  onProgress?: (summary: PushSummary) => void
  /** Read the day's quota of the send API from WeChat (getApiQuota, /cgi-bin/openapi/quota/get)
   * before the push, and start no send past what remains: the push then stops for today
   * (`stopForToday`) without a 45009. Default false. */
  quota?: boolean
  /** Sweep history older than the policy's window at the end (default true). */
  sweep?: boolean
  /** How long, after its pages, the run keeps coming back for users it met held by another
   * worker's claims (or whose claims another worker took over), so that a dead worker's are
   * taken over once their leases run out and pushed. Default leaseMs + 4000; 0: not at all.
   * Those still held then are named in `summary.waiting`. */
  leaseWaitMs?: number
}

/** Where the sends go: WeChat's address and app (the worker makes a keep-alive transport and a
 * TokenKeeper), or your own transport (and then tokens, or wechat's appid and secret). */
export type CreatePushOptions = PushOptionsBase &
  (
    | { wechat: { baseUrl: string; appid: string; secret: string }; transport?: Transport; tokens?: TokenKeeper }
    | { wechat: { baseUrl?: string; appid: string; secret: string }; transport: Transport; tokens?: TokenKeeper }
    | { wechat?: undefined; transport: Transport; tokens: TokenKeeper }
  )

export type PushOptions = CreatePushOptions & RunOptions

/** A push carried out page by page: `runDailyPush` is a loop over one, and a queue's page jobs use
 * one per process. */
export interface Push {
  /** The run's live summary. */
  readonly summary: PushSummary
  /** Stopped (a stop reason is set) or failed: no send starts any more. */
  readonly halted: boolean
  /** Takes over claims whose leases ran out (a crashed worker's, or sends handed over with their
   * fate unknown) and resolves them by the core's rules. Run it before the first page. Resolves to
   * what it did: a page's counts (the sends it made), and the claims recovered and released unstarted. */
  recover(): Promise<PageCounts & { recovered: number; unstarted: number }>
  /** Plans one page (as `store.pageUsers` returns it) with the core, claims, sends and applies;
   * resolves to this page's own counts once every user of it is done, or rejects with the push's
   * failure (a `PushUserError`, or the page's own error). */
  pushPage(page: Page): Promise<PageCounts>
  /** No send starts from now; claims not yet sent are released. `summary.stopped` keeps the first
   * reason (default `stopped`). */
  stop(reason?: StopReason): void
  /** No send starts before `at` (epoch ms): a pause a whole fleet shares (45011). */
  pauseUntil(at: number): void
  /** Waits for the work in flight, stops renewing leases and closes a transport the push made;
   * rejects with the push's failure, if any. */
  close(): Promise<void>
}

/** A push to drive page by page. Wrong options throw `ERR_INVALID_ARGUMENT` (the message starts
 * with the option); the message and policy are checked by the core before anything is claimed. */
export declare function createPush(options: CreatePushOptions): Push

/** An error `runDailyPush` rejects with when one user's work threw: the message starts with
 * `user <id>: `, `code` is the original error's, `cause` the original error. */
export interface PushUserError extends Error {
  userId: UserId
  code?: string
  cause: unknown
}

/** The daily push: pages of users planned by the core, each send claimed in the store, POSTed with
 * bounded concurrency and one send per user at a time, and the credential state the core computes
 * from each answer stored compare-and-set. Wrong options reject with `ERR_INVALID_ARGUMENT` (the
 * message starts with the option). If one user's work throws (anything but a lost claim), no send
 * starts after it, unsent claims are released, a transport the worker made is closed, and the run
 * rejects with a `PushUserError`. */
export declare function runDailyPush(options: PushOptions): Promise<PushSummary>
