// weapp-notify/mysql: the types of the MySQL/MariaDB store. Types only; the Store contract is
// store.d.ts's.
import type { Store } from './store'
export type { Store, Claim, ClaimRequest, ConfirmManyResult } from './store'
export type { Page, CredentialState, Outcome, HistoryWindow } from './store'

/** MySQL or MariaDB through a mysql2/promise pool: InnoDB tables, parameterized statements,
 * leases on the database clock. `migrate()` creates or upgrades the tables. The constructor throws
 * `ERR_INVALID_ARGUMENT` for anything but a pool (a URL string, say) or an unknown option. */
export interface MysqlStore extends Store {
  readonly pool: MysqlPool
}
export declare const MysqlStore: { new (options: { pool: MysqlPool }): MysqlStore }

/** What the store uses of a mysql2/promise `Pool` (`mysql.createPool(...)` is one), written out so
 * that these typings compile where mysql2 is not installed. */
export interface MysqlPool {
  query(sql: string, values?: unknown): Promise<unknown>
  getConnection(): Promise<unknown>
  end(): Promise<void>
}

/** Moves seed 000's wx_save_form_id / wx_message_push_status rows into the store's tables (same
 * database): unsent formIds through the core's intake, today's pushes marked. */
export declare function importSeed000(input: {
  store: MysqlStore
  now?: number
  policy?: import('../../index').Policy
  batch?: number
}): Promise<{
  imported: number
  expired: number
  rejected: Partial<Record<import('../../index').ErrorCode, number>>
  markedPushedToday: number
  /** Users whose old count differed from their live formIds. */
  drifted: number
}>

/** The versioned schema statements `migrate()` applies. */
export declare const MIGRATIONS: string[][]
