//! The WebAssembly binding: the same functions as the napi binding, converting and delegating to
//! `api` and `columns`. Typed arrays are copied into wasm memory, the outputs back out.
//! Owns the reading of JS values into the core's boundary types; it may not hold a rule or a
//! check the core makes (the napi binding must answer alike).

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::columns::{self, ColumnsInput, Texts};
use crate::error::{Error, Result};
use crate::plan;

/// A JS Error whose `code` is the core's stable code.
fn to_js(e: Error) -> JsValue {
    let err = js_sys::Error::new(&e.to_string());
    // Setting a property on a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(&err, &"code".into(), &e.code().into());
    err.into()
}

/// `call(op, inputJson)`: runs one core operation on JSON, returns JSON.
#[wasm_bindgen]
pub fn call(op: &str, input: &str) -> std::result::Result<String, JsValue> {
    crate::api::call(op, input).map_err(to_js)
}

/// `classifyFields`: `classifyOutcome` from plain fields (`api::classify_fields`), answering JSON.
#[wasm_bindgen(js_name = classifyFields)]
pub fn classify_fields(
    fields: &[f64],
    text: Option<String>,
    msgid: Option<String>,
) -> std::result::Result<String, JsValue> {
    crate::api::classify_fields(fields, text, msgid).map_err(to_js)
}

/// One field of the input object, read once; `undefined` and `null` are absent.
fn field(obj: &JsValue, parent: &str, name: &str) -> Result<Option<JsValue>> {
    if !obj.is_object() {
        return Err(Error::invalid(parent, "must be an object"));
    }
    let v = js_sys::Reflect::get(obj, &name.into())
        .map_err(|_| Error::invalid(format!("{parent}.{name}"), "cannot be read"))?;
    Ok((!v.is_undefined() && !v.is_null()).then_some(v))
}

/// A typed-array field, copied into wasm memory once its length is within a page's
/// (`plan::MAX_PAGE_ROWS`; per-user columns are held to `users.count` by the core), so that no
/// copy can exhaust wasm memory.
fn column<A: JsCast, T>(
    obj: &JsValue,
    parent: &str,
    name: &str,
    len: impl Fn(&A) -> u32,
    copy: impl Fn(&A) -> Vec<T>,
) -> Result<Option<Vec<T>>> {
    let Some(v) = field(obj, parent, name)? else { return Ok(None) };
    let path = format!("{parent}.{name}");
    let a = v.dyn_ref::<A>().ok_or_else(|| Error::invalid(&path, "is not a typed array of the right kind"))?;
    plan::within(&path, len(a) as usize, plan::MAX_PAGE_ROWS)?;
    Ok(Some(copy(a)))
}

fn required<T>(v: Option<T>, path: &str) -> Result<T> {
    v.ok_or_else(|| Error::invalid(path, "is missing"))
}

fn f64s(o: &JsValue, p: &str, n: &str) -> Result<Option<Vec<f64>>> {
    column(o, p, n, js_sys::Float64Array::length, js_sys::Float64Array::to_vec)
}
fn u32s(o: &JsValue, p: &str, n: &str) -> Result<Option<Vec<u32>>> {
    column(o, p, n, js_sys::Uint32Array::length, js_sys::Uint32Array::to_vec)
}
fn u8s(o: &JsValue, p: &str, n: &str) -> Result<Option<Vec<u8>>> {
    column(o, p, n, js_sys::Uint8Array::length, js_sys::Uint8Array::to_vec)
}

/// A `{ text, lengths }` field (`columns::Texts`).
fn texts(o: &JsValue, p: &str, n: &str) -> Result<Option<(String, Vec<f64>)>> {
    let Some(t) = field(o, p, n)? else { return Ok(None) };
    let path = format!("{p}.{n}");
    let text = required(field(&t, &path, "text")?, &format!("{path}.text"))?;
    let text =
        text.dyn_ref::<js_sys::JsString>().ok_or_else(|| Error::invalid(format!("{path}.text"), "must be a string"))?;
    if text.length() as usize > plan::MAX_PAGE_TEXT {
        return Err(Error::invalid(
            format!("{path}.text"),
            format!("is longer than a page's {} characters", plan::MAX_PAGE_TEXT),
        ));
    }
    let text = String::from(text);
    Ok(Some((text, required(f64s(&t, &path, "lengths")?, &format!("{path}.lengths"))?)))
}

fn as_texts(t: &Option<(String, Vec<f64>)>) -> Option<Texts<'_>> {
    t.as_ref().map(|(text, lengths)| Texts { text, lengths })
}

