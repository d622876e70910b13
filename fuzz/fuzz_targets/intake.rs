//! Credential intake: arbitrary JSON, and arbitrary strings in every id field.
#![no_main]
use libfuzzer_sys::fuzz_target;
use weapp_notify::api::call;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    for op in [
        "intakeFormId",
        "intakePrepayId",
        "intakeLongTermSubscription",
        "selectCredential",
        "checkEligibility",
        "countSends",
    ] {
        let _ = call(op, s);
    }
    let v = serde_json::Value::String(s.to_string());
    let _ = call("intakeFormId", &serde_json::json!({ "userId": v, "formId": v, "collectedAt": 0 }).to_string());
    let _ = call("intakePrepayId", &serde_json::json!({ "userId": "u", "prepayId": v, "paidAt": 1 }).to_string());
});
