// Type definitions for weapp-notify. Every export of index.js (and of the wasm build, which has
// the same API) is declared here. Owns the types and their docs only: the names are lib/api.js's
// (the op names the core's `api::OPS`), the codes the core's, and __test__/api.test.js and
// typings.test.js fail when this file and the exports disagree.

/** Epoch milliseconds, or a `Date`. */
export type Instant = number | Date

/** A user key: a string, or an integer id as a DB driver returns it (the core keeps its decimal string). */
export type UserId = string | number

/** The stable code of every error weapp-notify throws, as `err.code`. */
export type ErrorCode =
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_INVALID_TIME'
  | 'ERR_EMPTY_VALUE'
  | 'ERR_MOCK_FORM_ID'
  | 'ERR_DEV_TRIAL_FORM_ID'
  | 'ERR_FORM_ID_REQUEST_FAILED'
  | 'ERR_CONTROL_CHARACTER'
  | 'ERR_TOO_LONG'
  | 'ERR_SUBSCRIBE_REQUEST_FAILED'
  | 'ERR_UNKNOWN_SUBSCRIBE_STATUS'
  | 'ERR_TOO_MANY_TEMPLATES'
  | 'ERR_UNKNOWN_KEY_TYPE'
  | 'ERR_VALUE_TOO_LONG'
  | 'ERR_INVALID_VALUE'
  | 'ERR_PUSH_REFUSED'
  | 'ERR_TEMPLATE_MISMATCH'

/** What weapp-notify throws: an Error whose message starts with the offending field (`formId: ...`). */
export interface WeappNotifyError extends Error {
  code: ErrorCode
}

/** Which backend this process loaded: the native addon, or the WebAssembly build. */
export declare const backend: 'native' | 'wasm'
/** Why this backend: null for the native addon; else why the addon did not load (also told once
 * through process.emitWarning, code WEAPP_NOTIFY_WASM, where a platform package is published for
 * this machine), `'WEAPP_NOTIFY_BACKEND=wasm'`, or `'weapp-notify/wasm'`. */
export declare const backendReason: string | null
/** Every error code, in the core's order. */
export declare const ERROR_CODES: readonly ErrorCode[]
/** Credential kinds; a kind's index is its code in the columnar plan. */
export declare const CREDENTIAL_KINDS: readonly CredentialKind[]
/** Skip reasons; reason code `i + 1` of the columnar plan is `SKIP_REASONS[i]` (0 is "send"). */
export declare const SKIP_REASONS: readonly SkipReason[]
/** The most users one page plans (`planPage`'s `users`, `planColumns`' `users.count`: 1,000,000);
 * a larger page is refused (ERR_INVALID_ARGUMENT) before anything is allocated for it. */
export declare const MAX_PAGE_USERS: number
/** The most rows of one kind (credentials; pushes) one page plans: 4,000,000. */
export declare const MAX_PAGE_ROWS: number

// ---------------------------------------------------------------- credentials

/** `formId` (1 use, 7 days), `prepayId` (3 uses, 7 days from payment), `grant` (one-time
 * subscription grants of one template, counted), `longTerm` (unlimited while subscribed). */
export type CredentialKind = 'formId' | 'prepayId' | 'grant' | 'longTerm'

/** A stored credential. Extra properties (a DB row id...) are allowed and ignored by the rules. */
export interface Credential {
  kind: CredentialKind
  /** The formId or prepay_id; for grants and long-term subscriptions, the template id. */
  id: string
  userId: UserId
  /** Required for `grant` and `longTerm`, absent or null otherwise. */
  templateId?: string | null
  /** Uses left; `null` means unlimited (`longTerm` only). */
  usesLeft: number | null
  /** When it dies; `null` for grants and long-term subscriptions, which never expire. */
  expireAt: Instant | null
}

/** A credential as the core returns it: user ids as strings, every field present. */
export interface StoredCredential extends Credential {
  userId: string
  templateId: string | null
  expireAt: number | null
}

