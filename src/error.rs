//! The one error type of the core. Each variant has a stable string code that reaches JS as `err.code`.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    /// Wrong type, missing field, out-of-range number, malformed input.
    #[error("{field}: {reason}")]
    InvalidArgument { field: String, reason: String },
    /// A time that is not an integer epoch-ms between 1970 and 9999.
    #[error("{field}: {reason}")]
    InvalidTime { field: String, reason: String },
    /// Empty string, `undefined`, `null` (or their stringified forms) where an id is required.
    #[error("{field}: is empty (got {got})")]
    EmptyValue { field: String, got: String },
    /// `the formId is a mock one`: what the DevTools simulator reports.
    #[error("{field}: is the DevTools simulator's placeholder formId, not a real one")]
    MockFormId { field: String },
    /// The placeholder that dev and trial builds (base library >= 2.10.0) report.
    #[error("{field}: is the dev/trial build placeholder formId, not a real one")]
    DevTrialFormId { field: String },
    /// `requestFormId:fail ...`: the client failed to get a formId.
    #[error("{field}: is a failed formId request ({value}), not a formId")]
    FormIdRequestFailed { field: String, value: String },
    #[error("{field}: contains a control character at character {position}")]
    ControlCharacter { field: String, position: usize },
    #[error("{field}: is {length} characters long, the limit is {limit}")]
    TooLong { field: String, length: usize, limit: usize },
    /// A `wx.requestSubscribeMessage` result that is not `requestSubscribeMessage:ok`.
    #[error("{field}: the subscribe request did not succeed ({value})")]
    SubscribeRequestFailed { field: String, value: String },
    /// A per-template answer that is not a string (every string is a status: an accept variant
    /// grants a send, anything else is declined).
    #[error("{field}: a subscribe status is a string, got {value}")]
    UnknownSubscribeStatus { field: String, value: String },
    #[error("{field}: {count} template ids in one subscribe result, WeChat allows at most {limit}")]
    TooManyTemplates { field: String, count: usize, limit: usize },
    /// A data key whose type (the letters before its digits) is not one WeChat documents.
    #[error("{field}: unknown value type {key_type:?} (pass unknownKeys: 'passThrough' to send it unchecked)")]
    UnknownKeyType { field: String, key_type: String },
    /// A subscribe value longer than its type allows (under `overflow: 'error'`, or not truncatable).
    #[error("{field}: {key_type} value is {length} characters long, the limit is {limit}")]
    ValueTooLong { field: String, key_type: String, limit: usize, length: usize },
    /// A subscribe value with characters or a shape its type does not allow.
    #[error("{field}: not a valid {key_type} value: {reason}")]
    InvalidValue { field: String, key_type: String, reason: String },
    /// A message push that is not WeChat's as it claims (signature, age, encryption, appid, nonce
    /// seen before) or not readable as a push: nothing in it is to be believed or stored.
    #[error("{field}: {reason}")]
    PushRefused { field: String, reason: String },
    /// A subscribe message that does not fit the template given with it: a key the template lacks,
    /// a keyword left out, a value not among a keyword's enum values, another template's id.
    #[error("{field}: {reason}")]
    TemplateMismatch { field: String, reason: String },
}

impl Error {
    /// The stable code JS sees as `err.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidArgument { .. } => "ERR_INVALID_ARGUMENT",
            Error::InvalidTime { .. } => "ERR_INVALID_TIME",
            Error::EmptyValue { .. } => "ERR_EMPTY_VALUE",
            Error::MockFormId { .. } => "ERR_MOCK_FORM_ID",
            Error::DevTrialFormId { .. } => "ERR_DEV_TRIAL_FORM_ID",
            Error::FormIdRequestFailed { .. } => "ERR_FORM_ID_REQUEST_FAILED",
            Error::ControlCharacter { .. } => "ERR_CONTROL_CHARACTER",
            Error::TooLong { .. } => "ERR_TOO_LONG",
            Error::SubscribeRequestFailed { .. } => "ERR_SUBSCRIBE_REQUEST_FAILED",
            Error::UnknownSubscribeStatus { .. } => "ERR_UNKNOWN_SUBSCRIBE_STATUS",
            Error::TooManyTemplates { .. } => "ERR_TOO_MANY_TEMPLATES",
            Error::UnknownKeyType { .. } => "ERR_UNKNOWN_KEY_TYPE",
            Error::ValueTooLong { .. } => "ERR_VALUE_TOO_LONG",
            Error::InvalidValue { .. } => "ERR_INVALID_VALUE",
            Error::PushRefused { .. } => "ERR_PUSH_REFUSED",
            Error::TemplateMismatch { .. } => "ERR_TEMPLATE_MISMATCH",
        }
    }

    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidArgument { field: field.into(), reason: reason.into() }
    }
}

/// Every code, in declaration order; the README and `index.d.ts` list the same set (a test checks).
pub const ALL_CODES: &[&str] = &[
    "ERR_INVALID_ARGUMENT",
    "ERR_INVALID_TIME",
    "ERR_EMPTY_VALUE",
    "ERR_MOCK_FORM_ID",
    "ERR_DEV_TRIAL_FORM_ID",
    "ERR_FORM_ID_REQUEST_FAILED",
    "ERR_CONTROL_CHARACTER",
    "ERR_TOO_LONG",
    "ERR_SUBSCRIBE_REQUEST_FAILED",
    "ERR_UNKNOWN_SUBSCRIBE_STATUS",
    "ERR_TOO_MANY_TEMPLATES",
    "ERR_UNKNOWN_KEY_TYPE",
    "ERR_VALUE_TOO_LONG",
    "ERR_INVALID_VALUE",
    "ERR_PUSH_REFUSED",
    "ERR_TEMPLATE_MISMATCH",
];

pub type Result<T> = std::result::Result<T, Error>;
