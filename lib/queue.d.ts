// weapp-notify/queue: the types of lib/queue/ (the BullMQ fleet queue). Types only; may not
// declare what the queue does not export.
import type { Policy } from '../index'
import type { Store } from './stores/store'
import type { CreatePushOptions, PageCounts, PushSummary, Transport } from './worker'

/** What the queue uses of an ioredis `Redis` (created with `maxRetriesPerRequest: null`, as BullMQ's
 * workers need) or `Cluster` client, written out so that these typings compile where ioredis is
 * not installed. BullMQ (an optional peer dependency) is loaded when a queue is created. */
export interface QueueRedisClient {
  defineCommand(name: string, definition: { lua: string; numberOfKeys?: number }): void
  duplicate(): unknown
  readonly isCluster?: boolean
}

/** Where a queue's stop came from: an answer's batch decision that stops the fleet. */
export interface QueueStop {
  /** The local day it happened on (weapp-notify `localDay`). */
  day: number
  /** `stopForToday` (45009: lifted when the next day is split, or by `rerun()`), `stopConfigError`
   * (40037, 41030, 48001, a token refused after a refresh: until `rerun()`), `tokenUnavailable`
   * (no access_token from stable_token: lifted the next day, or by `rerun()`). */
  reason: 'stopForToday' | 'stopConfigError' | 'tokenUnavailable'
  errcode?: number
  /** When, by the queue's clock (epoch ms). */
  at: number
}

/** One day's push, added up over every worker of the fleet. Each page run adds its counts once
 * (a run recorded twice adds nothing). A page that ran more than once (its worker was killed, or a
 * stop caught it) counts the users an earlier run pushed among `skipped.alreadyPushedToday`; the
 * sends of a killed run are not counted in `sent`, and the claims it left are counted in
 * `recovered` and `unstarted` by the run that resolved them. */
export interface DaySummary extends Omit<PageCounts, 'userErrors'> {
  day: number
  /** Users skipped for an error of their own, by code (each page job's result lists them). */
  userErrors: Record<string, number>
  /** Claims of unknown fate (a killed worker's) resolved by the core's rule for an ambiguous send. */
  recovered: number
  /** Claims a killed worker left before its send started: released. */
  unstarted: number
  pages: {
    /** How many page jobs the day was split into; null until the split has finished. */
    total: number | null
    done: number
    /** Pages whose day was over before a worker took them (tomorrow's split covers their users). */
    expired: number
    /** total - done - expired; null until the split has finished. */
    left: number | null
  }
  /** The fleet's stop for this day, or null. */
  stopped: QueueStop | null
  /** With `quota: true`: the day's quota as its split read it (`sends`: the fleet's budget, by the
   * core's sendBudget), and `left`, the sends of it not yet taken (absent after a rerun lifted it). */
  quota?:
    | { cgiPath: string; dailyLimit: number | null; used: number | null; remain: number; sends: number; left?: number }
    | { cgiPath?: string; unknown: string }
}

/** createPush's options a queue worker passes on (its policy and clock are the queue's, its budget
 * the fleet's quota), with the store, which must also page user ids alone (`userIds`) and page
 * within bounds (`until`). */
/** Omit over each member of a union: a plain Omit of a union keeps only what its members share, so
 * an options object with neither `wechat` nor `transport` would type-check. */
type OmitEach<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

export type QueueWorkOptions = OmitEach<CreatePushOptions, 'policy' | 'clock' | 'onBatch' | 'budget' | 'store'> & {
  store: Store & {
    userIds(input: { after: string | null; limit: number }): Promise<{ userIds: string[]; next: string | null }>
  }
  /** Users per page job, and per store read within one (default 1000). */
  pageSize?: number
  /** Page jobs this process works on at once (default 2): their users share `concurrency` sends. */
  pagesAtOnce?: number
  /** How often BullMQ looks for stalled jobs (a killed worker's), in ms (default: the page lock,
   * 2 x leaseMs + 1 s, at most 30 s). */
  stalledIntervalMs?: number
  /** Told once for the whole fleet, in the process whose answer stopped it. */
  onStop?: (stop: QueueStop) => void
  /** Told the day's totals (as `summary()` reads them) after each page run this process recorded;
   * the day's end (`pages.left` 0) is told once for the fleet, by the process that recorded its
   * last page (or ended its split). A hook that throws is reported to `onError`. */
  onProgress?: (summary: DaySummary) => void
  /** The day's split reads the send API's quota (getApiQuota) once, and the fleet starts no send
   * past it: each post takes one send of the budget in Redis, and none left is the fleet's stop for
   * today (`stopForToday`, no errcode) before WeChat answers 45009. `rerun()` lifts the budget with
   * the stop. Default false. */
  quota?: boolean
}