/** Validates a formId the client posted; expires 7 days after `collectedAt`.
 * @throws {WeappNotifyError} ERR_MOCK_FORM_ID, ERR_DEV_TRIAL_FORM_ID, ERR_FORM_ID_REQUEST_FAILED,
 * ERR_EMPTY_VALUE, ERR_CONTROL_CHARACTER, ERR_TOO_LONG, ERR_INVALID_TIME, ERR_INVALID_ARGUMENT */
export declare function intakeFormId(input: {
  userId: UserId
  formId: string | null | undefined
  collectedAt: Instant
}): StoredCredential

/** Validates a prepay_id once its order is paid: 3 uses, 7 days from `paidAt`. */
export declare function intakePrepayId(input: {
  userId: UserId
  prepayId: string | null | undefined
  paidAt: Instant
}): StoredCredential

/** The `success` result of `wx.requestSubscribeMessage`. */
export type SubscribeResult = { errMsg?: string } & Record<string, string>

/** One grant per template answered `accept` or any accept variant (every answer that begins with
 * `accept`: `acceptWithAudio`, `acceptWithAlert`, `acceptWithForcePush`...); every other answer
 * (`reject`, `ban`, `filter`, or one WeChat adds) grants nothing and is listed in `declined`. A
 * status that is not a string throws ERR_UNKNOWN_SUBSCRIBE_STATUS. Grants never expire. */
export declare function intakeSubscribeResult(input: { userId: UserId; result: SubscribeResult }): {
  grants: StoredCredential[]
  declined: { templateId: string; status: 'reject' | 'ban' | 'filter' }[]
}

/** A long-term subscription to a template: unlimited sends while it stands. */
export declare function intakeLongTermSubscription(input: { userId: UserId; templateId: string }): StoredCredential

// ---------------------------------------------------------------- policy and selection

/** The daily-eligibility rules. Every field is optional; `resolvePolicy({})` shows the defaults. */
export interface Policy {
  /** The users' fixed UTC offset, `"+08:00"` (default; China has no DST). */
  utcOffset?: string
  /** Pushes per user per local day (default 1). */
  maxPushesPerDay?: number
  /** Local hours with no pushes; `from` after `to` wraps midnight. Default none. */
  quietHours?: { from: string; to: string } | null
  /** Minimum time between two pushes to one user (default 0). */
  minGapMs?: number
  /** A credential must outlive now by this much to be picked (default 300000: 5 minutes). */
  safetyMarginMs?: number
}

export type ResolvedPolicy = Required<Policy>

/** The policy with every default written out; throws if it is invalid. */
export declare function resolvePolicy(policy: Policy): ResolvedPolicy

/** A template message needs a formId or prepay_id; a subscribe message a grant for its template. */
export type MessageKind = { type: 'template' } | { type: 'subscribe'; templateId: string }

/** The credential to send with: usable (an id intake accepts, uses left, alive past now +
 * safetyMarginMs), earliest
 * expiry first, then long-term before grants and formId before prepay_id, then by id. `null` if none.
 * All credentials must belong to one user. */
export declare function selectCredential(input: {
  credentials: Credential[]
  message: MessageKind
  now: Instant
  policy?: Policy
}): { index: number; credential: StoredCredential; afterDelivery: StoredCredential } | null

export type SkipReason = 'noCredential' | 'alreadyPushedToday' | 'quietHours' | 'tooSoon' | 'excludedByBusiness'

export interface Eligibility {
  allowed: boolean
  /** Why not now; `null` when allowed. */
  reason: SkipReason | null
  /** The earliest instant the user may be pushed (`now` when allowed). */
  notBefore: number
}

/** Whether a user with these past pushes may be pushed now, by the policy's local day, quiet hours and gap. */
export declare function checkEligibility(input: { pushedAt: Instant[]; now: Instant; policy?: Policy }): Eligibility

/** What a send did to its credential: `consume` one use, `dead` (no use left), `keep` unchanged. */
export type SendEffect = 'consume' | 'dead' | 'keep'

/** The credential as it must be stored after a send with this effect. */
export declare function applySendEffect(input: { credential: Credential; effect: SendEffect }): StoredCredential

