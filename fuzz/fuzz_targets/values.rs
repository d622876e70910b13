//! Subscribe values of every type: validation never panics, and whatever truncation produces is
//! valid for its type.
#![no_main]
use libfuzzer_sys::fuzz_target;
use weapp_notify::api::call;

const KEYS: [&str; 12] = [
    "thing1",
    "number2",
    "letter3",
    "symbol4",
    "character_string5",
    "time6",
    "date7",
    "amount8",
    "phone_number9",
    "car_number10",
    "name11",
    "phrase12",
];

fuzz_target!(|data: &[u8]| {
    let Some((&k, rest)) = data.split_first() else {
        return;
    };
    let Ok(value) = std::str::from_utf8(rest) else {
        return;
    };
    let key = KEYS[k as usize % KEYS.len()];
    let body = |overflow: &str, value: &str| {
        call("buildSubscribeMessage", &serde_json::json!({ "touser": "o", "templateId": "T", "data": { key: value }, "options": { "overflow": overflow } }).to_string())
    };
    if let Ok(json) = body("truncate", value) {
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        let sent = v["data"][key]["value"].as_str().unwrap().to_string();
        assert!(body("error", &sent).is_ok(), "{key}: truncation gave {sent:?}, which is not valid");
    }
    let _ = call(
        "buildTemplateMessage",
        &serde_json::json!({ "touser": "o", "templateId": "T", "formId": "f", "data": { "keyword1": value } })
            .to_string(),
    );
});
