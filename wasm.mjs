// ESM entry of weapp-notify/wasm: the same named exports as wasm.js (and the package root), from
// the WebAssembly build.
// Written by scripts/esm-exports.js (the build runs it): edit the exports, not this list.
import weappNotify from './wasm.js'

export const {
  backend,
  ERROR_CODES,
  CREDENTIAL_KINDS,
  SKIP_REASONS,
  MAX_PAGE_USERS,
  MAX_PAGE_ROWS,
  intakeFormId,
  intakePrepayId,
  intakeSubscribeResult,
  intakeLongTermSubscription,
  selectCredential,
  checkEligibility,
  applySendEffect,
  deadCredentials,
  settleSend,
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
  backendReason,
} = weappNotify
export default weappNotify