/** Why a stored credential is dead: `expired` at `expireAt` exactly, `spent` (no uses left), or
 * `invalid`: its id (or template id) is one intake refuses (empty, `"undefined"`, `"null"`, a
 * DevTools or dev/trial placeholder, `requestFormId:fail ...`, a control character, over 128
 * characters), as legacy tables hold them. Invalid wins over the other two. */
export type DeathReason = 'expired' | 'spent' | 'invalid'

/** The credentials dead at `now`, by input index: delete them. */
export declare function deadCredentials(input: { credentials: Credential[]; now: Instant }): {
  index: number
  id: string
  userId: string
  reason: DeathReason
}[]

/** A send's end for its credential in one call: `applySendEffect`'s answer and, of that, what
 * `deadCredentials` would say at `now` (`dead: null` while it stays usable). */
export declare function settleSend(input: { credential: Credential; effect: SendEffect; now: Instant }): {
  credential: StoredCredential
  dead: DeathReason | null
}

/** Sends left per user and per user x template, computed from live credentials (no counter to
 * drift; a credential dead for any reason counts nothing). */
export declare function countSends(input: { credentials: Credential[]; now: Instant }): {
  userId: string
  templateMessage: number
  /** `sendsLeft: null` means unlimited (a long-term subscription). */
  subscribe: { templateId: string; sendsLeft: number | null }[]
}[]

// ---------------------------------------------------------------- the plan

export interface PlanUser {
  userId: UserId
  /** Recent pushes to this user (today's and the last one are what the rules read). */
  pushedAt?: Instant[]
  /** The business excludes this user (e.g. already checked in today). */
  excluded?: boolean
}

export type PlanDecision<C extends Credential = Credential> =
  | {
      action: 'send'
      userId: UserId
      credentialIndex: number
      credential: C
      afterDelivery: C & { usesLeft: number | null }
    }
  | { action: 'skip'; userId: UserId; reason: SkipReason; notBefore: number | null }

/** Plans one page of the daily push from row objects: one decision per user, in the order of
 * `users`, and the credentials found dead (delete them), in the order of `credentials`. Row order
 * never changes a decision (ties go by credential id). A credential row may carry other columns
 * of its table; a user row or the input with an unknown field is `ERR_INVALID_ARGUMENT`. The
 * decisions hand back the caller's own row objects. */
export declare function planPage<C extends Credential>(input: {
  users: PlanUser[]
  credentials: C[]
  message: MessageKind
  now: Instant
  policy?: Policy
}): { decisions: PlanDecision<C>[]; dead: { index: number; id: string; userId: UserId; reason: DeathReason }[] }

/** The columnar input of `planColumns`. Each credential row names its user in one of three
 * ways: by index `0..count-1` (`credentials.user`), by integer id (`credentials.userKey`, matched
 * to `users.key`), or by string id (`credentials.userIds`, matched to `users.ids`). Kind codes
 * index `CREDENTIAL_KINDS`; `NaN` usesLeft means unlimited, `NaN` expireAt never; template
 * `0xFFFFFFFF` means none. */
export interface PlanColumnsInput {
  users: {
    /** At most `MAX_PAGE_USERS`; every per-user column given (`excluded`, `key`, `ids`) is this long. */
    count: number
    excluded?: Uint8Array
    /** Integer user ids, with `credentials.userKey`. */
    key?: Float64Array
    /** String user ids, with `credentials.userIds`. */
    ids?: string[]
  }
  pushes?: { user?: Uint32Array; at?: Float64Array }
  credentials: {
    user?: Uint32Array
    userKey?: Float64Array
    userIds?: string[]
    kind: Uint8Array
    usesLeft: Float64Array
    expireAt: Float64Array
    template?: Uint32Array
    /** Credential ids: a row whose id intake refuses is dead (`invalid`), and equal expiries go
     * to the smallest id. Without them ids are taken as checked at intake, and ties go by row. */
    ids?: string[]
  }
  /** The template ids `credentials.template` indexes. */
  templates?: string[]
  message: MessageKind
  now: Instant
  policy?: Policy
}

