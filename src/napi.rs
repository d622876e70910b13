//! The Node-API binding: converts and delegates to `api` and `plan`, nothing else.

use napi::bindgen_prelude::{Float64ArraySlice, Function, Int32ArraySlice, Uint32ArraySlice, Uint8ArraySlice};
use napi_derive::napi;

use crate::error::Error;
use crate::plan::{self, Columns, PlanOut};

/// A thrown error whose JS `code` is the core's stable code.
pub struct Code(&'static str);

impl AsRef<str> for Code {
    fn as_ref(&self) -> &str {
        self.0
    }
}

fn to_js(e: crate::error::Error) -> napi::Error<Code> {
    napi::Error::new(Code(e.code()), e.to_string())
}

/// `call(op, inputJson)`: runs one core operation on JSON, returns JSON.
#[napi(catch_unwind)]
pub fn call(op: String, input: String) -> napi::Result<String, Code> {
    crate::api::call(&op, &input).map_err(to_js)
}

/// `classifyFields`: `classifyOutcome` from plain fields (`api::classify_fields`), answering JSON.
#[napi(catch_unwind)]
pub fn classify_fields(fields: Float64ArraySlice, errmsg: Option<String>) -> napi::Result<String, Code> {
    crate::api::classify_fields(&fields, errmsg).map_err(to_js)
}

/// `joinUserKeys`: writes each credential row's user index (its key's position in `userKeys`) into `out`.
#[napi(catch_unwind)]
pub fn join_user_keys(
    user_keys: Float64ArraySlice,
    cred_keys: Float64ArraySlice,
    mut out: Uint32ArraySlice,
) -> napi::Result<(), Code> {
    // SAFETY: see `plan_columns`.
    plan::join_user_keys(&user_keys, &cred_keys, unsafe { out.as_mut() }).map_err(to_js)
}

/// `planColumns`: the columnar plan over typed arrays the JS side owns (borrowed, not copied),
/// written into the output arrays it passes. Returns how many dead credentials it wrote.
#[napi(catch_unwind)]
#[allow(clippy::too_many_arguments)]
pub fn plan_columns(
    options: String,
    user_count: f64,
    excluded: Uint8ArraySlice,
    push_user: Uint32ArraySlice,
    push_at: Float64ArraySlice,
    cred_user: Uint32ArraySlice,
    cred_kind: Uint8ArraySlice,
    cred_uses: Float64ArraySlice,
    cred_expire: Float64ArraySlice,
    cred_template: Uint32ArraySlice,
    id_of: Option<Function<u32, String>>,
    mut choice: Int32ArraySlice,
    mut reason: Uint8ArraySlice,
    mut not_before: Float64ArraySlice,
    mut uses_after: Float64ArraySlice,
    mut dead_rows: Uint32ArraySlice,
    mut dead_reason: Uint8ArraySlice,
) -> napi::Result<u32, Code> {
    // Ids are asked of JS only on a tie, one at a time.
    let ids = |r: usize| match &id_of {
        Some(f) => f
            .call(r as u32)
            .map_err(|e| Error::invalid(format!("credentials.ids[{r}]"), format!("must be a string ({})", e.reason))),
        None => Ok(String::new()),
    };
    let cols = Columns {
        user_count: plan::user_count(user_count).map_err(to_js)?,
        excluded: &excluded,
        push_user: &push_user,
        push_at: &push_at,
        cred_user: &cred_user,
        cred_kind: &cred_kind,
        cred_uses: &cred_uses,
        cred_expire: &cred_expire,
        cred_template: &cred_template,
        ids: id_of.is_some().then_some(&ids as &dyn Fn(usize) -> crate::error::Result<String>),
    };
    // SAFETY: JS cannot run while this synchronous call does, and index.js hands in six distinct
    // output arrays that no input shares, so these are the only references to that memory.
    let mut out = unsafe {
        PlanOut {
            choice: choice.as_mut(),
            reason: reason.as_mut(),
            not_before: not_before.as_mut(),
            uses_after: uses_after.as_mut(),
            dead_rows: dead_rows.as_mut(),
            dead_reason: dead_reason.as_mut(),
        }
    };
    crate::api::plan_columns(&options, &cols, &mut out).map_err(to_js)
}
