/** A delivery the fake WeChat recorded. */
export interface Delivery {
  api: 'template' | 'subscribe'
  openid: string
  templateId: string
  page?: string
  data: Record<string, { value: string; color?: string }>
  credential: { kind: 'formId' | 'prepayId' | 'grant'; id: string }
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
  readonly tokenCalls: number
  /** Connections clients hold open now (a sender that closed its keep-alive sockets holds none). */
  readonly openConnections: number
  addUser(openid: string): void
  issueFormId(openid: string, options?: { id?: string; at?: number }): string
  issuePrepayId(openid: string, options?: { id?: string; at?: number }): string
  grant(openid: string, templateId: string, count?: number): void
  grantsLeft(openid: string, templateId: string): number
  /** Faults for the next requests, one each. */
  inject(...faults: Fault[]): void
  expireTokens(): void
  setDailyQuota(n: number): void
  newDay(): void
  close(): Promise<void>
}

/** Starts a fake WeChat API on loopback: token endpoints and both send APIs, with WeChat's documented
 * answers (41028, 41029, 43101, 47003 per value type, 40001, 45009, 43108...), written independently
 * of weapp-notify's core so that it can catch the core's mistakes. */
export declare function createFakeWeChat(options?: {
  appid?: string
  secret?: string
  tokenTtlMs?: number
  graceMs?: number
  dailyQuota?: number
  latencyMs?: number
  pages?: string[]
  templates?: Record<string, 'template' | 'subscribe'>
  now?: () => number
}): Promise<FakeWeChat>