/** Per user: `choice` (credential row, -1 for none), `reason` (0 send, else `SKIP_REASONS[reason - 1]`),
 * `notBefore` (NaN unless the policy gave a time), `usesAfter` (the chosen credential's usesLeft after
 * delivery, NaN for unlimited). Dead credentials by row, with `deadReason` 0 expired, 1 spent,
 * 2 invalid.
 * The four per-user arrays are views of one `ArrayBuffer` of their own; the dead lists are copies. */
export interface ColumnPlan {
  choice: Int32Array
  reason: Uint8Array
  notBefore: Float64Array
  usesAfter: Float64Array
  deadRows: Uint32Array
  deadReason: Uint8Array
}

/** The plan over typed-array columns: nothing crosses per row as an object. */
export declare function planColumns(input: PlanColumnsInput): ColumnPlan

// ---------------------------------------------------------------- messages

/** A value as given: text, a number (sent as its string; epoch ms for `time`/`date` keys) or a Date. */
export type MessageValue = string | number | Date

export interface ValueOptions {
  /** The offset Dates are written in (default `"+08:00"`). */
  utcOffset?: string
  /** chrono strftime patterns; defaults `%Y年%-m月%-d日 %H:%M` and `%Y年%-m月%-d日`. */
  formats?: { time?: string; date?: string }
  /** `error` (default), or `truncate` free text (thing, name, character_string) with an ellipsis inside the limit. */
  overflow?: 'error' | 'truncate'
  /** `error` (default) for keys of undocumented types, or `passThrough` to send them unchecked. */
  unknownKeys?: 'error' | 'passThrough'
}

export interface BuiltMessage<B> {
  /** The API path, to POST with `?access_token=...`. */
  path: string
  /** The body as the exact JSON string to POST. */
  json: string
  body: B
}

export interface SubscribeBody {
  touser: string
  template_id: string
  page?: string
  data: Record<string, { value: string }>
  miniprogram_state: 'developer' | 'trial' | 'formal'
  lang: 'zh_CN' | 'en_US' | 'zh_HK' | 'zh_TW'
}

export interface TemplateBody {
  touser: string
  template_id: string
  page?: string
  form_id: string
  data: Record<string, { value: string; color?: string }>
  emphasis_keyword?: string
}

/** One entry of getTemplateList's `data`, as WeChat answers it (fields not listed are ignored). */
export interface ListedTemplate {
  priTmplId: string
  content: string
  title?: string
  example?: string
  /** 2 one-time, 3 long-term (a numeric string is read too). */
  type?: number | string
  keywordEnumValueList?: { keywordCode: string; enumValueList: string[] }[]
  [field: string]: unknown
}

export interface TemplateKeyword {
  /** The data key: `thing1` for the placeholder `{{thing1.DATA}}`. */
  key: string
  /** The text before the placeholder on its line, without its colon (`会议地点`). */
  label?: string | null
  /** The only values the keyword takes, when the template lists them (`keywordEnumValueList`). */
  enumValues?: string[] | null
}

/** A template as buildSubscribeMessage checks a body against it: parseTemplate's answer. */
export interface Template {
  templateId: string
  title?: string | null
  /** getTemplateList's type 3. */
  longTerm?: boolean
  keywords: TemplateKeyword[]
}

/** Reads one getTemplateList entry: its keywords from `content` (`{{key.DATA}}`, in order, each
 * once), with the enum values of `keywordEnumValueList`. Liberal with WeChat's answer: unused
 * fields are ignored, `type` may be a string, an enum code that names no keyword is ignored.
 * @throws {WeappNotifyError} ERR_EMPTY_VALUE (no priTmplId), ERR_INVALID_ARGUMENT (no keyword in `content`). */
export declare function parseTemplate(entry: ListedTemplate): Template & { title: string | null; longTerm: boolean }

