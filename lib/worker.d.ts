import type { MessageKind, Policy, UserId } from '../index'
import type { Store, Page } from './stores/store'

/** How the worker POSTs: `{ status, json }` (json null when the body is not JSON); rejects on a network failure. */
export interface Transport {
  post(path: string, body: string): Promise<{ status: number; json: any }>
  close?(): void
}

/** node:http(s) with keep-alive and one socket per concurrent send. */
export declare function httpTransport(options: {
  baseUrl: string
  concurrency?: number
  timeoutMs?: number
  /** Close a kept-alive socket after this long idle (default 4000), so that it is never reused just
   * as the server closes it: such a send fails with its fate unknown. */
  idleMs?: number
}): Transport & { close(): void }

/** One access_token for every sender: stable_token, refreshed ahead of expiry, refreshed once after
 * a token error (only if the failed token is still the cached one). Tokens are never logged. */
export declare class TokenKeeper {
  constructor(options: { transport: Transport; appid: string; secret: string; clock?: () => number })
  get(): Promise<string>
  failed(token: string): Promise<void>
}

export interface PushSummary {
  sent: number
  /** Skips by plan reason (`alreadyPushedToday`, `noCredential`...) or `after errcode N`. */
  skipped: Record<string, number>
  /** Credentials found dead or killed by an answer. */
  dead: number
  /** Errcodes seen (and `network`, `http N`), including retried ones. */
  errors: Record<string, number>
  /** Why the run stopped early: `stopForToday` (45009), `stopConfigError`, or `tokenUnavailable`
   * (no access_token could be fetched; `errors` counts it as `token <errcode or error code>`). Claims
   * not yet sent are released, so a rerun picks their users up. */
  stopped: null | 'stopForToday' | 'stopConfigError' | 'tokenUnavailable'
  /** Claims of a crashed worker resolved at the start. */
  recovered: number
  /** Dead credentials the closing sweep deleted. */
  swept?: number
}

/** The daily push: pages of users planned by the core, each send claimed in the store, POSTed with
 * bounded concurrency and one send per user at a time, and its outcome applied as the core decides. */
export declare function runDailyPush(options: {
  store: Store
  /** Pages to push (default: the store's own `pageUsers`). */
  pages?: AsyncIterable<Page>
  /** The users the business excludes (e.g. checked in today), asked once per page. */
  excluded?: (userIds: string[]) => Promise<Set<string>>
  message: MessageKind
  /** The message for one user, without the credential: the worker adds `formId`. */
  content: (userId: UserId) => {
    touser: string
    templateId: string
    page?: string
    data: Record<string, unknown>
    [k: string]: unknown
  }
  wechat?: { baseUrl: string; appid: string; secret: string }
  transport?: Transport
  tokens?: TokenKeeper
  policy?: Policy
  clock?: () => number
  /** Sends in flight at once (default 128). */
  concurrency?: number
  /** Users being claimed, sent or applied at once (default `concurrency` times the store's
   * `usersPerSend`, else `concurrency`); never more than `concurrency` of them sending. */
  usersInFlight?: number
  /** How long a claim holds before recovery may take it over (default 60000). */
  leaseMs?: number
  pageSize?: number
  /** Uniform in [0, 1), for retry jitter (default Math.random). */
  random?: () => number
  onProgress?: (summary: PushSummary) => void
  /** Sweep dead credentials at the end (default true). */
  sweep?: boolean
}): Promise<PushSummary>
