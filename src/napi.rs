//! The Node-API binding: converts and delegates to `api` and `plan`, nothing else.

use napi::bindgen_prelude::{Float64Array, Float64ArraySlice, Function, Int32Array, Uint32Array, Uint32ArraySlice, Uint8Array, Uint8ArraySlice};
use napi_derive::napi;

use crate::error::Error;
use crate::plan::{self, Columns, PlanOptions};

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

#[napi(object)]
pub struct ColumnPlan {
    pub choice: Int32Array,
    pub reason: Uint8Array,
    pub not_before: Float64Array,
    pub uses_after: Float64Array,
    pub dead_rows: Uint32Array,
    pub dead_reason: Uint8Array,
}

/// `joinUserKeys`: credential rows' integer user keys as indices into the users' keys.
#[napi(catch_unwind)]
pub fn join_user_keys(user_keys: Float64ArraySlice, cred_keys: Float64ArraySlice) -> napi::Result<Uint32Array, Code> {
    plan::join_user_keys(&user_keys, &cred_keys).map(Into::into).map_err(to_js)
}

/// `planColumns`: the columnar plan over typed arrays the JS side owns (borrowed, not copied).
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
) -> napi::Result<ColumnPlan, Code> {
    let opts: PlanOptions = crate::api::parse(&options).map_err(to_js)?;
    // Ids are asked of JS only on a tie, one at a time.
    let ids = |r: usize| match &id_of {
        Some(f) => f.call(r as u32).map_err(|e| Error::invalid(format!("credentials.ids[{r}]"), format!("must be a string ({})", e.reason))),
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
    let p = plan::plan_columns(&cols, &opts).map_err(to_js)?;
    Ok(ColumnPlan {
        choice: p.choice.into(),
        reason: p.reason.into(),
        not_before: p.not_before.into(),
        uses_after: p.uses_after.into(),
        dead_rows: p.dead_rows.into(),
        dead_reason: p.dead_reason.into(),
    })
}