/** subscribeMessage.send. Each value is checked by its key's type (`thing3` is a thing): lengths
 * count grapheme clusters, so one Chinese character or one emoji is one. With `template` (what
 * parseTemplate answers, for the same templateId), the data's keys must be its keywords exactly,
 * and a keyword with enum values takes one of them only (its type's rules are then WeChat's list's).
 * @throws {WeappNotifyError} ERR_VALUE_TOO_LONG, ERR_INVALID_VALUE, ERR_UNKNOWN_KEY_TYPE,
 * ERR_TEMPLATE_MISMATCH (naming `data.<key>` or `template.templateId`), ... */
export declare function buildSubscribeMessage(input: {
  touser: string
  templateId: string
  page?: string
  data: Record<string, MessageValue | { value: MessageValue }>
  miniprogramState?: 'developer' | 'trial' | 'formal'
  lang?: 'zh_CN' | 'en_US' | 'zh_HK' | 'zh_TW'
  options?: ValueOptions
  template?: Template
}): BuiltMessage<SubscribeBody>

/** templateMessage.send (keywordN keys, optional `#rrggbb` colors, `emphasisKeyword` like `keyword1.DATA`). */
export declare function buildTemplateMessage(input: {
  touser: string
  templateId: string
  formId: string
  page?: string
  data: Record<string, MessageValue | { value: MessageValue; color?: string }>
  emphasisKeyword?: string
  options?: ValueOptions
}): BuiltMessage<TemplateBody>

// ---------------------------------------------------------------- outcomes and tokens

/** What came back from one POST: the raw body as received (`body`, with its `httpStatus`: the core
 * reads WeChat's answer from it and keeps a msgid's every digit), WeChat's JSON as parsed (fields
 * the core does not use are ignored; a `msgid` parsed into a Number past 2^53 was rounded, and is
 * not reported), a status without JSON, or a network failure. */
export type SendResponse =
  | { body: string; httpStatus?: number }
  | { errcode: number; errmsg?: string; msgid?: string | number | bigint; [field: string]: unknown }
  | { httpStatus: number }
  | { networkError: string }

export interface SendContext {
  response: SendResponse
  credentialKind: CredentialKind
  /** 1 for the first attempt of this send. */
  attempt: number
  /** An earlier attempt of this same send was ambiguous (-1, a dropped connection, a bare status). */
  earlierAmbiguous?: boolean
  /** An earlier attempt of this same send failed on its token, which was refreshed since. */
  earlierTokenError?: boolean
  /** A uniform random number in [0, 1) for jitter, from your random source. */
  random: number
  /** Now, so a per-minute quota waits for the next minute. */
  now?: Instant
  /** Backoff and the most attempts of one send (default 500 ms, 30 s, 4): at attempt
   * `maxAttempts` no answer says `retry`. */
  retry?: { baseMs?: number; capMs?: number; maxAttempts?: number }
}

export interface SendDecision {
  errcode: number | null
  /** `true`/`false`, or `null` when unknown (the decision then counts the send as it says). */
  delivered: boolean | null
  credential: SendEffect
  /** `retry` only below `retry.maxAttempts`: at the last attempt a retryable answer is `later`. */
  user: 'pushed' | 'nextCredential' | 'retry' | 'later' | 'skipForGood'
  batch: 'continue' | 'wait' | 'stopForToday' | 'stopConfigError'
  token: 'keep' | 'refresh'
  /** For `user: 'retry'` and `batch: 'wait'`: how long to wait first. */
  retryInMs: number | null
  /** The outcome is unknown: pass `earlierAmbiguous: true` with the retry. */
  ambiguous: boolean
  /** For 47003: the data key WeChat named. */
  invalidKey: string | null
  /** The id WeChat gave the message (its exact decimal digits), which its sent event names. */
  msgid: string | null
  meaning: string
}

/** What a WeChat answer means for the credential, the user, the batch and the token. */
export declare function classifyOutcome(input: SendContext): SendDecision

/** Whether a cached access_token should be refreshed now (default 5 minutes ahead of expiry). */
export declare function tokenRefreshDue(input: { expiresAt: Instant; now: Instant; aheadMs?: number }): {
  refresh: boolean
  refreshAt: number
}

