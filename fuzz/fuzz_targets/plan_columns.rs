//! The columnar plan's input as the bindings hand it over: arbitrary columns, lengths, kinds,
//! numbers (NaN included), ids as one text with arbitrary lengths, users by index or by string id.
#![no_main]
use libfuzzer_sys::fuzz_target;
use weapp_notify::columns::{plan_input_into, ColumnsInput, Texts};
use weapp_notify::plan::ColumnPlan;

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let users = data[0] as usize % 16;
    let rows = data[1] as usize % 32;
    let body = &data[4..];
    let at = |i: usize| body.get(i % body.len().max(1)).copied().unwrap_or(0);
    let f64_at = |i: usize| {
        let b: [u8; 8] = std::array::from_fn(|k| at(i * 8 + k));
        let raw = f64::from_le_bytes(b);
        // Mostly plausible instants, sometimes raw bits (NaN, infinities, fractions, negatives).
        if at(i) % 4 == 0 {
            raw
        } else {
            1.7e12 + (u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64) * 1000.0
        }
    };
    let cred_user: Vec<u32> = (0..rows).map(|i| at(i) as u32 % (users as u32 + 2)).collect();
    let cred_kind: Vec<u8> = (0..rows).map(|i| at(i + 7) % 5).collect();
    let cred_uses: Vec<f64> =
        (0..rows).map(|i| if at(i + 3) % 7 == 0 { f64::NAN } else { (at(i + 5) % 5) as f64 }).collect();
    let cred_expire: Vec<f64> = (0..rows).map(|i| if at(i + 11) % 5 == 0 { f64::NAN } else { f64_at(i) }).collect();
    let cred_template: Vec<u32> = if data[2] % 2 == 0 {
        vec![u32::MAX; rows]
    } else {
        (0..rows).map(|i| if at(i + 13) % 3 == 0 { u32::MAX } else { at(i) as u32 % 3 }).collect()
    };
    let push_user: Vec<u32> = (0..(data[3] as usize % 8)).map(|i| at(i + 17) as u32 % (users as u32 + 1)).collect();
    let push_at: Vec<f64> = (0..push_user.len()).map(|i| f64_at(i + 40)).collect();
    let excluded: Vec<u8> = (0..users).map(|i| at(i + 19) % 2).collect();
    // Ids from a small alphabet with junk among them, split by lengths that may not fit the text.
    let words = ["id0", "id1", "", "null", "requestFormId:fail x", "é😀", "id1"];
    let ids: Vec<&str> = (0..rows).map(|i| words[at(i + 23) as usize % words.len()]).collect();
    let text: String = ids.concat();
    let mut lengths: Vec<f64> = ids.iter().map(|s| s.encode_utf16().count() as f64).collect();
    if data[3] % 7 == 0 && !lengths.is_empty() {
        lengths[0] += (at(29) as f64) - 3.0;
    }
    let user_names: Vec<String> = (0..users).map(|u| format!("u{u}")).collect();
    let user_text: String = user_names.concat();
    let user_lengths: Vec<f64> = user_names.iter().map(|s| s.len() as f64).collect();
    let cred_user_names: Vec<String> = cred_user.iter().map(|u| format!("u{u}")).collect();
    let cred_user_text: String = cred_user_names.concat();
    let cred_user_lengths: Vec<f64> = cred_user_names.iter().map(|s| s.len() as f64).collect();
    let by_ids = data[2] % 4 == 1;
    let message = if data[2] % 5 == 0 { r#"{"type":"subscribe","templateId":"T1"}"# } else { r#"{"type":"template"}"# };
    let options = format!(
        r#"{{"message":{message},"now":1700000000000,"templates":["T0","T1","undefined"],"policy":{{"quietHours":{{"from":"22:00","to":"08:00"}},"maxPushesPerDay":{}}}}}"#,
        1 + data[3] % 3
    );
    let input = ColumnsInput {
        options: &options,
        user_count: users as f64,
        excluded: Some(&excluded),
        user_keys: None,
        user_ids: by_ids.then_some(Texts { text: &user_text, lengths: &user_lengths }),
        push_user: Some(&push_user),
        push_at: Some(&push_at),
        cred_user: (!by_ids).then_some(&cred_user[..]),
        cred_user_keys: None,
        cred_user_ids: by_ids.then_some(Texts { text: &cred_user_text, lengths: &cred_user_lengths }),
        cred_kind: &cred_kind,
        cred_uses: &cred_uses,
        cred_expire: &cred_expire,
        cred_template: Some(&cred_template),
        cred_ids: (data[2] % 3 != 0).then_some(Texts { text: &text, lengths: &lengths }),
    };
    let mut plan = ColumnPlan {
        choice: vec![0; users],
        reason: vec![0; users],
        not_before: vec![0.0; users],
        uses_after: vec![0.0; users],
        dead_rows: vec![0; rows],
        dead_reason: vec![0; rows],
    };
    if plan_input_into(&input, &mut plan.out()).is_ok() {
        for (u, &c) in plan.choice.iter().enumerate() {
            if c >= 0 {
                assert_eq!(cred_user[c as usize] as usize, u, "a user is sent another user's credential");
                if data[2] % 3 != 0 {
                    let id = ids[c as usize];
                    assert!(!["", "null", "requestFormId:fail x"].contains(&id), "a refused id is sent: {id:?}");
                }
            }
        }
    }
});
