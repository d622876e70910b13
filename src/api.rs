//! The JSON contract shared by every binding: `call(op, input JSON) -> output JSON`.
//! Each operation deserializes one serde input type, calls the core and serializes its answer, so
//! the napi and wasm bindings hold no rule of their own.
//! Owns the op table (`OPS`, the one list of op names), the ops' own input types, `constants` and
//! `classifyFields`' layout; it may not hold a rule (each op calls the module that owns it), and
//! nothing in the core depends on it but the bindings.

use std::num::NonZeroU32;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::clock::Millis;
use crate::credential::{self, Credential, CredentialKind, DeathReason, SendEffect};
use crate::error::{Error, Result, ALL_CODES};
use crate::message::{self, SubscribeMessage, TemplateMessage, SUBSCRIBE_SEND_PATH, TEMPLATE_SEND_PATH};
use crate::outcome::{self, SendContext, TokenAge, TokenFailure};
use crate::plan::{self, DEATH_REASONS, MAX_PAGE_ROWS, MAX_PAGE_TEXT, MAX_PAGE_USERS, NO_TEMPLATE, SKIP_REASONS};
use crate::policy::{Policy, SkipReason};
use crate::select::{self, MessageKind};
use crate::wire::parse;

fn run<I: DeserializeOwned, O: Serialize>(json: &str, f: impl FnOnce(I) -> Result<O>) -> Result<String> {
    let out = f(parse(json)?)?;
    serde_json::to_string(&out).map_err(|e| Error::invalid("output", e.to_string()))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, expecting = "an object {credentials, message, now, policy?}")]
struct SelectInput {
    credentials: Vec<Credential>,
    message: MessageKind,
    now: Millis,
    #[serde(default)]
    policy: Policy,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Selected {
    index: usize,
    credential: Credential,
    /// The credential's state once the send is delivered.
    after_delivery: Credential,
}

fn select_credential(i: SelectInput) -> Result<Option<Selected>> {
    if let Some(first) = i.credentials.first() {
        if let Some(pos) = i.credentials.iter().position(|c| c.user_id != first.user_id) {
            return Err(Error::invalid(
                format!("credentials[{pos}].userId"),
                "selection is per user: every credential must belong to the first one's user",
            ));
        }
    }
    Ok(select::select(&i.credentials, &i.message, i.now.0, i.policy.safety_margin_ms.0).map(|index| {
        let credential = i.credentials[index].clone();
        Selected { index, after_delivery: credential.after(SendEffect::Consume), credential }
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, expecting = "an object {pushedAt, now, policy?}")]
struct EligibilityInput {
    pushed_at: Vec<Millis>,
    now: Millis,
    #[serde(default)]
    policy: Policy,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, expecting = "an object {credential, effect}")]
struct EffectInput {
    credential: Credential,
    effect: SendEffect,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, expecting = "an object {credential, effect, now}")]
struct SettleInput {
    credential: Credential,
    effect: SendEffect,
    now: Millis,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, expecting = "an object {credentials, now}")]
struct CredentialsAt {
    credentials: Vec<Credential>,
    now: Millis,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Constants {
    /// `OPS`' names, in order.
    ops: Vec<&'static str>,
    error_codes: &'static [&'static str],
    /// Index = kind code of the columnar plan.
    credential_kinds: Vec<&'static str>,
    /// Index + 1 = skip code of the columnar plan (0 is "send").
    skip_reasons: [SkipReason; 5],
    /// Index = dead reason code of the columnar plan.
    death_reasons: [DeathReason; 3],
    /// `credentials.template` of the columnar plan for "no template".
    no_template: u32,
    /// The plan's documented maximums (`plan::MAX_PAGE_USERS`, ...).
    max_page_users: usize,
    max_page_rows: usize,
    max_page_text: usize,
    template_send_path: &'static str,
    subscribe_send_path: &'static str,
    /// `classifyFields`'s layout: its numbers in order, and its flag bits by name.
    classify_fields: [&'static str; 7],
    classify_flags: std::collections::BTreeMap<&'static str, u32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, expecting = "an object {at, policy?}")]
struct DayInput {
    at: Millis,
    #[serde(default)]
    policy: Policy,
}

/// The local day an instant falls in: its number (days since 1970-01-01 in the policy's offset)
/// and bounds. Stores key a user's daily push slot by this number.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Day {
    day: i64,
    start: i64,
    end: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, expecting = "an object {now, policy?}")]
