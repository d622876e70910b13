// weapp-notify/events: the types of lib/events.js (WeChat's message push taken in). Types only;
// may not declare what events.js does not export.
import type { ParsedPush, StoredCredential, SubscribeResult, UserId } from '../index'
import type { Store } from './stores/store'

/** Keys seen within a window (nonces, events), claimed once each. */
export interface SeenKeys {
  /** True the first time a key is claimed within `ttlMs`; false while it is held. */
  claim(key: string, ttlMs: number, now?: number): boolean | Promise<boolean>
  /** Lets a key go: the push it stood for was not applied. */
  forget(key: string): void | Promise<void>
}

/** Keys seen in this process, at most `max` (100000) of them, oldest forgotten first. */
export declare function memorySeen(options?: { max?: number }): SeenKeys
/** Keys seen by every intake process on one Redis or Cluster (SET NX PX under `prefix:seen:`). */
export declare function redisSeen(options: {
  redis: import('ioredis').Redis | import('ioredis').Cluster
  prefix?: string
}): SeenKeys

export interface PushIntakeOptions {
  /** The push settings' Token. */
  token: string
  /** The EncodingAESKey, for safe mode (then `appId` too). */
  encodingAesKey?: string
  appId?: string
  store: Store
  /** Your user for an openid; null or undefined: not one of yours (the push is answered, nothing stored). */
  userOf(openid: string): UserId | null | undefined | Promise<UserId | null | undefined>
  /** Where grants come from: the client's `requestSubscribeMessage` results (`'client'`, the
   * default) or WeChat's popup events (`'events'`). Both report the same accept with no id in
   * common, so one is the source: the other is read and adds nothing. */
  grantSource?: 'client' | 'events'
  /** Templates whose accept is a long-term subscription, not a counted grant. */
  longTermTemplates?: string[]
  /** How far a push's timestamp may be from now (default 300000, 5 minutes); nonces and events are
   * remembered twice that long. */
  maxAgeMs?: number
  /** Where nonces and events seen are kept (default `memorySeen()`: one intake process). */
  seen?: SeenKeys
  clock?: () => number
}

export interface PushRequest {
  /** 'GET' is WeChat's check of the URL (answered with its echostr); 'POST' (default) a push. */
  method?: 'GET' | 'POST'
  /** The request's query, each value one string. */
  query: Record<string, string>
  /** The raw body text, exactly as received (POST). */
  body?: string
}

export interface PushAnswer {
  /** What to answer WeChat with: 200 and `success` (or the echostr); 403 for a refused push. */
  status: 200 | 403
  body: string
  /** `applied`; `duplicate` (WeChat re-sent one already applied); `unknownUser`; `ignored` (no
   * subscription event); `urlCheck`; `refused` (forged, stale or replayed: nothing stored). */
  outcome: 'applied' | 'duplicate' | 'unknownUser' | 'ignored' | 'urlCheck' | 'refused'
  push?: ParsedPush
  userId?: UserId
  /** popup: grants saved (0 when the client is the source). */
  granted?: number
  /** change: credentials ended, and those a send in flight still held after a few tries. */
  revoked?: number
  revokePending?: number
  /** sent: failed deliveries newly recorded. */
  failed?: number
  /** refused: the ERR_PUSH_REFUSED error, naming what failed. */
  error?: Error & { code: 'ERR_PUSH_REFUSED'; field: string }
}

/** The app's message-push URL: WeChat's pushes verified, de-duplicated and applied to a store. */
export declare class PushIntake {
  constructor(options: PushIntakeOptions)
  /** One request to the push URL. Throws only for the store's errors (answer 500: WeChat retries). */
  handle(request: PushRequest): Promise<PushAnswer>
  /** A client's `wx.requestSubscribeMessage` result: its grants saved when the client is the
   * source (`saved`), read and not saved when events are. */
  clientResult(input: { userId: UserId; result: SubscribeResult }): Promise<{
    grants: StoredCredential[]
    declined: { templateId: string; status: string }[]
    saved: number
  }>
}
