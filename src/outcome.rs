//! What each WeChat answer means for the credential, the user, the batch and the token, and when
//! to retry. Every errcode of the current subscribeMessage.send page (and of the older pages and
//! the template API) has a row here; anything else gets a safe default. A WeChat answer is read
//! liberally: its fields the core does not use are ignored.
//! Owns the errcode table and the retry and token policy; it may not send, wait or keep state.

use std::num::NonZeroU32;

use serde::{Deserialize, Serialize};

use crate::clock::{Millis, MINUTE_MS};
use crate::credential::{CredentialKind, SendEffect};
use crate::error::{Error, Result};
use crate::policy::DurationMs;

/// What came back from one POST. WeChat's answer is read liberally: fields the core does not use
/// are ignored, never an error (WeChat adds fields, such as `msgid` on a delivered send).
// Every field is optional: absent is `None` (the container's `default`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[serde(expecting = "a response {errcode, errmsg?, msgid?} | {httpStatus?, body} | {httpStatus} | {networkError}")]
pub struct Response {
    pub errcode: Option<i64>,
    pub errmsg: Option<String>,
    /// The id WeChat gives a delivered message: digits, or a JSON number (exact only up to 2^53
    /// when it passed through a JS Number; pass `body` to keep every digit).
    pub msgid: Option<serde_json::Value>,
    /// The HTTP reply's body as received: the core reads WeChat's answer from it, digits exact.
    pub body: Option<String>,
    /// An HTTP status that came without a JSON body (or with `body`).
    pub http_status: Option<u16>,
    /// The request failed on the network (reset, timeout, DNS): it may or may not have arrived.
    pub network_error: Option<String>,
}

/// The part of a send API's JSON answer the core reads; everything else in it is ignored.
#[derive(Default, Deserialize)]
#[serde(default)]
struct BodyAnswer {
    errcode: Option<serde_json::Value>,
    errmsg: Option<serde_json::Value>,
    msgid: Option<serde_json::Value>,
}

/// WeChat's answer, as the core reads it from either form of `Response`.
struct Answer<'a> {
    errcode: Option<i64>,
    errmsg: Option<std::borrow::Cow<'a, str>>,
    msgid: Option<String>,
}

/// Integers a JS Number holds exactly: a larger msgid that arrived as a number was rounded.
const MAX_EXACT_JS_INTEGER: u64 = (1 << 53) - 1;

/// A msgid as its decimal digits; anything else WeChat might put there is no msgid (never an error).
fn msgid_digits(v: &serde_json::Value, exact: bool) -> Option<String> {
    match v {
        serde_json::Value::Number(n) => {
            n.as_u64().filter(|&m| exact || m <= MAX_EXACT_JS_INTEGER).map(|m| m.to_string())
        }
        serde_json::Value::String(s) if (1..=20).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) => {
            Some(s.clone())
        }
        _ => None,
    }
}