/// `planColumns(input)`: the columnar plan, written into `input.output`. Returns the dead count.
/// The outputs are planned in wasm memory and copied out once, the dead lists only as far as
/// they were filled.
#[wasm_bindgen(js_name = planColumns)]
pub fn plan_columns(input: JsValue) -> std::result::Result<u32, JsValue> {
    plan_columns_js(&input).map_err(to_js)
}

fn plan_columns_js(input: &JsValue) -> Result<u32> {
    let options = required(field(input, "input", "options")?, "options")?
        .as_string()
        .ok_or_else(|| Error::invalid("options", "must be a string"))?;
    let users = required(field(input, "input", "users")?, "users")?;
    let count = required(field(&users, "users", "count")?, "users.count")?
        .as_f64()
        .ok_or_else(|| Error::invalid("users.count", "must be a number"))?;
    columns::user_count(count)?;
    let (excluded, user_keys, user_ids) =
        (u8s(&users, "users", "excluded")?, f64s(&users, "users", "key")?, texts(&users, "users", "ids")?);
    let pushes = field(input, "input", "pushes")?.unwrap_or_else(|| js_sys::Object::new().into());
    let (push_user, push_at) = (u32s(&pushes, "pushes", "user")?, f64s(&pushes, "pushes", "at")?);
    let c = required(field(input, "input", "credentials")?, "credentials")?;
    let p = "credentials";
    let (cred_user, cred_user_keys, cred_user_ids) =
        (u32s(&c, p, "user")?, f64s(&c, p, "userKey")?, texts(&c, p, "userIds")?);
    let kind = required(u8s(&c, p, "kind")?, "credentials.kind")?;
    let uses = required(f64s(&c, p, "usesLeft")?, "credentials.usesLeft")?;
    let expire = required(f64s(&c, p, "expireAt")?, "credentials.expireAt")?;
    let (template, ids) = (u32s(&c, p, "template")?, texts(&c, p, "ids")?);
    let out = required(field(input, "input", "output")?, "output")?;
    let array = |name: &str| -> Result<JsValue> { required(field(&out, "output", name)?, name) };
    let (choice, reason, not_before, uses_after, dead_rows, dead_reason) = (
        array("choice")?.unchecked_into::<js_sys::Int32Array>(),
        array("reason")?.unchecked_into::<js_sys::Uint8Array>(),
        array("notBefore")?.unchecked_into::<js_sys::Float64Array>(),
        array("usesAfter")?.unchecked_into::<js_sys::Float64Array>(),
        array("deadRows")?.unchecked_into::<js_sys::Uint32Array>(),
        array("deadReason")?.unchecked_into::<js_sys::Uint8Array>(),
    );
    let columns = ColumnsInput {
        options: &options,
        user_count: count,
        excluded: excluded.as_deref(),
        user_keys: user_keys.as_deref(),
        user_ids: as_texts(&user_ids),
        push_user: push_user.as_deref(),
        push_at: push_at.as_deref(),
        cred_user: cred_user.as_deref(),
        cred_user_keys: cred_user_keys.as_deref(),
        cred_user_ids: as_texts(&cred_user_ids),
        cred_kind: &kind,
        cred_uses: &uses,
        cred_expire: &expire,
        cred_template: template.as_deref(),
        cred_ids: as_texts(&ids),
    };
    let room = |name: &str, len: u32| {
        plan::within(&format!("output.{name}"), len as usize, plan::MAX_PAGE_ROWS).map(|_| len as usize)
    };
    let mut plan = plan::ColumnPlan {
        choice: vec![0; room("choice", choice.length())?],
        reason: vec![0; room("reason", reason.length())?],
        not_before: vec![0.0; room("notBefore", not_before.length())?],
        uses_after: vec![0.0; room("usesAfter", uses_after.length())?],
        dead_rows: vec![0; room("deadRows", dead_rows.length())?],
        dead_reason: vec![0; room("deadReason", dead_reason.length())?],
    };
    let dead = columns::plan_input_into(&columns, &mut plan.out())? as u32;
    // Each copy is between arrays of one length: the room above, or the dead part of it.
    choice.copy_from(&plan.choice);
    reason.copy_from(&plan.reason);
    not_before.copy_from(&plan.not_before);
    uses_after.copy_from(&plan.uses_after);
    dead_rows.subarray(0, dead).copy_from(&plan.dead_rows[..dead as usize]);
    dead_reason.subarray(0, dead).copy_from(&plan.dead_reason[..dead as usize]);
    Ok(dead)
}
