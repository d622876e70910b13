//! WeChat's errmsg (the 47003 key) and whole answers: any text, any errcode, a decision every time.
#![no_main]
use libfuzzer_sys::fuzz_target;
use weapp_notify::api::call;
use weapp_notify::outcome::invalid_key;

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    let errcode = i64::from_le_bytes(data[..8].try_into().unwrap());
    let errmsg = String::from_utf8_lossy(&data[8..]).to_string();
    if let Some(key) = invalid_key(&errmsg) {
        assert!(!key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    }
    let input = serde_json::json!({ "response": { "errcode": errcode, "errmsg": errmsg }, "credentialKind": "formId", "attempt": 1, "random": 0.5 });
    call("classifyOutcome", &input.to_string()).expect("every errcode gets a decision");
});