struct HistoryInput {
    now: Millis,
    #[serde(default)]
    policy: Policy,
}

#[derive(Serialize)]
struct Refresh {
    refresh: bool,
}

/// The order of `classify_fields`'s numbers, and its flag bits: the one statement of the layout.
/// JS reads both from `constants` (and refuses to load if a name it writes is not here), and the
/// reader below finds each number's position by name at compile time.
pub const CLASSIFY_FIELDS: [&str; 7] = ["credentialKind", "attempt", "random", "now", "errcode", "httpStatus", "flags"];
pub const CLASSIFY_FLAGS: [(&str, u32); 4] =
    [("earlierAmbiguous", 1), ("earlierTokenError", 2), ("networkError", 4), ("body", 8)];

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// `name`'s position in `CLASSIFY_FIELDS`; used in consts, so a name not in it does not compile.
const fn slot(name: &str) -> usize {
    let mut i = 0;
    while i < CLASSIFY_FIELDS.len() {
        if same(CLASSIFY_FIELDS[i], name) {
            return i;
        }
        i += 1;
    }
    panic!("not a field of CLASSIFY_FIELDS")
}

/// `name`'s bit in `CLASSIFY_FLAGS`, likewise checked at compile time.
const fn bit(name: &str) -> u32 {
    let mut i = 0;
    while i < CLASSIFY_FLAGS.len() {
        if same(CLASSIFY_FLAGS[i].0, name) {
            return CLASSIFY_FLAGS[i].1;
        }
        i += 1;
    }
    panic!("not a flag of CLASSIFY_FLAGS")
}

/// `classifyOutcome` from the plain fields of its input, for the hot path (no JSON in), answering
/// JSON. `fields` holds the numbers `CLASSIFY_FIELDS` names (the kind as its position in
/// `CredentialKind::ALL`, NaN for an absent one), `text` the errmsg, or with the `body` flag the
/// raw body, and `msgid` a msgid given as text. The JS side sends only inputs whose types it has
/// checked to be what the JSON path reads, and the two paths decide alike (`__test__/api.test.js`).
/// A value the core refuses is an error here too, and the caller then asks the JSON path, whose
/// error names the field as the caller wrote it.
pub fn classify_fields(fields: &[f64], text: Option<String>, msgid: Option<String>) -> Result<String> {
    if fields.len() != CLASSIFY_FIELDS.len() {
        return Err(Error::invalid("fields", format!("needs {} numbers, got {}", CLASSIFY_FIELDS.len(), fields.len())));
    }
    const KIND: usize = slot("credentialKind");
    const ATTEMPT: usize = slot("attempt");
    const RANDOM: usize = slot("random");
    const NOW: usize = slot("now");
    const ERRCODE: usize = slot("errcode");
    const HTTP_STATUS: usize = slot("httpStatus");
    const FLAGS: usize = slot("flags");
    const BODY: u32 = bit("body");
    const NETWORK_ERROR: u32 = bit("networkError");
    const EARLIER_AMBIGUOUS: u32 = bit("earlierAmbiguous");
    const EARLIER_TOKEN_ERROR: u32 = bit("earlierTokenError");
    let flags = fields[FLAGS] as u32;
    let flag = |bit: u32| flags & bit != 0;
    let present = |v: f64| (!v.is_nan()).then_some(v);
    let (errmsg, body) = if flag(BODY) { (None, text) } else { (text, None) };
    let ctx = SendContext {
        response: outcome::Response {
            // Whole numbers in range, as checked on the JS side; the casts saturate, never panic.
            errcode: present(fields[ERRCODE]).map(|v| v as i64),
            errmsg,
            msgid: msgid.map(serde_json::Value::String),
            body,
            http_status: present(fields[HTTP_STATUS]).map(|v| v as u16),
            network_error: flag(NETWORK_ERROR).then(String::new),
        },
        credential_kind: *CredentialKind::ALL
            .get(fields[KIND] as usize)
            .ok_or_else(|| Error::invalid("credentialKind", "unknown kind"))?,
        attempt: NonZeroU32::new(fields[ATTEMPT] as u32)
            .ok_or_else(|| Error::invalid("attempt", "must be at least 1"))?,
        earlier_ambiguous: flag(EARLIER_AMBIGUOUS),
        earlier_token_error: flag(EARLIER_TOKEN_ERROR),
        random: fields[RANDOM],
        now: present(fields[NOW])
            .map(Millis::from_f64)
            .transpose()
            .map_err(|reason| Error::InvalidTime { field: "now".into(), reason })?,
        retry: outcome::RetryPolicy::default(),
    };
    serde_json::to_string(&outcome::classify(&ctx)?).map_err(|e| Error::invalid("output", e.to_string()))
}

