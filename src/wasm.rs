//! The WebAssembly binding: the same three functions as the napi binding, converting and
//! delegating to `api` and `plan`. Slices are copied into wasm memory, `&mut` ones back out.

use wasm_bindgen::prelude::*;

use crate::error::Error;
use crate::plan::{self, Columns};

/// A JS Error whose `code` is the core's stable code.
fn to_js(e: Error) -> JsValue {
    let err = js_sys::Error::new(&e.to_string());
    // Setting a property on a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(&err, &"code".into(), &e.code().into());
    err.into()
}

/// `call(op, inputJson)`: runs one core operation on JSON, returns JSON.
#[wasm_bindgen]
pub fn call(op: &str, input: &str) -> Result<String, JsValue> {
    crate::api::call(op, input).map_err(to_js)
}

/// `classifyFields`: `classifyOutcome` from plain fields (`api::classify_fields`), answering JSON.
#[wasm_bindgen(js_name = classifyFields)]
pub fn classify_fields(fields: &[f64], errmsg: Option<String>) -> Result<String, JsValue> {
    crate::api::classify_fields(fields, errmsg).map_err(to_js)
}

/// `joinUserKeys`: writes each credential row's user index into `out`.
#[wasm_bindgen(js_name = joinUserKeys)]
pub fn join_user_keys(user_keys: &[f64], cred_keys: &[f64], out: &mut [u32]) -> Result<(), JsValue> {
    plan::join_user_keys(user_keys, cred_keys, out).map_err(to_js)
}

/// `planColumns`: the columnar plan, written into the output arrays. Returns the dead count.
/// The outputs are planned in wasm memory and copied out once, the dead lists only as far as
/// they were filled: nothing is copied in for them.
#[wasm_bindgen(js_name = planColumns)]
#[allow(clippy::too_many_arguments)]
pub fn plan_columns(
    options: &str,
    user_count: f64,
    excluded: &[u8],
    push_user: &[u32],
    push_at: &[f64],
    cred_user: &[u32],
    cred_kind: &[u8],
    cred_uses: &[f64],
    cred_expire: &[f64],
    cred_template: &[u32],
    id_of: Option<js_sys::Function>,
    choice: js_sys::Int32Array,
    reason: js_sys::Uint8Array,
    not_before: js_sys::Float64Array,
    uses_after: js_sys::Float64Array,
    dead_rows: js_sys::Uint32Array,
    dead_reason: js_sys::Uint8Array,
) -> Result<u32, JsValue> {
    // Ids are asked of JS only on a tie, one at a time.
    let ids = |r: usize| match &id_of {
        Some(f) => f
            .call1(&JsValue::NULL, &JsValue::from(r as u32))
            .ok()
            .and_then(|v| v.as_string())
            .ok_or_else(|| Error::invalid(format!("credentials.ids[{r}]"), "must be a string")),
        None => Ok(String::new()),
    };
    let cols = Columns {
        user_count: plan::user_count(user_count).map_err(to_js)?,
        excluded,
        push_user,
        push_at,
        cred_user,
        cred_kind,
        cred_uses,
        cred_expire,
        cred_template,
        ids: id_of.is_some().then_some(&ids as &dyn Fn(usize) -> crate::error::Result<String>),
    };
    let room = |len: u32| len as usize;
    let mut plan = plan::ColumnPlan {
        choice: vec![0; room(choice.length())],
        reason: vec![0; room(reason.length())],
        not_before: vec![0.0; room(not_before.length())],
        uses_after: vec![0.0; room(uses_after.length())],
        dead_rows: vec![0; room(dead_rows.length())],
        dead_reason: vec![0; room(dead_reason.length())],
    };
    let dead = crate::api::plan_columns(options, &cols, &mut plan.out()).map_err(to_js)?;
    // Each copy is between arrays of one length: the room above, or the dead part of it.
    choice.copy_from(&plan.choice);
    reason.copy_from(&plan.reason);
    not_before.copy_from(&plan.not_before);
    uses_after.copy_from(&plan.uses_after);
    dead_rows.subarray(0, dead).copy_from(&plan.dead_rows[..dead as usize]);
    dead_reason.subarray(0, dead).copy_from(&plan.dead_reason[..dead as usize]);
    Ok(dead)
}