impl Response {
    fn answer(&self) -> Result<Answer<'_>> {
        let Some(body) = &self.body else {
            let msgid = self.msgid.as_ref().and_then(|m| msgid_digits(m, false));
            return Ok(Answer { errcode: self.errcode, errmsg: self.errmsg.as_deref().map(Into::into), msgid });
        };
        if self.errcode.is_some() || self.errmsg.is_some() || self.msgid.is_some() {
            return Err(Error::invalid(
                "response.body",
                "give the raw body or its parsed fields (errcode...), not both",
            ));
        }
        // A body that is not a WeChat answer (an HTML error page, say) is an HTTP reply without one.
        let parsed: Option<BodyAnswer> = serde_json::from_str(body).ok();
        let Some(a) = parsed else { return Ok(Answer { errcode: None, errmsg: None, msgid: None }) };
        Ok(Answer {
            errcode: a.errcode.as_ref().and_then(serde_json::Value::as_i64),
            errmsg: match a.errmsg {
                Some(serde_json::Value::String(s)) => Some(s.into()),
                _ => None,
            },
            msgid: a.msgid.as_ref().and_then(|m| msgid_digits(m, true)),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct RetryPolicy {
    pub base_ms: DurationMs,
    pub cap_ms: DurationMs,
    /// Attempts of one send, the first included.
    pub max_attempts: NonZeroU32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base_ms: DurationMs(500),
            cap_ms: DurationMs(30_000),
            max_attempts: NonZeroU32::new(4).unwrap_or(NonZeroU32::MIN),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[serde(expecting = "an object {response, credentialKind, attempt, random, ...}")]
pub struct SendContext {
    pub response: Response,
    pub credential_kind: CredentialKind,
    /// 1 for the first attempt of this send.
    pub attempt: NonZeroU32,
    /// An earlier attempt of this same send was ambiguous (-1, a dropped connection, a non-JSON reply).
    #[serde(default)]
    pub earlier_ambiguous: bool,
    /// An earlier attempt of this same send failed on its token (the token was refreshed since).
    #[serde(default)]
    pub earlier_token_error: bool,
    /// A uniform random number in [0, 1) for jitter, from the caller's random source.
    pub random: f64,
    /// Now, for waits that end on the minute (45011); without it the wait is a full minute.
    #[serde(default)]
    pub now: Option<Millis>,
    #[serde(default)]
    pub retry: RetryPolicy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum UserAction {
    /// Delivered, or counted as delivered: the user's push for today is spent.
    Pushed,
    /// This credential is dead: send again now with the user's next one.
    NextCredential,
    /// Send the same thing with the same credential after `retryInMs`.
    Retry,
    /// Not pushed in this run; a later run may push them.
    Later,
    /// Never push this user (openid invalid).
    SkipForGood,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum BatchAction {
    Continue,
    /// Pause every send for `retryInMs` (per-minute quota).
    Wait,
    /// The daily quota is spent: no more sends today.
    StopForToday,
    /// The template, page or API permission is wrong: nothing more will succeed until a person fixes it.
    StopConfigError,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum TokenAction {
    Keep,
    /// The token was refused: refresh it (if it is still the cached one) and retry once.
    Refresh,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    pub errcode: Option<i64>,
    /// Whether WeChat delivered the message (`null`: unknown; the send is counted as the user decision says).
    pub delivered: Option<bool>,
    pub credential: SendEffect,
    pub user: UserAction,
    pub batch: BatchAction,
    pub token: TokenAction,
    /// For `user: retry` and `batch: wait`: how long to wait first.
    pub retry_in_ms: Option<i64>,
    /// The outcome is unknown: pass `earlierAmbiguous: true` with the retry.
    pub ambiguous: bool,
    /// For 47003: the data key WeChat named (`thing3`).
    pub invalid_key: Option<String>,
    /// The id WeChat gave the message, as its exact decimal digits (a sent event names it).
    pub msgid: Option<String>,
    /// One line for logs; never holds a token.
    pub meaning: &'static str,
}

impl Decision {
    fn new(errcode: Option<i64>, meaning: &'static str) -> Decision {
        Decision {
            errcode,
            delivered: Some(false),
            credential: SendEffect::Keep,
            user: UserAction::Later,
            batch: BatchAction::Continue,
            token: TokenAction::Keep,
            retry_in_ms: None,
            ambiguous: false,
            invalid_key: None,
            msgid: None,
            meaning,
        }
    }
}

/// Exponential backoff with equal jitter: half the step fixed, half random.
fn backoff(ctx: &SendContext, attempt: u32) -> i64 {
    let step = ctx.retry.base_ms.0.saturating_mul(1i64 << (attempt - 1).min(30)).min(ctx.retry.cap_ms.0);
    step / 2 + (ctx.random * (step / 2) as f64) as i64
}

/// The data key in a 47003 errmsg: `argument invalid! data.thing3.value invalid` -> `thing3`.
pub fn invalid_key(errmsg: &str) -> Option<String> {
    let rest = &errmsg[errmsg.find("data.")? + 5..];
    let key: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    (!key.is_empty()).then_some(key)
}

/// The ambiguous case: the message may have been delivered. A formId is retried with the same
/// formId, since a 41029 on the retry proves the first try arrived. Anything else would be spent
/// again by a retry that arrives too, so it counts as delivered: a user may miss one, never get two.
fn ambiguous(ctx: &SendContext, mut d: Decision) -> Decision {
    d.ambiguous = true;
    d.delivered = None;
    if ctx.credential_kind != CredentialKind::FormId {
        d.credential = SendEffect::Consume;
        d.user = UserAction::Pushed;
    } else {
        d.user = UserAction::Retry;
        d.retry_in_ms = Some(backoff(ctx, ctx.attempt.get()));
    }
    d
}

pub fn classify(ctx: &SendContext) -> Result<Decision> {
    if !(0.0..1.0).contains(&ctx.random) {
        return Err(Error::invalid("random", format!("{} is not in [0, 1)", ctx.random)));
    }
    let r = &ctx.response;
    let answer = r.answer()?;
    let Some(code) = answer.errcode else {
        let meaning = match (&r.network_error, r.http_status, &r.body) {
            (Some(_), _, _) => "network failure: the request may have arrived",
            (None, Some(_), _) | (None, None, Some(_)) => "HTTP reply without a JSON answer",
            (None, None, None) => {
                return Err(Error::invalid("response", "needs errcode, body, httpStatus or networkError"))
            }
        };
        return Ok(bounded(ctx, ambiguous(ctx, Decision::new(None, meaning))));
    };
    let mut d = decide(ctx, code, answer.errmsg.as_deref());
    d.msgid = answer.msgid;
    Ok(bounded(ctx, d))
}

/// What one errcode means, from the current subscribeMessage.send page (and, for the codes only
/// older pages and the template API list, from those). Each arm says what differs from
/// `Decision::new`'s: nothing delivered, the credential kept, the user later, the batch going on.
fn decide(ctx: &SendContext, code: i64, errmsg: Option<&str>) -> Decision {
    use BatchAction::{StopConfigError, StopForToday, Wait};
    use SendEffect::{Consume, Dead};
    use UserAction::{NextCredential, Pushed, Retry, SkipForGood};
    let d = Decision::new(Some(code), "");
    // The app's setup is wrong (credentials, template, page, permission): nothing else will
    // succeed either, until a person fixes it.
    let config = |meaning| Decision { meaning, batch: StopConfigError, ..d.clone() };
    let dead = |meaning, user| Decision { meaning, credential: Dead, user, ..d.clone() };
    let retry = |meaning, ms| Decision { meaning, user: Retry, retry_in_ms: Some(ms), ..d.clone() };
    match code {
        0 => Decision { meaning: "sent", delivered: Some(true), credential: Consume, user: Pushed, ..d },
        // 500 ("database query error", an internal failure) says no more than -1 of the send's fate.
        -1 | 500 => ambiguous(ctx, Decision { meaning: "system busy: outcome unknown", ..d }),
        40001 | 40014 | 42001 if ctx.earlier_token_error => {
            config("token refused again after a refresh: check appid and secret")
        }
        40001 | 40014 | 42001 => {
            Decision { token: TokenAction::Refresh, ..retry("access_token invalid or expired", 0) }
        }
        40003 => Decision { meaning: "openid invalid", user: SkipForGood, ..d },
        40037 => config("template_id invalid"),
        40002 | 40013 => config("appid or grant_type invalid"),
        40038 => Decision { meaning: "long-term template's daily sends to this user reached", ..d },
        41028 => dead("form_id invalid or expired", NextCredential),
        41029 if ctx.earlier_ambiguous => Decision {
            delivered: Some(true),
            ..dead("form_id already used by the earlier ambiguous attempt: delivered", Pushed)
        },
        41029 => dead("form_id already used", NextCredential),
        41030 => config("page invalid"),
        43101 => dead("user refused or no grant left", UserAction::Later),
        43107 => config("the account's subscribe-message ability or this template is banned"),
        // Retried after a pause; the worker also never has two sends to one openid in flight.
        43108 => retry("concurrent sends to one openid", backoff(ctx, 1)),
        45009 => Decision { meaning: "daily quota reached", batch: StopForToday, ..d },
        45011 => {
            let to_next_minute = ctx.now.map_or(MINUTE_MS, |n| MINUTE_MS - n.0.rem_euclid(MINUTE_MS));
            let wait = to_next_minute + (ctx.random * 1000.0) as i64;
            Decision { batch: Wait, ..retry("per-minute quota reached", wait) }
        }
        45168 => Decision { meaning: "blacklisted keyword in the content", ..d },
        10002 => Decision { meaning: "request parameter invalid", ..d },
        47003 => Decision { meaning: "argument invalid", invalid_key: errmsg.and_then(invalid_key), ..d },
        48001 => config("API not authorised for this mini program"),
        _ => retry(
            "unknown errcode: kept the credential, retrying a bounded number of times",
            backoff(ctx, ctx.attempt.get()),
        ),
    }
}

/// No send is retried past `retry.maxAttempts`, whatever the answer: the user is given up for
/// now (a later run may push them), so that no caller can loop forever on one send. What the
/// answer means for the token and the batch stands.
fn bounded(ctx: &SendContext, mut d: Decision) -> Decision {
    if d.user == UserAction::Retry && ctx.attempt >= ctx.retry.max_attempts {
        d.user = UserAction::Later;
        if d.batch != BatchAction::Wait {
            d.retry_in_ms = None;
        }
    }
    d
}

// ---------------------------------------------------------------- token policy

/// Refresh a token this long before it expires by default (stable_token renews 5 minutes ahead).
pub const DEFAULT_TOKEN_REFRESH_AHEAD_MS: i64 = 5 * MINUTE_MS;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, expecting = "an object {expiresAt, now, aheadMs?}")]
pub struct TokenAge {
    pub expires_at: Millis,
    pub now: Millis,
    #[serde(default)]
    pub ahead_ms: Option<DurationMs>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RefreshDue {
    pub refresh: bool,
    pub refresh_at: i64,
}

pub fn token_refresh_due(t: &TokenAge) -> RefreshDue {
    let ahead = t.ahead_ms.map_or(DEFAULT_TOKEN_REFRESH_AHEAD_MS, |a| a.0);
    let refresh_at = t.expires_at.0 - ahead;
    RefreshDue { refresh: t.now.0 >= refresh_at, refresh_at }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, expecting = "an object {failedToken, cachedToken}")]
pub struct TokenFailure {
    pub failed_token: String,
    pub cached_token: Option<String>,
}

/// After a token error: refresh only if the cache still holds the token that failed. If another
/// sender already replaced it, retry with the new one, so N concurrent failures cost one refresh.
pub fn refresh_after_failure(t: &TokenFailure) -> bool {
    t.cached_token.as_deref().is_none_or(|c| c == t.failed_token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(errcode: i64, kind: CredentialKind) -> SendContext {
        serde_json::from_value(serde_json::json!({
            "response": { "errcode": errcode, "errmsg": "argument invalid! data.thing3.value invalid rid: 5f0e" },
            "credentialKind": kind, "attempt": 1, "random": 0.5
        }))
        .unwrap()
    }

    fn decide(errcode: i64) -> Decision {
        classify(&ctx(errcode, CredentialKind::FormId)).unwrap()
    }

    use BatchAction as B;
    use SendEffect as C;
    use UserAction as U;

    #[test]
    fn every_documented_errcode() {
        let rows: &[(i64, C, U, B, TokenAction)] = &[
            (0, C::Consume, U::Pushed, B::Continue, TokenAction::Keep),
            (-1, C::Keep, U::Retry, B::Continue, TokenAction::Keep),
            (40001, C::Keep, U::Retry, B::Continue, TokenAction::Refresh),
            (40014, C::Keep, U::Retry, B::Continue, TokenAction::Refresh),
            (42001, C::Keep, U::Retry, B::Continue, TokenAction::Refresh),
            (40003, C::Keep, U::SkipForGood, B::Continue, TokenAction::Keep),
            (40037, C::Keep, U::Later, B::StopConfigError, TokenAction::Keep),
            (41028, C::Dead, U::NextCredential, B::Continue, TokenAction::Keep),
            (41029, C::Dead, U::NextCredential, B::Continue, TokenAction::Keep),
            (41030, C::Keep, U::Later, B::StopConfigError, TokenAction::Keep),
            (43101, C::Dead, U::Later, B::Continue, TokenAction::Keep),
            (43107, C::Keep, U::Later, B::StopConfigError, TokenAction::Keep),
            (43108, C::Keep, U::Retry, B::Continue, TokenAction::Keep),
            (40038, C::Keep, U::Later, B::Continue, TokenAction::Keep),
            (40002, C::Keep, U::Later, B::StopConfigError, TokenAction::Keep),
            (40013, C::Keep, U::Later, B::StopConfigError, TokenAction::Keep),
            (10002, C::Keep, U::Later, B::Continue, TokenAction::Keep),
            (500, C::Keep, U::Retry, B::Continue, TokenAction::Keep),
            (45009, C::Keep, U::Later, B::StopForToday, TokenAction::Keep),
            (45011, C::Keep, U::Retry, B::Wait, TokenAction::Keep),
            (45168, C::Keep, U::Later, B::Continue, TokenAction::Keep),
            (47003, C::Keep, U::Later, B::Continue, TokenAction::Keep),
            (48001, C::Keep, U::Later, B::StopConfigError, TokenAction::Keep),
            (99999, C::Keep, U::Retry, B::Continue, TokenAction::Keep),
        ];
        for &(code, c, u, b, t) in rows {
            let d = decide(code);
            assert_eq!((d.credential, d.user, d.batch, d.token), (c, u, b, t), "errcode {code}");
            assert!(!d.meaning.is_empty());
        }
        assert_eq!(decide(47003).invalid_key.as_deref(), Some("thing3"));
    }

    #[test]
    fn a_41029_after_a_minus_1_means_delivered() {
        let mut c = ctx(41029, CredentialKind::FormId);
        c.earlier_ambiguous = true;
        c.attempt = NonZeroU32::new(2).unwrap();
        let d = classify(&c).unwrap();
        assert_eq!((d.delivered, d.user, d.credential), (Some(true), U::Pushed, C::Dead));
    }

    #[test]
    fn ambiguous_non_form_ids_count_as_delivered() {
        for kind in [CredentialKind::PrepayId, CredentialKind::Grant, CredentialKind::LongTerm] {
            let d = classify(&ctx(-1, kind)).unwrap();
            assert_eq!(
                (d.delivered, d.user, d.credential, d.ambiguous),
                (None, U::Pushed, C::Consume, true),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn retries_back_off_with_a_cap_and_stop() {
        let mut c = ctx(-1, CredentialKind::FormId);
        c.random = 0.0;
        let delays: Vec<Option<i64>> = (1..=4)
            .map(|a| {
                c.attempt = NonZeroU32::new(a).unwrap();
                classify(&c).unwrap().retry_in_ms
            })
            .collect();
        assert_eq!(delays, [Some(250), Some(500), Some(1000), None]);
        c.attempt = NonZeroU32::new(30).unwrap();
        c.retry.max_attempts = NonZeroU32::new(100).unwrap();
        c.random = 0.999;
        assert!(classify(&c).unwrap().retry_in_ms.unwrap() < 30_000, "capped");
        c.random = 1.0;
        assert_eq!(classify(&c).unwrap_err().code(), "ERR_INVALID_ARGUMENT");
        let mut u = ctx(12345, CredentialKind::FormId);
        u.attempt = NonZeroU32::new(4).unwrap();
        assert_eq!(classify(&u).unwrap().user, U::Later, "unknown errcodes stop after maxAttempts");
    }

    #[test]
    fn no_answer_is_retried_past_max_attempts() {
        // Every errcode of the table, a few unknown ones, and the responses without one; with and
        // without the earlier flags: at the last attempt nothing says retry.
        let codes = [0, -1, 500, 10002, 40001, 40002, 40013, 40014, 42001, 40003, 40037, 40038, 41028, 41029, 41030];
        let codes = codes.iter().chain(&[43101, 43107, 43108, 45009, 45011]);
        let more = [45168, 47003, 48001, 12345, -2, i64::MAX];
        let responses = codes
            .chain(&more)
            .map(|&e| serde_json::json!({ "errcode": e }))
            .chain([serde_json::json!({ "networkError": "ECONNRESET" }), serde_json::json!({ "httpStatus": 502 })]);
        for resp in responses {
            for kind in CredentialKind::ALL {
                for flags in 0..4 {
                    let mut c: SendContext = serde_json::from_value(serde_json::json!({
                        "response": resp, "credentialKind": kind, "attempt": 4, "random": 0.5,
                        "earlierAmbiguous": flags & 1 != 0, "earlierTokenError": flags & 2 != 0,
                    }))
                    .unwrap();
                    assert_ne!(classify(&c).unwrap().user, U::Retry, "{resp} {kind:?} {flags}");
                    c.attempt = NonZeroU32::new(1881).unwrap();
                    assert_ne!(classify(&c).unwrap().user, U::Retry, "{resp} {kind:?} {flags}");
                }
            }
        }
        // A refused token still asks for a refresh when the user is given up.
        let mut c = ctx(40001, CredentialKind::FormId);
        c.attempt = NonZeroU32::new(4).unwrap();
        let d = classify(&c).unwrap();
        assert_eq!((d.user, d.token, d.retry_in_ms), (U::Later, TokenAction::Refresh, None));
    }

    fn answer(response: serde_json::Value) -> Result<Decision> {
        let c: SendContext = serde_json::from_value(
            serde_json::json!({ "response": response, "credentialKind": "grant", "attempt": 1, "random": 0.5 }),
        )
        .unwrap();
        classify(&c)
    }

    #[test]
    fn answers_are_read_liberally_and_msgid_kept_exact() {
        // subscribeMessage.send's success answer carries msgid, beyond 2^53.
        let raw = r#"{"errcode":0,"errmsg":"ok","msgid":3121587219413188609,"rid":"5f0e"}"#;
        let d = answer(serde_json::json!({ "body": raw, "httpStatus": 200 })).unwrap();
        assert_eq!((d.user, d.msgid.as_deref()), (U::Pushed, Some("3121587219413188609")));
        // Parsed by the caller: a string keeps its digits, a number is exact only up to 2^53.
        let d = answer(serde_json::json!({ "errcode": 0, "msgid": "3121587219413188609", "extra": [1] })).unwrap();
        assert_eq!(d.msgid.as_deref(), Some("3121587219413188609"));
        let d = answer(serde_json::json!({ "errcode": 0, "msgid": 3121587219413188600u64 })).unwrap();
        assert_eq!((d.user, d.msgid), (U::Pushed, None), "a rounded number is no msgid");
        let d = answer(serde_json::json!({ "errcode": 0, "msgid": 12345 })).unwrap();
        assert_eq!(d.msgid.as_deref(), Some("12345"));
        for odd in
            [serde_json::json!({ "a": 1 }), serde_json::json!(-5), serde_json::json!("12a"), serde_json::json!(1.5)]
        {
            assert_eq!(answer(serde_json::json!({ "errcode": 0, "msgid": odd })).unwrap().msgid, None);
        }
        // A body that is not WeChat's JSON is an HTTP reply without an answer: ambiguous.
        let d = answer(serde_json::json!({ "body": "<html>502</html>", "httpStatus": 502 })).unwrap();
        assert_eq!((d.ambiguous, d.errcode), (true, None));
        let d = answer(serde_json::json!({ "body": r#"{"errcode":"0"}"#, "httpStatus": 200 })).unwrap();
        assert_eq!((d.ambiguous, d.errcode), (true, None), "a string errcode is no WeChat answer");
        let both = answer(serde_json::json!({ "body": raw, "errcode": 0 })).unwrap_err();
        assert_eq!(both.to_string(), "response.body: give the raw body or its parsed fields (errcode...), not both");
    }

    #[test]
    fn a_token_refused_twice_is_configuration() {
        let mut c = ctx(40001, CredentialKind::FormId);
        c.earlier_token_error = true;
        assert_eq!(classify(&c).unwrap().batch, B::StopConfigError);
    }

    #[test]
    fn per_minute_quota_waits_for_the_minute() {
        let mut c = ctx(45011, CredentialKind::FormId);
        c.now = Some(Millis(1_700_000_015_000));
        c.random = 0.0;
        assert_eq!(classify(&c).unwrap().retry_in_ms, Some(25_000), "35 s into the minute");
    }

    #[test]
    fn network_failures_and_bare_statuses_are_ambiguous() {
        for resp in [serde_json::json!({ "networkError": "ECONNRESET" }), serde_json::json!({ "httpStatus": 502 })] {
            let c: SendContext = serde_json::from_value(
                serde_json::json!({ "response": resp, "credentialKind": "formId", "attempt": 1, "random": 0.1 }),
            )
            .unwrap();
            let d = classify(&c).unwrap();
            assert_eq!((d.ambiguous, d.user, d.delivered), (true, U::Retry, None));
        }
    }

    #[test]
    fn token_policy() {
        let due =
            |now| token_refresh_due(&TokenAge { expires_at: Millis(7_200_000), now: Millis(now), ahead_ms: None });
        assert_eq!(due(6_899_999), RefreshDue { refresh: false, refresh_at: 6_900_000 });
        assert!(due(6_900_000).refresh);
        let f = |cached: Option<&str>| {
            refresh_after_failure(&TokenFailure { failed_token: "A".into(), cached_token: cached.map(Into::into) })
        };
        assert!(f(Some("A")));
        assert!(!f(Some("B")), "another sender refreshed already");
        assert!(f(None));
    }
}
