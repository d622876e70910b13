//! The wire's reading: an operation's JSON input into its serde type, with errors that name the
//! offending field by its path as the caller wrote it. Every JSON reader of the core (`api`, the
//! columnar plan's options in `columns`, the selectors and templates) parses here; it owns no
//! operation and no type of its own, and may not depend on `api`, `columns` or the bindings.

use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// Parses an operation's input; errors name the offending field by its path (`credentials[3].expireAt`).
/// The JSON is read into a value first (its syntax errors named by path too), then read strictly
/// (`strict::Strict`: an array is no struct).
pub fn parse<I: DeserializeOwned>(json: &str) -> Result<I> {
    let de = &mut serde_json::Deserializer::from_str(json);
    let value: serde_json::Value = serde_path_to_error::deserialize(de).map_err(|e| input_error(e, None))?;
    serde_path_to_error::deserialize(crate::strict::Strict(&value)).map_err(|e| input_error(e, Some(&value)))
}

fn input_error(e: serde_path_to_error::Error<serde_json::Error>, root: Option<&serde_json::Value>) -> Error {
    let path = e.path().to_string();
    let field = if path == "." { "input".to_string() } else { path };
    // serde_json appends the byte position, which means nothing to a caller who passed an object.
    let full = e.inner().to_string();
    let mut reason = full.rfind(" at line ").map_or(full.as_str(), |i| &full[..i]).to_string();
    // A Date or a tagged JS value where neither belongs: said as what the caller passed.
    if let Some(expected) = reason.strip_prefix("invalid type: map, expected ") {
        if let Some(what) = root.and_then(|v| tagged_value_at(v, e.path())) {
            reason = format!("{what} is not {expected}");
        }
    }
    // JSON.stringify writes a lone surrogate as a hex escape serde_json refuses; any other
    // escape it writes is sound.
    if reason.contains("surrogate") || reason.contains("hex escape") {
        reason = "contains a lone surrogate (half of a UTF-16 pair), which is not text".into();
    }
    // serde names a missing field in its reason, at the path of the object that lacks it.
    if let Some(name) = reason.strip_prefix("missing field `").and_then(|r| r.strip_suffix('`')) {
        let field = if field == "input" { name.to_string() } else { format!("{field}.{name}") };
        return Error::InvalidArgument { field, reason: "is missing".into() };
    }
    // A type's own check names the field it found wrong ("usesLeft: 4 is more than..."):
    // that field joins the path.
    let mut field = field;
    if let Some((name, rest)) = reason.split_once(": ") {
        if field != "input" && !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric()) {
            field = format!("{field}.{name}");
            reason = rest.to_string();
        }
    }
    // Millis' own messages all say "epoch milliseconds".
    if reason.contains("epoch milliseconds") {
        Error::InvalidTime { field, reason }
    } else {
        Error::InvalidArgument { field, reason }
    }
}

/// What the JS entry point's tagged value at `path` stands for (`{"$date": ms}`, `{"$js": text}`),
/// if the value there is one.
fn tagged_value_at(root: &serde_json::Value, path: &serde_path_to_error::Path) -> Option<String> {
    use serde_path_to_error::Segment;
    let mut v = root;
    for segment in path.iter() {
        v = match segment {
            Segment::Seq { index } => v.get(*index)?,
            Segment::Map { key } | Segment::Enum { variant: key } => v.get(key)?,
            Segment::Unknown => return None,
        };
    }
    let obj = v.as_object().filter(|o| o.len() == 1)?;
    match (obj.get(crate::clock::DATE_TAG), obj.get(crate::clock::JS_TAG)) {
        (Some(_), _) => Some("a Date".into()),
        (_, Some(serde_json::Value::String(text))) => Some(crate::clock::js_value_name(text)),
        _ => None,
    }
}
