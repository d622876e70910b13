//! `wx.requestSubscribeMessage` results: arbitrary JSON as the result, and arbitrary keys and answers.
#![no_main]
use libfuzzer_sys::fuzz_target;
use weapp_notify::api::call;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(result) = serde_json::from_str::<serde_json::Value>(s) {
        let _ = call("intakeSubscribeResult", &serde_json::json!({ "userId": "u", "result": result }).to_string());
    }
    let mid = (0..=s.len() / 2).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0);
    let (key, answer) = s.split_at(mid);
    let out =
        call("intakeSubscribeResult", &serde_json::json!({ "userId": "u", "result": { key: answer } }).to_string());
    // Only an accept answer (any variant: one beginning with "accept", see README) grants anything.
    if let Ok(json) = out {
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        let granted = !v["grants"].as_array().unwrap().is_empty();
        assert_eq!(granted, key != "errMsg" && answer.starts_with("accept"));
    }
});
