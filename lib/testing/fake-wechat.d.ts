// weapp-notify/testing: the types of the fake WeChat (createFakeWeChat). Types only; may not
// import the core's types beyond the template entries a test passes in.
/** A delivery the fake WeChat recorded. */
export interface Delivery {
  api: 'template' | 'subscribe'
  openid: string
  templateId: string
  page?: string
  data: Record<string, { value: string; color?: string }>
  credential: { kind: 'formId' | 'prepayId' | 'grant'; id: string }
  /** The msgid answered (its decimal digits), for a subscribe send; null for a template send. */
  msgid: string | null
  at: number
}

/** An answer of a send API the fake WeChat logged (times by its clock). */
export interface Answer {
  api: 'template' | 'subscribe'
  openid: string | undefined
  /** The formId or prepay_id of a template send, the template id of a subscribe send. */
  credentialId: string | undefined
  errcode: number
  receivedAt: number
  at: number
}

/** A forced stable_token refresh that broke WeChat's rule: past 20 a day (answered 45009), or
 * under 30 s after the previous one (not refreshed: the token in use is answered). */
export interface TokenViolation {
  rule: 'forcedRefreshesPerDay' | 'forcedRefreshGap'
  at: number
}

export type Fault =
  | 'busy'
  | 'busyDelivered'
  | 'drop'
  | 'dropDelivered'
  | { type: 'latency'; ms: number }
  | { type: Exclude<Fault, object> }

export interface FakeWeChat {
  /** `http://127.0.0.1:<port>`: the base URL to hand to your sender. */
  url: string
  appid: string
  secret: string
  deliveries: Delivery[]
  /** Every answer of the send APIs, in order (a dropped connection answers nothing). */
  answers: Answer[]
  /** Tokens issued (by /cgi-bin/token, or by stable_token when none was live or it was forced). */
  readonly tokenCalls: number
  /** Requests to the quota API (/cgi-bin/openapi/quota/get), whatever they answered. */
  readonly quotaReads: number
  /** Every access_token issued, in order. */
  readonly tokensIssued: string[]
  /** Requests to stable_token, whatever they answered. */
  readonly stableTokenRequests: number
  /** stable_token calls with force_refresh that issued a new token. */
  readonly forcedRefreshes: number
  /** Forced refreshes that broke WeChat's rule (20 a day, 30 s apart). */
  violations: TokenViolation[]
  /** Connections clients hold open now (a sender that closed its keep-alive sockets holds none). */
  readonly openConnections: number
  addUser(openid: string): void
  issueFormId(openid: string, options?: { id?: string; at?: number }): string
  issuePrepayId(openid: string, options?: { id?: string; at?: number }): string
  grant(openid: string, templateId: string, count?: number): void
  grantsLeft(openid: string, templateId: string): number
  /** From now on, subscribe sends to this template answer 43107 (the ability or template banned). */
  banTemplate(templateId: string): void
  /** The app adds a template (a getTemplateList entry): listed by getTemplateList, and its
   * subscribe sends held to its keywords and enum values (47003 naming the field). */
  addTemplate(entry: import('../../index').ListedTemplate): void
  /** Faults for the next requests, one each. */
  inject(...faults: Fault[]): void
  expireTokens(): void
  setDailyQuota(n: number): void
  /** At most `n` sends per API per minute of the fake's clock; 45011 past it. */
  setMinuteQuota(n: number): void
  /** The daily quotas and the day's forced refreshes start over. */
  newDay(): void
  close(): Promise<void>
}

/** Starts a fake WeChat API on loopback: token endpoints and both send APIs, with WeChat's documented
 * answers (msgid on a delivered subscribe send, 41028, 41029, 43101, 43107, 47003 per value type, 40001,
 * 45009, 45011, 43108 for a send arriving while another to its openid is in flight...) and stable_token's
 * limits on forced refreshes, written independently of weapp-notify's core so that it can catch the
 * core's mistakes. `now` is its clock: token expiries, minutes, the 30 s between forced refreshes. */
export declare function createFakeWeChat(options?: {
  appid?: string
  secret?: string
  tokenTtlMs?: number
  graceMs?: number
  dailyQuota?: number
  minuteQuota?: number
  latencyMs?: number
  pages?: string[]
  templates?: Record<string, 'template' | 'subscribe'>
  /** Subscribe sends to these templates answer 43107. */
  bannedTemplates?: string[]
  /** getTemplateList's entries: what GET /wxaapi/newtmpl/gettemplate answers, and each template's
   * keywords and enum values, held to on its subscribe sends (47003 naming the field). */
  templateList?: import('../../index').ListedTemplate[]
  now?: () => number
}): Promise<FakeWeChat>
