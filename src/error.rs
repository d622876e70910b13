//! The one error type of the core. Each variant has a stable string code that reaches JS as `err.code`.
//! Owns every code (`ALL_CODES`); it may not depend on any other module.

use thiserror::Error;

/// The enum, its `code()` and `ALL_CODES` from one list: each variant is written once, on one line
/// with its message and its code, so no code can be missing from `ALL_CODES` or differ between the two.
macro_rules! errors {
    ($($(#[$meta:meta])* $variant:ident { $($field:ident: $ty:ty),* } = $code:literal,)*) => {
        #[derive(Debug, Clone, PartialEq, Eq, Error)]
        pub enum Error {
            $($(#[$meta])* $variant { $($field: $ty),* },)*
        }

        impl Error {
            /// The stable code JS sees as `err.code`.
            pub fn code(&self) -> &'static str {
                match self {
                    $(Error::$variant { .. } => $code,)*
                }
            }
        }

        /// Every code, in declaration order; lib/api.js exports it as `ERROR_CODES`, and the
        /// README and `index.d.ts` list the same set (`__test__/api.test.js` checks both).
        pub const ALL_CODES: &[&str] = &[$($code),*];
    };
}

errors! {
    /// Wrong type, missing field, out-of-range number, malformed input.
    #[error("{field}: {reason}")] InvalidArgument { field: String, reason: String } = "ERR_INVALID_ARGUMENT",
    /// A time that is not an integer epoch-ms between 1970 and 9999.
    #[error("{field}: {reason}")] InvalidTime { field: String, reason: String } = "ERR_INVALID_TIME",
    /// Empty string, `undefined`, `null` (or their stringified forms) where an id is required.
    #[error("{field}: is empty (got {got})")] EmptyValue { field: String, got: String } = "ERR_EMPTY_VALUE",
    /// `the formId is a mock one`: what the DevTools simulator reports.
    #[error("{field}: is the DevTools simulator's placeholder formId, not a real one")] MockFormId { field: String } = "ERR_MOCK_FORM_ID",
    /// The placeholder that dev and trial builds (base library >= 2.10.0) report.
    #[error("{field}: is the dev/trial build placeholder formId, not a real one")] DevTrialFormId { field: String } = "ERR_DEV_TRIAL_FORM_ID",
    /// `requestFormId:fail ...`: the client failed to get a formId.
    #[error("{field}: is a failed formId request ({value}), not a formId")] FormIdRequestFailed { field: String, value: String } = "ERR_FORM_ID_REQUEST_FAILED",
    #[error("{field}: contains a control character at character {position}")] ControlCharacter { field: String, position: usize } = "ERR_CONTROL_CHARACTER",
    #[error("{field}: is {length} characters long, the limit is {limit}")] TooLong { field: String, length: usize, limit: usize } = "ERR_TOO_LONG",
    /// A `wx.requestSubscribeMessage` result that is not `requestSubscribeMessage:ok`.
    #[error("{field}: the subscribe request did not succeed ({value})")] SubscribeRequestFailed { field: String, value: String } = "ERR_SUBSCRIBE_REQUEST_FAILED",
    /// A per-template answer that is not a string (every string is a status: an accept variant
    /// grants a send, anything else is declined).
    #[error("{field}: a subscribe status is a string, got {value}")] UnknownSubscribeStatus { field: String, value: String } = "ERR_UNKNOWN_SUBSCRIBE_STATUS",
    #[error("{field}: {count} template ids in one subscribe result, WeChat allows at most {limit}")] TooManyTemplates { field: String, count: usize, limit: usize } = "ERR_TOO_MANY_TEMPLATES",
    /// A data key whose type (the letters before its digits) is not one WeChat documents.
    #[error("{field}: unknown value type {key_type:?} (pass unknownKeys: 'passThrough' to send it unchecked)")] UnknownKeyType { field: String, key_type: String } = "ERR_UNKNOWN_KEY_TYPE",
    /// A subscribe value longer than its type allows (under `overflow: 'error'`, or not truncatable).
    #[error("{field}: {key_type} value is {length} characters long, the limit is {limit}")] ValueTooLong { field: String, key_type: String, limit: usize, length: usize } = "ERR_VALUE_TOO_LONG",
    /// A subscribe value with characters or a shape its type does not allow.
    #[error("{field}: not a valid {key_type} value: {reason}")] InvalidValue { field: String, key_type: String, reason: String } = "ERR_INVALID_VALUE",
    /// A message push that is not WeChat's as it claims (signature, age, encryption, appid, nonce
    /// seen before) or not readable as a push: nothing in it is to be believed or stored.
    #[error("{field}: {reason}")] PushRefused { field: String, reason: String } = "ERR_PUSH_REFUSED",
    /// A subscribe message that does not fit the template given with it: a key the template lacks,
    /// a keyword left out, a value not among a keyword's enum values, another template's id.
    #[error("{field}: {reason}")] TemplateMismatch { field: String, reason: String } = "ERR_TEMPLATE_MISMATCH",
}

impl Error {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidArgument { field: field.into(), reason: reason.into() }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
