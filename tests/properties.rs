//! Properties of the rules, over generated inputs (proptest).

use proptest::prelude::*;
use serde_json::{json, Value};
use weapp_notify::api::call;
use weapp_notify::clock::{local_day, UtcOffset};
use weapp_notify::credential::{count_sends, Credential};
use weapp_notify::plan::{plan_page, Decision, PlanPage};
use weapp_notify::policy::Policy;
use weapp_notify::select::{select, MessageKind};

const NOW: i64 = 1_709_344_800_000;
const HOUR: i64 = 3_600_000;

fn credential() -> impl Strategy<Value = Value> {
    (0u8..4, 0u32..4, -48i64..200, 0u8..3, "[a-f0-9]{1,6}").prop_map(|(kind, uses, hours, t, id)| {
        let template = format!("T{t}");
        match kind {
            0 => json!({ "kind": "formId", "id": id, "userId": "u", "usesLeft": uses.min(1), "expireAt": NOW + hours * HOUR / 2 }),
            1 => json!({ "kind": "prepayId", "id": id, "userId": "u", "usesLeft": uses.min(3), "expireAt": NOW + hours * HOUR / 2 }),
            2 => json!({ "kind": "grant", "id": template, "templateId": template, "userId": "u", "usesLeft": uses }),
            _ => json!({ "kind": "longTerm", "id": template, "templateId": template, "userId": "u", "usesLeft": if uses == 0 { json!(0) } else { Value::Null } }),
        }
    })
}

fn policy() -> impl Strategy<Value = Value> {
    (-12i32..=14, 1u32..4, proptest::option::of((0u32..24, 0u32..24)), 0i64..30, 0i64..120).prop_map(
        |(off, max, quiet, gap_h, margin_min)| {
            let mut p = json!({
                "utcOffset": format!("{}{:02}:00", if off < 0 { '-' } else { '+' }, off.abs()),
                "maxPushesPerDay": max,
                "minGapMs": gap_h * HOUR,
                "safetyMarginMs": margin_min * 60_000,
            });
            if let Some((from, to)) = quiet.filter(|(f, t)| f != t) {
                p["quietHours"] = json!({ "from": format!("{from:02}:00"), "to": format!("{to:02}:00") });
            }
            p
        },
    )
}

fn page() -> impl Strategy<Value = Value> {
    let user = (proptest::collection::vec(-72i64..24, 0..4), any::<bool>());
    (proptest::collection::vec(user, 1..8), proptest::collection::vec((0usize..8, credential()), 0..24), policy(), 0u8..4, 0i64..48)
        .prop_map(|(users, creds, policy, msg, shift)| {
            let now = NOW + shift * HOUR / 2;
            let n = users.len();
            let users: Vec<Value> = users
                .into_iter()
                .enumerate()
                .map(|(i, (pushes, excluded))| json!({ "userId": format!("u{i}"), "pushedAt": pushes.iter().map(|h| now + h * HOUR).collect::<Vec<_>>(), "excluded": excluded }))
                .collect();
            let credentials: Vec<Value> = creds
                .into_iter()
                .map(|(u, mut c)| {
                    c["userId"] = json!(format!("u{}", u % n));
                    c
                })
                .collect();
            let message = if msg == 0 { json!({ "type": "template" }) } else { json!({ "type": "subscribe", "templateId": format!("T{}", msg - 1) }) };
            json!({ "users": users, "credentials": credentials, "message": message, "now": now, "policy": policy })
        })
}