/// An operation: its JSON input to its JSON output.
type Handler = fn(&str) -> Result<String>;

/// Every operation, by the name JS calls it, in the order lib/api.js exports them: the one list of
/// op names. lib/api.js makes its functions from it (`constants.ops`), index.mjs and wasm.mjs are
/// written from lib/api.js's exports (scripts/esm-exports.js), and `__test__/api.test.js` checks
/// index.d.ts against them.
pub const OPS: &[(&str, Handler)] = &[
    ("intakeFormId", |j| run(j, credential::intake_form_id)),
    ("intakePrepayId", |j| run(j, credential::intake_prepay_id)),
    ("intakeSubscribeResult", |j| run(j, credential::intake_subscribe_result)),
    ("intakeLongTermSubscription", |j| run(j, credential::intake_long_term)),
    ("selectCredential", |j| run(j, select_credential)),
    ("checkEligibility", |j| {
        run(j, |i: EligibilityInput| {
            let pushes: Vec<i64> = i.pushed_at.iter().map(|m| m.0).collect();
            Ok(i.policy.eligibility(&pushes, i.now.0))
        })
    }),
    ("applySendEffect", |j| run(j, |i: EffectInput| Ok(i.credential.after(i.effect)))),
    ("deadCredentials", |j| run(j, |i: CredentialsAt| Ok(credential::dead_credentials(&i.credentials, i.now.0)))),
    ("settleSend", |j| run(j, |i: SettleInput| Ok(credential::settle_send(&i.credential, i.effect, i.now.0)))),
    ("countSends", |j| run(j, |i: CredentialsAt| Ok(credential::count_sends(&i.credentials, i.now.0)))),
    ("resolvePolicy", |j| run(j, |p: Policy| Ok(p))),
    ("planPage", |j| run(j, plan::plan_page)),
    ("buildSubscribeMessage", |j| message::build_subscribe(&parse::<SubscribeMessage>(j)?)),
    ("buildTemplateMessage", |j| message::build_template(&parse::<TemplateMessage>(j)?)),
    ("classifyOutcome", |j| run(j, |c: SendContext| outcome::classify(&c))),
    ("tokenRefreshDue", |j| run(j, |t: TokenAge| Ok(outcome::token_refresh_due(&t)))),
    ("refreshAfterTokenError", |j| {
        run(j, |t: TokenFailure| Ok(Refresh { refresh: outcome::refresh_after_failure(&t) }))
    }),
    ("localDay", |j| run(j, local_day)),
    ("historyWindow", |j| run(j, |i: HistoryInput| Ok(i.policy.history_window(i.now.0)))),
    ("sendBudget", |j| run(j, |i: crate::quota::QuotaInput| Ok(crate::quota::send_budget(&i)))),
    ("verifyPush", |j| run(j, |r: crate::push::PushRequest| crate::push::verify(&r))),
    ("parsePush", |j| run(j, |body: String| crate::event::parse(&body))),
    ("parseTemplate", |j| run(j, crate::template::parse)),
];

fn local_day(i: DayInput) -> Result<Day> {
    let d = i.policy.local_day(i.at.0);
    Ok(Day {
        day: crate::clock::local_day(i.at.0, i.policy.utc_offset),
        start: d.start,
        end: d.start + crate::clock::DAY_MS,
    })
}