/** A process's workers on the queue. */
export interface QueueWorker {
  /** This process's current push: its live summary. */
  readonly summary: PushSummary
  /** Waits for the page jobs in flight, then closes the workers, the push and what it made. */
  close(): Promise<void>
}

export interface PushQueue {
  /** BullMQ's queues (day jobs, page jobs), for BullMQ's own tools. */
  readonly queues: { days: unknown; pages: unknown }
  /** Fires the push every day at `at` ("HH:MM" at the policy's utcOffset, default "10:00"): one
   * BullMQ job scheduler, the same one from every process that calls this. -> its cron pattern in UTC. */
  schedule(input?: { at?: string }): Promise<{ pattern: string; tz: 'UTC' }>
  /** Today's push, now: one day job per local day, however many processes fire it, how often. */
  fire(): Promise<{ day: number }>
  /** The day's totals (default today), readable from any process. */
  summary(input?: { day?: number }): Promise<DaySummary>
  /** Lifts the fleet's stop; the pages left resume. -> the stop lifted, or null. */
  rerun(): Promise<QueueStop | null>
  /** Starts this process's workers: day jobs are split into page jobs, page jobs are pushed. */
  work(options: QueueWorkOptions): QueueWorker
  /** Closes the queues (not the connection, which is the caller's). */
  close(): Promise<void>
}

/** The daily push shared by worker processes on BullMQ. The day's users are split into page jobs
 * over disjoint key ranges of the store's own paging (job ids from the day and the range, so that a
 * day fired twice is one push); each page runs through createPush's `pushPage`; a killed worker's
 * page comes back through BullMQ's stalled-job handling, and the store's claims keep every user to
 * one message a day. A 45011 pauses the whole queue (BullMQ's rate limit), a 45009 or a
 * configuration error stops every worker (reported once) with the pages left kept for a rerun.
 * Wrong options throw `ERR_INVALID_ARGUMENT` naming the option. */
export declare function createPushQueue(options: {
  connection: QueueRedisClient
  /** BullMQ's key prefix, also the queue's own (default "{weapp-notify}"); a Cluster needs a hash tag. */
  prefix?: string
  /** Default "daily-push": the queues are `<name>-days` and `<name>-pages`. */
  name?: string
  /** The users' policy: its `utcOffset` sets the schedule and the local days. */
  policy?: Policy
  clock?: () => number
  /** The queue's own errors in the background (a Redis connection lost, a stop that could not be
   * recorded, a hook that threw); default: printed to stderr. */
  onError?: (error: Error) => void
}): PushQueue

/** One access_token for a fleet of processes, kept in Redis: one stable_token fetch per token
 * lifetime across the fleet (under a lock), and a forced refresh after a token error only while
 * the failed token is still the shared one (compare-and-set). Pass it as createPush's or
 * runDailyPush's `tokens`; a queue's workers make one themselves. */
export declare class RedisTokenKeeper {
  constructor(options: {
    redis: QueueRedisClient
    /** Default "{weapp-notify}"; a Cluster needs a hash tag. */
    prefix?: string
    wechat: { baseUrl?: string; appid: string; secret: string }
    /** How stable_token is called (default: keep-alive HTTP to wechat.baseUrl). */
    transport?: Transport
    clock?: () => number
    /** How long one process may hold the token lock (default 30000). */
    lockMs?: number
    /** Logs each token fetch (pino's interface; never the token). */
    logger?: import('./worker').Logger
    /** Counts each token fetch in weapp_notify_token_refreshes_total{mode}. */
    metrics?: import('./worker').MetricsRegistry
  })
  get(): Promise<string>
  failed(token: string): Promise<void>
  /** Closes the transport the keeper made. */
  close(): void
}