fn by_user(plan: &weapp_notify::plan::PagePlan) -> Vec<String> {
    let mut v: Vec<String> = plan
        .decisions
        .iter()
        .map(|d| match d {
            Decision::Send { user_id, credential, .. } => {
                format!("{}:{}:{}", user_id.0, credential.kind.name(), credential.id)
            }
            Decision::Skip { user_id, reason, not_before } => format!("{}:{reason:?}:{not_before:?}", user_id.0),
        })
        .collect();
    v.sort();
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn a_picked_credential_is_usable(creds in proptest::collection::vec(credential(), 0..12), margin in 0i64..(4 * HOUR), t in 0u8..3) {
        let creds: Vec<Credential> = creds.into_iter().map(|c| serde_json::from_value(c).unwrap()).collect();
        let kind = if t == 0 { MessageKind::Template } else { MessageKind::Subscribe { template_id: format!("T{}", t - 1) } };
        if let Some(i) = select(&creds, &kind, NOW, margin) {
            let c = &creds[i];
            prop_assert!(c.uses_left != Some(0), "spent: {c:?}");
            prop_assert!(c.expire_at.is_none_or(|e| NOW + margin < e.0), "dies within the margin: {c:?}");
            prop_assert!(kind.accepts(c));
            // And it is first: no other usable one of the kind expires earlier.
            for o in creds.iter().filter(|o| kind.accepts(o) && o.usable(NOW, margin)) {
                prop_assert!(o.expire_at.map_or(i64::MAX, |e| e.0) >= c.expire_at.map_or(i64::MAX, |e| e.0));
            }
        }
    }

    #[test]
    fn the_plan_keeps_the_daily_cap_and_ignores_row_order(p in page(), seed in any::<u64>()) {
        let input: PlanPage = serde_json::from_value(p.clone()).unwrap();
        let policy: Policy = serde_json::from_value(p["policy"].clone()).unwrap();
        let now = input.now.0;
        let plan = plan_page(input).unwrap();
        for d in &plan.decisions {
            if let Decision::Send { user_id, .. } = d {
                let user = p["users"].as_array().unwrap().iter().find(|u| u["userId"] == user_id.0).unwrap();
                let off: UtcOffset = policy.utc_offset;
                let today = user["pushedAt"].as_array().unwrap().iter().filter(|t| local_day(t.as_i64().unwrap(), off) == local_day(now, off)).count();
                prop_assert!(today < policy.max_pushes_per_day.get() as usize, "{user} pushed {today} times today");
                prop_assert!(!user["excluded"].as_bool().unwrap());
            }
        }
        // Shuffle both row lists: the same decision for every user.
        let mut shuffled = p.clone();
        let mut rng = seed | 1;
        for key in ["users", "credentials"] {
            let rows = shuffled[key].as_array_mut().unwrap();
            for i in (1..rows.len()).rev() {
                rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
                rows.swap(i, (rng % (i as u64 + 1)) as usize);
            }
        }
        let again = plan_page(serde_json::from_value(shuffled).unwrap()).unwrap();
        prop_assert_eq!(by_user(&plan), by_user(&again));
    }

    #[test]
    fn counts_are_what_the_credentials_imply(creds in proptest::collection::vec(credential(), 0..16)) {
        let creds: Vec<Credential> = creds.into_iter().map(|c| serde_json::from_value(c).unwrap()).collect();
        let counts = count_sends(&creds, NOW);
        let live = creds.iter().filter(|c| c.death(NOW).is_none());
        let template: u64 = live.clone().filter(|c| c.template_id.is_none()).map(|c| c.uses_left.unwrap_or(0) as u64).sum();
        prop_assert_eq!(counts.iter().map(|u| u.template_message).sum::<u64>(), template);
        let unlimited = live.clone().any(|c| c.uses_left.is_none());
        let grants: u64 = live.filter(|c| c.template_id.is_some()).map(|c| c.uses_left.unwrap_or(0) as u64).sum();
        let counted: u64 = counts.iter().flat_map(|u| &u.subscribe).map(|t| t.sends_left.unwrap_or(0)).sum();
        if !unlimited { prop_assert_eq!(counted, grants); }
    }

    #[test]
    fn truncation_yields_a_valid_value(text in "\\PC{1,60}", key in prop_oneof![Just("thing1"), Just("name2"), Just("character_string3")]) {
        let body = |overflow: &str, value: &str| call("buildSubscribeMessage", &json!({ "touser": "o", "templateId": "T", "data": { key: value }, "options": { "overflow": overflow } }).to_string());
        if let Ok(json) = body("truncate", &text) {
            let v: Value = serde_json::from_str(&json).unwrap();
            let cut = v["data"][key]["value"].as_str().unwrap().to_string();
            prop_assert!(body("error", &cut).is_ok(), "{key}: {cut:?} is not valid");
        }
    }

    #[test]
    fn a_body_parses_back_to_its_data(thing in "\\PC{1,20}", n in 0u64..1_000_000, ms in 0i64..4_000_000_000_000) {
        let input = json!({ "touser": "o", "templateId": "T", "data": { "thing1": thing, "number2": n, "date3": { "$date": ms } } });
        if let Ok(json) = call("buildSubscribeMessage", &input.to_string()) {
            let v: Value = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(v["data"]["thing1"]["value"].as_str().unwrap(), input["data"]["thing1"].as_str().unwrap());
            prop_assert_eq!(v["data"]["number2"]["value"].as_str().unwrap(), n.to_string());
            prop_assert!(v["data"]["date3"]["value"].as_str().unwrap().contains('年'));
        }
    }

    #[test]
    fn every_errcode_gets_a_decision(errcode in any::<i64>(), attempt in 1u32..10, kind in 0usize..4, random in 0.0f64..1.0, ambiguous in any::<bool>()) {
        let kind = ["formId", "prepayId", "grant", "longTerm"][kind];
        let input = json!({ "response": { "errcode": errcode, "errmsg": "x" }, "credentialKind": kind, "attempt": attempt, "random": random, "earlierAmbiguous": ambiguous });
        let d: Value = serde_json::from_str(&call("classifyOutcome", &input.to_string()).unwrap()).unwrap();
        prop_assert!(d["meaning"].as_str().is_some_and(|m| !m.is_empty()));
        if d["user"] == "retry" { prop_assert!(d["retryInMs"].as_i64().is_some_and(|ms| ms >= 0)); }
    }
}
