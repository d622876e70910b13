// ESM entry: the same exports as index.js.
import weappNotify from './index.js'

export const {
  backend,
  ERROR_CODES,
  CREDENTIAL_KINDS,
  SKIP_REASONS,
  MAX_PAGE_USERS,
  MAX_PAGE_ROWS,
  backendReason,
  intakeFormId,
  intakePrepayId,
  intakeSubscribeResult,
  intakeLongTermSubscription,
  selectCredential,
  checkEligibility,
  applySendEffect,
  deadCredentials,
  countSends,
  resolvePolicy,
  planPage,
  planColumns,
  buildSubscribeMessage,
  buildTemplateMessage,
  classifyOutcome,
  tokenRefreshDue,
  refreshAfterTokenError,
  localDay,
  historyWindow,
  verifyPush,
  parsePush,
} = weappNotify
export default weappNotify