/// What JS reads once at load: the core's lists and limits, so that none is written twice.
fn constants() -> Constants {
    Constants {
        ops: OPS.iter().map(|&(name, _)| name).collect(),
        error_codes: ALL_CODES,
        credential_kinds: CredentialKind::ALL.iter().map(|k| k.name()).collect(),
        skip_reasons: SKIP_REASONS,
        death_reasons: DEATH_REASONS,
        no_template: NO_TEMPLATE,
        max_page_users: MAX_PAGE_USERS,
        max_page_rows: MAX_PAGE_ROWS,
        max_page_text: MAX_PAGE_TEXT,
        template_send_path: TEMPLATE_SEND_PATH,
        subscribe_send_path: SUBSCRIBE_SEND_PATH,
        classify_fields: CLASSIFY_FIELDS,
        classify_flags: CLASSIFY_FLAGS.into_iter().collect(),
    }
}

/// Runs operation `op` on its JSON input; `constants` is the bindings' own, not an export.
pub fn call(op: &str, json: &str) -> Result<String> {
    if op == "constants" {
        return run(json, |_: serde_json::Value| Ok(constants()));
    }
    match OPS.iter().find(|&&(name, _)| name == op) {
        Some((_, handler)) => handler(json),
        None => Err(Error::invalid("op", format!("unknown operation {:?}", op.chars().take(40).collect::<String>()))),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn classify_fields_decides_as_the_json_path_and_refuses_what_it_refuses() {
        use super::classify_fields as fields;
        const NAN: f64 = f64::NAN;
        let msg = "argument invalid! data.thing3.value invalid";
        let json = format!(
            r#"{{"response":{{"errcode":47003,"errmsg":"{msg}"}},"credentialKind":"formId","attempt":1,"random":0.5,"now":0}}"#
        );
        let fast = fields(&[0.0, 1.0, 0.5, 0.0, 47003.0, NAN, 0.0], Some(msg.into()), None);
        assert_eq!(fast.unwrap(), super::call("classifyOutcome", &json).unwrap());
        let code = |r: crate::error::Result<String>| r.unwrap_err().code();
        assert_eq!(code(fields(&[9.0, 1.0, 0.5, NAN, 0.0, NAN, 0.0], None, None)), "ERR_INVALID_ARGUMENT");
        assert_eq!(code(fields(&[0.0, 0.0, 0.5, NAN, 0.0, NAN, 0.0], None, None)), "ERR_INVALID_ARGUMENT");
        assert_eq!(code(fields(&[0.0, 1.0, 1.0, NAN, 0.0, NAN, 0.0], None, None)), "ERR_INVALID_ARGUMENT");
        assert_eq!(code(fields(&[0.0, 1.0, 0.5, 1.5, 0.0, NAN, 0.0], None, None)), "ERR_INVALID_TIME");
        assert_eq!(code(fields(&[0.0, 1.0, 0.5], None, None)), "ERR_INVALID_ARGUMENT");
        let nothing = fields(&[0.0, 1.0, 0.5, NAN, NAN, NAN, 0.0], None, None);
        assert_eq!(code(nothing), "ERR_INVALID_ARGUMENT", "a response needs errcode, httpStatus or networkError");
        // Out-of-range numbers the JS side never sends still end in an answer or an error, not a panic.
        assert!(fields(&[0.0, 1e300, 0.5, NAN, 1e300, 1e9, 1e300], None, None).is_ok());
        assert_eq!(code(fields(&[1e300, NAN, NAN, NAN, NAN, NAN, NAN], None, None)), "ERR_INVALID_ARGUMENT");
    }

    #[test]
    fn every_op_is_named_once_and_constants_lists_them() {
        let names: Vec<&str> = super::OPS.iter().map(|&(name, _)| name).collect();
        let mut unique = names.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!((unique.len(), names.contains(&"constants")), (names.len(), false));
        let constants: serde_json::Value = serde_json::from_str(&super::call("constants", "null").unwrap()).unwrap();
        assert_eq!(constants["ops"], serde_json::json!(names));
    }

    #[test]
    fn unknown_operations_are_named() {
        let e = super::call("sendEverything", "{}").unwrap_err();
        assert_eq!((e.code(), e.to_string().starts_with("op: ")), ("ERR_INVALID_ARGUMENT", true));
    }

    #[test]
    fn malformed_json_and_deep_nesting_are_errors() {
        assert!(super::call("resolvePolicy", "{").is_err());
        let deep = "[".repeat(100_000);
        assert_eq!(super::call("countSends", &deep).unwrap_err().code(), "ERR_INVALID_ARGUMENT");
    }

    #[test]
    fn errors_name_the_field_a_type_found_wrong_and_say_lone_surrogate() {
        let four = r#"{"credentials":[{"kind":"prepayId","id":"p","userId":"u","usesLeft":4,"expireAt":5}],"now":1}"#;
        let e = super::call("countSends", four).unwrap_err().to_string();
        assert!(e.starts_with("credentials[0].usesLeft: 4 is more than"), "{e}");
        // JSON.stringify('a\ud800b') and ('\udc00'): lone halves of a pair.
        for text in [r#""a\ud800b""#, r#""\udc00""#, r#""\ud800""#] {
            let json = format!(r#"{{"userId":"u","formId":{text},"collectedAt":1}}"#);
            let e = super::call("intakeFormId", &json).unwrap_err().to_string();
            assert!(e.starts_with("formId: contains a lone surrogate"), "{e}");
        }
        let e = super::call("intakeFormId", r#"{"formId":"f","collectedAt":1}"#).unwrap_err().to_string();
        assert_eq!(e, "userId: is missing");
        let e = super::call("countSends", r#"{"credentials":[{"kind":"formId","userId":"u"}],"now":1}"#).unwrap_err();
        assert_eq!(e.to_string(), "credentials[0].id: is missing");
    }

    #[test]
    fn tagged_js_values_are_refused_at_their_field_as_what_they_are() {
        let intake = |form: &str, at: &str| {
            let json = format!(r#"{{"userId":"u","formId":{form},"collectedAt":{at}}}"#);
            let e = super::call("intakeFormId", &json).unwrap_err();
            (e.code(), e.to_string())
        };
        let nan = r#"{"$js":"NaN"}"#;
        assert_eq!(intake(nan, "1"), ("ERR_INVALID_ARGUMENT", "formId: NaN is not a string".into()));
        let big = r#"{"$js":"10n"}"#;
        assert_eq!(intake(big, "1").1, "formId: the BigInt 10n is not a string");
        assert_eq!(intake(r#"{"$date":5}"#, "1").1, "formId: a Date is not a string");
        assert_eq!(
            intake(r#""f""#, nan),
            ("ERR_INVALID_TIME", "collectedAt: NaN is not a finite number of epoch milliseconds".into())
        );
        assert_eq!(intake(r#""f""#, big).0, "ERR_INVALID_TIME");
        let e = super::call("intakeFormId", r#"{"userId":{"$js":"Infinity"},"formId":"f","collectedAt":1}"#);
        assert_eq!(
            e.unwrap_err().to_string(),
            "userId: Infinity is not a user id (a non-empty string or a safe integer)"
        );
        let data = |v: &str| {
            let json = format!(r#"{{"touser":"o","templateId":"T","data":{{"thing1":{v}}}}}"#);
            super::call("buildSubscribeMessage", &json).unwrap_err().code()
        };
        assert_eq!(data(nan), "ERR_INVALID_VALUE");
        assert_eq!(data(big), "ERR_INVALID_ARGUMENT");
    }

    #[test]
    fn an_array_is_never_read_as_a_structs_fields_in_order() {
        let e = super::call("tokenRefreshDue", "[1709344800000, 1709344800000]").unwrap_err();
        assert_eq!(e.code(), "ERR_INVALID_ARGUMENT");
        assert!(e.to_string().starts_with("input: invalid type: sequence"), "{e}");
        let e = super::call("localDay", r#"{"at":1,"policy":[]}"#).unwrap_err().to_string();
        assert!(e.starts_with("policy: invalid type: sequence"), "{e}");
        let cred = r#"["formId","f","u",null,1,1800000000000]"#;
        let e = super::call("countSends", &format!(r#"{{"credentials":[{cred}],"now":1}}"#)).unwrap_err().to_string();
        assert!(e.starts_with("credentials[0]: invalid type: sequence"), "{e}");
        let e = super::call("buildSubscribeMessage", r#"{"touser":1,"templateId":"T","data":{}}"#).unwrap_err();
        assert_eq!(e.to_string(), "touser: invalid type: integer `1`, expected a string");
        let e = super::call("intakeSubscribeResult", r#"{"userId":"u","result":{"$js":"NaN"}}"#).unwrap_err();
        assert_eq!(e.to_string(), "result: NaN is not a subscribe result object");
    }
}
