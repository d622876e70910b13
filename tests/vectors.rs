//! The shared test vectors (tests/vectors/*.json), checked against the core. Jest checks the same
//! files against every JS backend.

use serde_json::Value;

#[test]
fn every_vector_holds_in_the_core() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let cases: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for case in cases {
            let name = case["name"].as_str().unwrap();
            let op = case["op"].as_str().unwrap();
            let got = weapp_notify::api::call(op, &case["input"].to_string());
            match (case.get("output"), case.get("raw"), got) {
                (Some(want), None, Ok(json)) => {
                    let got: Value = serde_json::from_str(&json).unwrap();
                    assert_eq!(&got, want, "{name}");
                }
                // Byte for byte: field order, escaping and all.
                (None, Some(raw), Ok(json)) => assert_eq!(json, raw.as_str().unwrap(), "{name}"),
                (None, None, Err(e)) => {
                    assert_eq!(e.code(), case["error"].as_str().unwrap(), "{name}: {e}");
                    let field = case["field"].as_str().unwrap();
                    assert!(e.to_string().starts_with(&format!("{field}: ")), "{name}: {e:?} does not name {field}");
                    if let Some(message) = case.get("message") {
                        assert_eq!(e.to_string(), message.as_str().unwrap(), "{name}");
                    }
                }
                (want, raw, got) => panic!("{name}: wanted {want:?} / {raw:?}, got {got:?}"),
            }
            checked += 1;
        }
    }
    assert!(checked > 70, "only {checked} vectors");
}
