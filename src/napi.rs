//! The Node-API binding: converts and delegates to `api`, nothing else.

use napi_derive::napi;

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
