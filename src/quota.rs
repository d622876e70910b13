//! The day's budget of a send API: how many sends fit today, from WeChat's getApiQuota answer
//! (`POST /cgi-bin/openapi/quota/get` with the API's cgi_path:
//! `{ quota: { daily_limit, used, remain }, rate_limit, ... }`). The answer is WeChat's, so it is
//! read liberally: unknown fields are ignored, a count may be a number or a string of digits, and an
//! answer without a usable count leaves the budget unknown (the push then runs without one).
//! Owns the budget; it may not send or keep counts of its own.

use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, expecting = "an object {answer, reserve?}")]
pub struct QuotaInput {
    /// getApiQuota's answer, as parsed JSON.
    pub answer: serde_json::Value,
    /// Calls of the day kept for other uses of the API (sends outside the push): not budgeted.
    #[serde(default)]
    pub reserve: u32,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all_fields = "camelCase", untagged)]
pub enum Budget {
    /// `sends`: the sends the push may start today.
    Known { daily_limit: Option<u64>, used: Option<u64>, remain: u64, sends: u64 },
    /// Why no budget could be read.
    Unknown { unknown: String },
}

// A count as WeChat may write it: a whole number >= 0, or its digits as text.
fn count(v: Option<&serde_json::Value>) -> Option<u64> {
    match v? {
        serde_json::Value::Number(n) => {
            n.as_u64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < 9e15).map(|f| f as u64))
        }
        serde_json::Value::String(s) if !s.is_empty() && s.len() < 20 && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().ok()
        }
        _ => None,
    }
}

/// The sends that fit today: what remains of the day's quota (never more than daily_limit - used,
/// when both are given), less the reserve.
pub fn send_budget(i: &QuotaInput) -> Budget {
    let errcode = i.answer.get("errcode").and_then(serde_json::Value::as_i64).unwrap_or(0);
    if errcode != 0 {
        return Budget::Unknown { unknown: format!("errcode {errcode}") };
    }
    let q = i.answer.get("quota");
    let (daily_limit, used) = (count(q.and_then(|q| q.get("daily_limit"))), count(q.and_then(|q| q.get("used"))));
    let by_use = daily_limit.zip(used).map(|(l, u)| l.saturating_sub(u));
    let remain = match (count(q.and_then(|q| q.get("remain"))), by_use) {
        (Some(r), Some(b)) => r.min(b),
        (r, b) => match r.or(b) {
            Some(r) => r,
            None => return Budget::Unknown { unknown: "no quota.remain in the answer".into() },
        },
    };
    Budget::Known { daily_limit, used, remain, sends: remain.saturating_sub(u64::from(i.reserve)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(answer: serde_json::Value, reserve: u32) -> Budget {
        send_budget(&QuotaInput { answer, reserve })
    }

    #[test]
    fn the_budget_is_what_remains_less_the_reserve_never_past_limit_minus_used() {
        let known = |remain, sends| Budget::Known { daily_limit: Some(100), used: Some(85), remain, sends };
        let q = serde_json::json!({ "errcode": 0, "quota": { "daily_limit": 100, "used": 85, "remain": 15 } });
        assert_eq!(budget(q.clone(), 0), known(15, 15));
        assert_eq!(budget(q, 20), known(15, 0));
        let stale = serde_json::json!({ "quota": { "daily_limit": "100", "used": "85", "remain": 40 } });
        assert_eq!(budget(stale, 5), known(15, 10));
    }

    #[test]
    fn an_answer_without_a_count_leaves_the_budget_unknown() {
        let unknown = |s: &str| Budget::Unknown { unknown: s.into() };
        assert_eq!(budget(serde_json::json!({ "errcode": 76021 }), 0), unknown("errcode 76021"));
        assert_eq!(budget(serde_json::json!(null), 0), unknown("no quota.remain in the answer"));
        let odd = serde_json::json!({ "quota": { "remain": -3, "used": 1.5, "daily_limit": "" } });
        assert_eq!(budget(odd, 0), unknown("no quota.remain in the answer"));
    }
}
