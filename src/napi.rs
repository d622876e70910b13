//! The Node-API binding: converts and delegates to `api` and `columns`, nothing else.
//! Owns the napi types the addon reads its arguments into; it may not hold a rule or a check
//! the core makes (the wasm binding must answer alike).

use napi::bindgen_prelude::{
    Float64Array, Float64ArraySlice, FromNapiValue, Int32Array, Uint32Array, Uint8Array, Unknown,
};
use napi::{Env, JsValue};
use napi_derive::napi;

use crate::columns::{self, ColumnsInput, Texts};
use crate::error::Error;
use crate::plan::PlanOut;

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
pub fn classify_fields(
    fields: Float64ArraySlice,
    text: Option<String>,
    msgid: Option<String>,
) -> napi::Result<String, Code> {
    crate::api::classify_fields(&fields, text, msgid).map_err(to_js)
}

// The columnar plan's input, field by field as `columns::ColumnsInput` names them (camelCase in JS).

#[napi(object, object_to_js = false)]
pub struct TextsJs {
    pub text: String,
    pub lengths: Float64Array,
}

#[napi(object, object_to_js = false)]
pub struct UsersJs {
    pub count: f64,
    pub excluded: Option<Uint8Array>,
    pub key: Option<Float64Array>,
    pub ids: Option<TextsJs>,
}

#[napi(object, object_to_js = false)]
pub struct PushesJs {
    pub user: Option<Uint32Array>,
    pub at: Option<Float64Array>,
}

#[napi(object, object_to_js = false)]
pub struct CredentialsJs {
    pub user: Option<Uint32Array>,
    pub user_key: Option<Float64Array>,
    pub user_ids: Option<TextsJs>,
    pub kind: Uint8Array,
    pub uses_left: Float64Array,
    pub expire_at: Float64Array,
    pub template: Option<Uint32Array>,
    pub ids: Option<TextsJs>,
}

#[napi(object, object_to_js = false)]
pub struct OutputJs {
    pub choice: Int32Array,
    pub reason: Uint8Array,
    pub not_before: Float64Array,
    pub uses_after: Float64Array,
    pub dead_rows: Uint32Array,
    pub dead_reason: Uint8Array,
}

#[napi(object, object_to_js = false)]
pub struct PlanColumnsJs {
    pub options: String,
    pub users: UsersJs,
    pub pushes: Option<PushesJs>,
    pub credentials: CredentialsJs,
    pub output: OutputJs,
}

fn texts(t: &Option<TextsJs>) -> Option<Texts<'_>> {
    t.as_ref().map(|t| Texts { text: &t.text, lengths: &t.lengths })
}

/// `planColumns(input)`: the columnar plan over typed arrays the JS side owns (borrowed, not
/// copied), written into `input.output`. Returns how many dead credentials it wrote.
#[napi(catch_unwind)]
pub fn plan_columns(env: Env, input: Unknown) -> napi::Result<u32, Code> {
    // Every field is read (JS getters included) before any slice of JS memory is used.
    let i = unsafe { PlanColumnsJs::from_napi_value(env.raw(), input.raw()) }
        .map_err(|e| to_js(Error::invalid("input", e.reason)))?;
    let pushes = i.pushes.as_ref();
    let c = &i.credentials;
    let columns = ColumnsInput {
        options: &i.options,
        user_count: i.users.count,
        excluded: i.users.excluded.as_deref(),
        user_keys: i.users.key.as_deref(),
        user_ids: texts(&i.users.ids),
        push_user: pushes.and_then(|p| p.user.as_deref()),
        push_at: pushes.and_then(|p| p.at.as_deref()),
        cred_user: c.user.as_deref(),
        cred_user_keys: c.user_key.as_deref(),
        cred_user_ids: texts(&c.user_ids),
        cred_kind: &c.kind,
        cred_uses: &c.uses_left,
        cred_expire: &c.expire_at,
        cred_template: c.template.as_deref(),
        cred_ids: texts(&c.ids),
    };
    let mut o = i.output;
    // SAFETY: no JS runs during this synchronous call, and lib/api.js passes six fresh output
    // arrays that no input shares, so these are the only references to that memory.
    let mut out = unsafe {
        PlanOut {
            choice: o.choice.as_mut(),
            reason: o.reason.as_mut(),
            not_before: o.not_before.as_mut(),
            uses_after: o.uses_after.as_mut(),
            dead_rows: o.dead_rows.as_mut(),
            dead_reason: o.dead_reason.as_mut(),
        }
    };
    columns::plan_input_into(&columns, &mut out).map(|dead| dead as u32).map_err(to_js)
}