/** After a token error: refresh only if the cache still holds the token that failed. */
export declare function refreshAfterTokenError(input: { failedToken: string; cachedToken: string | null }): {
  refresh: boolean
}

/** The local day an instant falls in, by the policy's offset: its number (days since 1970-01-01
 * there) and its bounds. Stores key a user's daily push slot by `day`. */
export declare function localDay(input: { at: Instant; policy?: Policy }): { day: number; start: number; end: number }

/** The push history the rules can still read at `now`: every push since `since` (today's, and
 * those inside `minGapMs`); pushes before it never change a decision. `today` is now's local day
 * number (day slots of earlier days are done), and a push stays readable for `keepMs` after it was
 * made. Stores read pages and drop old pushes by these numbers. */
export declare function historyWindow(input: { now: Instant; policy?: Policy }): {
  since: number
  today: number
  keepMs: number
}

/** How many sends fit today, from WeChat's getApiQuota answer (`POST /cgi-bin/openapi/quota/get`
 * with the send API's cgi_path), read liberally: `sends` is what remains of the day's quota (never
 * more than daily_limit - used when both are given) less `reserve` (calls kept for other sends);
 * an answer with an errcode or without a count leaves it `unknown`. */
export declare function sendBudget(input: { answer: unknown; reserve?: number }):
  | { dailyLimit: number | null; used: number | null; remain: number; sends: number }
  | { unknown: string }

/** A request WeChat made to the app's message-push URL, with the app's push settings. */
export interface PushRequest {
  /** The push settings' Token. */
  token: string
  /** The 43-character EncodingAESKey: needed for safe (encrypted) mode. */
  encodingAesKey?: string
  /** The appid a safe-mode body must name. */
  appId?: string
  /** The request's query (`signature`, `timestamp`, `nonce`, and in safe mode `encrypt_type`,
   * `msg_signature`; `echostr` for the URL check). Other fields are ignored. */
  query: Record<string, string | undefined>
  /** The raw body text, exactly as received (absent for the URL check). */
  body?: string
  now: Instant
  /** How far the push's timestamp may be from `now`, either side (default 300000, 5 minutes). */
  maxAgeMs?: number
}

export interface VerifiedPush {
  mode: 'plain' | 'safe'
  /** The push's text (decrypted in safe mode) for `parsePush`; for the URL check, the echostr. */
  body: string
  /** What to answer WeChat's URL check with, when the request is one. */
  echostr: string | null
  /** The push's timestamp (ms) and nonce: a caller's replay window keys on them. */
  timestamp: number
  nonce: string
}

/** Checks a message push: the plain mode's `signature`, or the safe mode's `msg_signature`, its
 * AES-256-CBC body and the appid inside; and the timestamp's age.
 * @throws {WeappNotifyError} ERR_PUSH_REFUSED naming what failed (`query.signature`, `Encrypt`, ...);
 * ERR_INVALID_ARGUMENT for the app's own settings. */
export declare function verifyPush(input: PushRequest): VerifiedPush

export interface PushEntry {
  templateId: string
  /** `SubscribeStatusString` (popup, change) or `ErrorStatus` (sent), as WeChat sent it. */
  status: string
  /** popup: the answer grants a send (an accept variant); change: false; sent: delivered. */
  grants: boolean
  /** sent: the message's id as its exact digits (the send's `msgid`), and WeChat's ErrorCode. */
  msgid?: string
  errorCode?: number
}

export interface ParsedPush {
  /** `other` for any push that is no subscription event (a user's message, another event). */
  kind: 'popup' | 'change' | 'sent' | 'other'
  openid: string
  /** CreateTime, in ms. */
  at: number
  /** WeChat's Event (or MsgType), as sent. */
  event: string
  entries: PushEntry[]
}

/** Reads a verified push's text (XML or JSON; List one object or several; CreateTime a number or a
 * string; fields it does not use ignored).
 * @throws {WeappNotifyError} ERR_PUSH_REFUSED when it is no readable push. */
export declare function parsePush(body: string): ParsedPush
