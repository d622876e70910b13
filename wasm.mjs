// ESM entry of weapp-notify/wasm: the same named exports as wasm.js (and the package root), from
// the WebAssembly build. A test checks both ESM lists against the CommonJS exports.
import weappNotify from './wasm.js'

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
  sendBudget,
  verifyPush,
  parsePush,
  parseTemplate,
} = weappNotify
export default weappNotify
