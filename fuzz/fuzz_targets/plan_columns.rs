//! The columnar plan's input decoding: arbitrary columns, lengths, kinds, numbers (NaN included).
#![no_main]
use libfuzzer_sys::fuzz_target;
use weapp_notify::plan::{plan_columns, Columns, PlanOptions};

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
        vec![]
    } else {
        (0..rows).map(|i| if at(i + 13) % 3 == 0 { u32::MAX } else { at(i) as u32 % 3 }).collect()
    };
    let push_user: Vec<u32> = (0..(data[3] as usize % 8)).map(|i| at(i + 17) as u32 % (users as u32 + 1)).collect();
    let push_at: Vec<f64> = (0..push_user.len()).map(|i| f64_at(i + 40)).collect();
    let excluded: Vec<u8> = (0..users).map(|i| at(i + 19) % 2).collect();
    let ids = |r: usize| Ok(format!("id{}", at(r + 23) % 4));
    let cols = Columns {
        user_count: users,
        excluded: &excluded,
        push_user: &push_user,
        push_at: &push_at,
        cred_user: &cred_user,
        cred_kind: &cred_kind,
        cred_uses: &cred_uses,
        cred_expire: &cred_expire,
        cred_template: &cred_template,
        ids: if data[2] % 3 == 0 { None } else { Some(&ids) },
    };
    let message = if data[2] % 5 == 0 { r#"{"type":"subscribe","templateId":"T1"}"# } else { r#"{"type":"template"}"# };
    let opts: PlanOptions = serde_json::from_str(&format!(r#"{{"message":{message},"now":1700000000000,"templates":["T0","T1","T2"],"policy":{{"quietHours":{{"from":"22:00","to":"08:00"}},"maxPushesPerDay":{}}}}}"#, 1 + data[3] % 3)).unwrap();
    if let Ok(plan) = plan_columns(&cols, &opts) {
        for (u, &c) in plan.choice.iter().enumerate() {
            if c >= 0 {
                assert_eq!(cred_user[c as usize] as usize, u, "a user is sent another user's credential");
            }
        }
    }
});
