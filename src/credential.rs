//! Send credentials: what intake accepts, the invariants of a stored credential, its state after a
//! send, and what is dead or left, computed from the credentials themselves (no counter to drift).
//! Owns the credential kinds, intake and the id checks; it may not know of pages, plans or JSON ops.

use std::collections::BTreeMap;

use serde::{de, Deserialize, Deserializer, Serialize};

use crate::clock::{Millis, WEEK_MS};
use crate::error::{Error, Result};

pub const FORM_ID_USES: u32 = 1;
pub const PREPAY_ID_USES: u32 = 3;
/// formIds and prepay_ids live 7 days from collection (formId) or payment (prepay_id).
pub const CREDENTIAL_LIFETIME_MS: i64 = WEEK_MS;
/// Real formIds, prepay_ids, openids and template ids are 20-64 characters; anything past this is garbage.
pub const MAX_ID_CHARS: usize = 128;
/// `wx.requestSubscribeMessage` takes at most 5 template ids per call.
pub const MAX_TEMPLATES_PER_REQUEST: usize = 5;

const MOCK_FORM_ID: &str = "the formId is a mock one";
const DEV_TRIAL_FORM_ID: &str = "the formId is no longer available in develop or trial version of this mini program";
const FORM_ID_FAIL_PREFIX: &str = "requestFormId:fail";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CredentialKind {
    FormId,
    PrepayId,
    /// One-time subscription grants for one (user, template); `usesLeft` counts the accepts.
    Grant,
    /// A long-term subscription: unlimited sends while it stands.
    LongTerm,
}

/// Checks an identifier: present, not a stringified `undefined`/`null`, no control characters, sane length.
pub fn check_id(field: &str, value: Option<&str>) -> Result<String> {
    checked(field, value, id_error)
}

/// `value`, present and passing `error_of`, as an owned string.
fn checked(field: &str, value: Option<&str>, error_of: fn(&str, &str) -> Option<Error>) -> Result<String> {
    let s = value.ok_or_else(|| Error::EmptyValue { field: field.into(), got: "null or undefined".into() })?;
    error_of(field, s).map_or_else(|| Ok(s.to_owned()), Err)
}

/// What is wrong with an identifier, if anything (`check_id` without the copy).
fn id_error(field: &str, s: &str) -> Option<Error> {
    if s.trim().is_empty() || s == "undefined" || s == "null" {
        return Some(Error::EmptyValue { field: field.into(), got: format!("{s:?}") });
    }
    for (i, c) in s.chars().enumerate() {
        if i == MAX_ID_CHARS {
            return Some(Error::TooLong { field: field.into(), length: s.chars().count(), limit: MAX_ID_CHARS });
        }
        if c.is_control() {
            return Some(Error::ControlCharacter { field: field.into(), position: i });
        }
    }
    None
}

/// `check_id`, plus the placeholders WeChat hands out instead of a formId.
pub fn check_form_id(field: &str, value: Option<&str>) -> Result<String> {
    checked(field, value, form_id_error)
}

fn form_id_error(field: &str, s: &str) -> Option<Error> {
    match s {
        MOCK_FORM_ID => Some(Error::MockFormId { field: field.into() }),
        DEV_TRIAL_FORM_ID => Some(Error::DevTrialFormId { field: field.into() }),
        s if s.starts_with(FORM_ID_FAIL_PREFIX) => {
            Some(Error::FormIdRequestFailed { field: field.into(), value: s.chars().take(64).collect() })
        }
        _ => id_error(field, s),
    }
}

/// Whether intake would refuse `id` as a credential of this kind (a formId, a prepay_id, or the
/// template id a grant or long-term subscription is stored under). A stored credential with such
/// an id is never sent with: it is dead, for the reason `invalid`, whatever table it came from.
pub fn intake_refuses(kind: CredentialKind, id: &str) -> bool {
    if is_printable_ascii(id) {
        return intake_refuses_printable(kind, id);
    }
    match kind {
        CredentialKind::FormId => form_id_error("", id).is_some(),
        _ => id_error("", id).is_some(),
    }
}

/// Only printable ASCII, no space: every real id.
fn is_printable_ascii(text: &str) -> bool {
    text.bytes().fold(true, |ok, b| ok & (0x21..0x7f).contains(&b))
}

/// `intake_refuses` for an id known to be printable ASCII (so no control character and no blank,
/// one character per byte): of the formId placeholders only the failed-request prefix is free of
/// spaces.
#[inline]
fn intake_refuses_printable(kind: CredentialKind, id: &str) -> bool {
    id.is_empty()
        || id.len() > MAX_ID_CHARS
        || id == "undefined"
        || id == "null"
        || (kind == CredentialKind::FormId && id.starts_with(FORM_ID_FAIL_PREFIX))
}

/// A user key: a string, or an integer id as DB drivers return it (kept as its decimal string).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct UserId(pub String);

impl<'de> Deserialize<'de> for UserId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = UserId;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a user id (a non-empty string or a safe integer)")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> std::result::Result<UserId, E> {
                check_id("", Some(s)).map(UserId).map_err(|e| E::custom(e.to_string().trim_start_matches(": ")))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<UserId, E> {
                if v > (1u64 << 53) - 1 {
                    return Err(E::custom(format!("{v} is past 2^53 and cannot be an exact JS integer")));
                }
                Ok(UserId(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<UserId, E> {
                if v < 0 {
                    return Err(E::custom(format!("{v} is negative")));
                }
                self.visit_u64(v as u64)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<UserId, E> {
                Err(E::custom(format!("{v} is not an integer user id")))
            }
        }
        d.deserialize_any(V)
    }
}

/// A stored credential. `usesLeft: null` means unlimited (long-term); `expireAt: null` means never.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", try_from = "RawCredential")]
pub struct Credential {
    pub kind: CredentialKind,
    /// The formId or prepay_id itself; for grants and long-term subscriptions, the template id.
    pub id: String,
    pub user_id: UserId,
    pub template_id: Option<String>,
    pub uses_left: Option<u32>,
    pub expire_at: Option<Millis>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[serde(expecting = "a credential object {kind, id, userId, templateId?, usesLeft, expireAt}")]
struct RawCredential {
    kind: CredentialKind,
    id: String,
    user_id: UserId,
    #[serde(default)]
    template_id: Option<String>,
    uses_left: Option<u32>,
    #[serde(default)]
    expire_at: Option<Millis>,
}

impl TryFrom<RawCredential> for Credential {
    type Error = String;
    fn try_from(r: RawCredential) -> std::result::Result<Self, String> {
        // The ids are not checked here: a stored credential with an id intake refuses is still a
        // credential, reported dead (`invalid`) rather than refusing the whole input.
        let state = CredState::new(r.kind, r.uses_left, r.expire_at.map(|e| e.0));
        state.check(r.template_id.is_some())?;
        Ok(Credential {
            kind: r.kind,
            id: r.id,
            user_id: r.user_id,
            template_id: r.template_id,
            uses_left: r.uses_left,
            expire_at: r.expire_at,
        })
    }
}

/// The part of a credential the rules read: shared by the object and the columnar paths. The
/// numbers are f64, as the plan's columns carry them, with NaN for "none", so that a column row is
/// read without converting it; they are exact (uses below 2^32, instants below 2^48 ms).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CredState {
    pub kind: CredentialKind,
    /// NaN: unlimited (long-term).
    pub uses_left: f64,
    /// NaN: never expires.
    pub expire_at: f64,
}

/// What the rules need to know of a kind: its most uses, whether it expires, whether it belongs
/// to a template, and its place in the spend order (lower goes first).
#[derive(Clone, Copy)]
pub struct KindShape {
    pub max_uses: f64,
    pub expiring: bool,
    pub templated: bool,
    pub spend_rank: f64,
}

impl CredState {
    /// Per kind, in `CredentialKind::ALL` order: a table, so that the plan's per-row path does not
    /// branch on the kind. Spend order: a long-term subscription first (it costs nothing), then a
    /// formId before a prepay_id, one-time grants last.
    pub const SHAPES: [KindShape; 4] = [
        KindShape { max_uses: FORM_ID_USES as f64, expiring: true, templated: false, spend_rank: 1.0 },
        KindShape { max_uses: PREPAY_ID_USES as f64, expiring: true, templated: false, spend_rank: 2.0 },
        KindShape { max_uses: u32::MAX as f64, expiring: false, templated: true, spend_rank: 3.0 },
        KindShape { max_uses: 0.0, expiring: false, templated: true, spend_rank: 0.0 },
    ];

    pub fn new(kind: CredentialKind, uses_left: Option<u32>, expire_at: Option<i64>) -> CredState {
        CredState {
            kind,
            uses_left: uses_left.map_or(f64::NAN, f64::from),
            expire_at: expire_at.map_or(f64::NAN, |e| e as f64),
        }
    }

    pub fn uses(&self) -> Option<u32> {
        (!self.uses_left.is_nan()).then_some(self.uses_left as u32)
    }

    #[inline(always)]
    fn shape(&self) -> KindShape {
        Self::SHAPES[self.kind as usize]
    }

    /// Whether the state keeps the invariants every stored credential holds, whatever store or
    /// path it came from: the plan's per-row fast path (`&`, not `&&`, so that it compiles to
    /// arithmetic rather than jumps).
    #[inline(always)]
    pub fn is_valid(&self, has_template: bool) -> bool {
        let shape = self.shape();
        // NaN compares false: no count is valid only for a long-term subscription.
        let uses_ok =
            (self.uses_left <= shape.max_uses) | (self.uses_left.is_nan() & (self.kind == CredentialKind::LongTerm));
        uses_ok & (shape.expiring != self.expire_at.is_nan()) & (shape.templated == has_template)
    }

    /// `is_valid`, with the broken invariant named.
    pub fn check(&self, has_template: bool) -> std::result::Result<(), String> {
        if self.is_valid(has_template) {
            return Ok(());
        }
        let KindShape { max_uses, expiring, templated, .. } = self.shape();
        let name = self.kind.name();
        Err(match self.uses() {
            None if self.kind != CredentialKind::LongTerm => {
                format!("usesLeft: a {name} credential needs a usesLeft count")
            }
            Some(n) if n as f64 > max_uses => {
                format!("usesLeft: {n} is more than a {name} credential allows ({max_uses}; long-term ones take null)")
            }
            _ if expiring && self.expire_at.is_nan() => format!("expireAt: a {name} credential needs expireAt"),
            _ if !expiring && !self.expire_at.is_nan() => {
                format!("expireAt: a {name} does not expire, expireAt must be null")
            }
            _ if templated => format!("templateId: a {name} belongs to one template and needs its templateId"),
            _ => format!("templateId: a {name} is not tied to a template"),
        })
    }

    pub fn after(self, effect: SendEffect) -> CredState {
        CredState { uses_left: Self::uses_after(self.uses_left, effect), ..self }
    }

    /// `usesLeft` after a send with this effect: the only field a send changes.
    #[inline(always)]
    pub fn uses_after(uses_left: f64, effect: SendEffect) -> f64 {
        match effect {
            // NaN (unlimited) stays NaN, and a spent count stays 0.
            SendEffect::Consume if uses_left > 0.0 => uses_left - 1.0,
            SendEffect::Consume | SendEffect::Keep => uses_left,
            SendEffect::Dead => 0.0,
        }
    }

    /// Dead at `now`: expired (the instant `expireAt` is reached) or no uses left.
    #[inline(always)]
    pub fn death(&self, now: f64) -> Option<DeathReason> {
        let (dead, reason) = self.death_code(now);
        dead.then_some(reason)
    }

    /// `death` as flags the plan's per-row path can use without branching: whether it is dead,
    /// and the reason it would be (spent wins over expired).
    #[inline(always)]
    pub fn death_code(&self, now: f64) -> (bool, DeathReason) {
        let spent = self.spent();
        // NaN (never expires) compares false.
        let expired = now >= self.expire_at;
        (spent | expired, if spent { DeathReason::Spent } else { DeathReason::Expired })
    }

    /// Safe to send with at `now`: a use left and alive for longer than `margin_ms`, since a send
    /// takes time and a credential that dies in flight costs a 41028.
    #[inline(always)]
    pub fn usable(&self, now: f64, margin_ms: f64) -> bool {
        // NaN (never expires) compares false, so it passes.
        let dies_soon = self.expire_at <= now + margin_ms;
        !(self.spent() | dies_soon)
    }

    /// No use left. Counts are whole and not negative, so fewer than one is none; NaN (unlimited)
    /// compares false.
    #[inline(always)]
    fn spent(&self) -> bool {
        self.uses_left < 1.0
    }

    /// The spend order as one number, lower first: the earliest expiry, then the kind's rank; no
    /// expiry sorts after every instant. Worked out in f64, exactly (instants are below 2^48 ms, so
    /// the sum is below 2^51), and given as the f64's bits: positive floats order as their bits do.
    #[inline(always)]
    pub fn spend_key(&self) -> u64 {
        const NEVER: f64 = (1u64 << 48) as f64;
        let expire = if self.expire_at.is_nan() { NEVER } else { self.expire_at };
        (expire * 4.0 + self.shape().spend_rank).to_bits()
    }
}

// `kind as usize` indexes the per-kind tables and is the columnar kind code: ALL is in declaration order.
const _: () = {
    let mut i = 0;
    while i < CredentialKind::ALL.len() {
        assert!(CredentialKind::ALL[i] as usize == i);
        i += 1;
    }
};

impl CredentialKind {
    pub const ALL: [CredentialKind; 4] =
        [CredentialKind::FormId, CredentialKind::PrepayId, CredentialKind::Grant, CredentialKind::LongTerm];

    pub fn name(self) -> &'static str {
        match self {
            CredentialKind::FormId => "formId",
            CredentialKind::PrepayId => "prepayId",
            CredentialKind::Grant => "grant",
            CredentialKind::LongTerm => "longTerm",
        }
    }
}

/// What a send did to the credential it used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SendEffect {
    /// Delivered (or counted as delivered): one use spent.
    Consume,
    /// The credential is dead (41028, 41029, 43101): no use left at all.
    Dead,
    /// Nothing happened to it (retryable failures, configuration errors): unchanged.
    Keep,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum DeathReason {
    Expired,
    Spent,
    /// Its id (or template id) is one intake refuses: a placeholder, empty, garbage.
    Invalid,
}

impl Credential {
    pub fn state(&self) -> CredState {
        CredState::new(self.kind, self.uses_left, self.expire_at.map(|e| e.0))
    }

    /// The credential as it must be stored after a send with this effect.
    pub fn after(&self, effect: SendEffect) -> Credential {
        Credential { uses_left: self.state().after(effect).uses(), ..self.clone() }
    }

    /// Whether intake would refuse this credential's id or template id.
    pub fn refused_by_intake(&self) -> bool {
        intake_refuses(self.kind, &self.id)
            || self.template_id.as_deref().is_some_and(|t| intake_refuses(CredentialKind::LongTerm, t))
    }

    pub fn death(&self, now: i64) -> Option<DeathReason> {
        if self.refused_by_intake() {
            return Some(DeathReason::Invalid);
        }
        self.state().death(now as f64)
    }

    pub fn usable(&self, now: i64, margin_ms: i64) -> bool {
        !self.refused_by_intake() && self.state().usable(now as f64, margin_ms as f64)
    }
}

// ---------------------------------------------------------------- intake

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, expecting = "an object {userId, formId, collectedAt}")]
pub struct FormIdIntake {
    pub user_id: UserId,
    #[serde(default)]
    pub form_id: Option<String>,
    pub collected_at: Millis,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, expecting = "an object {userId, prepayId, paidAt}")]
pub struct PrepayIdIntake {
    pub user_id: UserId,
    #[serde(default)]
    pub prepay_id: Option<String>,
    /// When the order was paid: an unpaid order's prepay_id grants nothing, so this is required.
    pub paid_at: Millis,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, expecting = "an object {userId, result}")]
pub struct SubscribeIntake {
    pub user_id: UserId,
    /// The object `wx.requestSubscribeMessage` passed to `success`, as the client posted it.
    pub result: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, expecting = "an object {userId, templateId}")]
pub struct LongTermIntake {
    pub user_id: UserId,
    #[serde(default)]
    pub template_id: Option<String>,
}

#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Declined {
    pub template_id: String,
    pub status: String,
}

// One-word fields: their JSON names are their own.
#[derive(Debug, Serialize, PartialEq)]
pub struct SubscribeGrants {
    /// One grant (usesLeft 1) per template answered accept or an accept variant, sorted by template id.
    pub grants: Vec<Credential>,
    /// Templates answered reject, ban, filter or anything else that is no accept: they grant nothing.
    pub declined: Vec<Declined>,
}

pub fn intake_form_id(i: FormIdIntake) -> Result<Credential> {
    let id = check_form_id("formId", i.form_id.as_deref())?;
    expiring(CredentialKind::FormId, id, i.user_id, FORM_ID_USES, expiry_from(i.collected_at, "collectedAt")?)
}

pub fn intake_prepay_id(i: PrepayIdIntake) -> Result<Credential> {
    let id = check_id("prepayId", i.prepay_id.as_deref())?;
    expiring(CredentialKind::PrepayId, id, i.user_id, PREPAY_ID_USES, expiry_from(i.paid_at, "paidAt")?)
}

/// A credential of a fixed number of uses and a lifetime, for no template in particular.
fn expiring(kind: CredentialKind, id: String, user_id: UserId, uses: u32, expire_at: Millis) -> Result<Credential> {
    Ok(Credential { kind, id, user_id, template_id: None, uses_left: Some(uses), expire_at: Some(expire_at) })
}

fn expiry_from(start: Millis, field: &str) -> Result<Millis> {
    start.0.checked_add(CREDENTIAL_LIFETIME_MS).filter(|&e| e <= crate::clock::MAX_EPOCH_MS).map(Millis).ok_or_else(
        || Error::InvalidTime { field: field.into(), reason: format!("{} + 7 days is past 9999-12-31", start.0) },
    )
}

/// Whether a per-template answer of `wx.requestSubscribeMessage` grants a send. WeChat keeps adding
/// accept variants (`acceptWithAudio` since base library 2.18.0, `acceptWithAlert` for long-term
/// templates since 2.22.0, `acceptWithForcePush` confirmed by its staff in 2024), each an accept
/// with a way of alerting the user: every answer that begins with `accept` is one. Every other
/// answer (reject, ban, filter, and any WeChat adds) grants nothing, and is reported declined.
pub fn grants_a_send(status: &str) -> bool {
    status.starts_with("accept")
}

pub fn intake_subscribe_result(i: SubscribeIntake) -> Result<SubscribeGrants> {
    if let Some(msg) = i.result.get("errMsg") {
        if msg.as_str() != Some("requestSubscribeMessage:ok") {
            return Err(Error::SubscribeRequestFailed {
                field: "result.errMsg".into(),
                value: msg.to_string().chars().take(80).collect(),
            });
        }
    }
    let templates = i.result.iter().filter(|(k, _)| k.as_str() != "errMsg");
    let count = templates.clone().count();
    if count > MAX_TEMPLATES_PER_REQUEST {
        return Err(Error::TooManyTemplates { field: "result".into(), count, limit: MAX_TEMPLATES_PER_REQUEST });
    }
    let mut out = SubscribeGrants { grants: vec![], declined: vec![] };
    for (key, value) in templates {
        // The JS entry point's tag for a value JSON has no form for (NaN, a BigInt...): the result
        // itself was that value.
        if key == crate::clock::JS_TAG || key == crate::clock::DATE_TAG {
            let what = value.as_str().map_or("a Date".into(), crate::clock::js_value_name);
            return Err(Error::invalid("result", format!("{what} is not a subscribe result object")));
        }
        let field = format!("result[{:?}]", key.chars().take(64).collect::<String>());
        let template_id = check_id(&field, Some(key))?;
        let Some(status) = value.as_str() else {
            return Err(Error::UnknownSubscribeStatus { field, value: value.to_string().chars().take(80).collect() });
        };
        if grants_a_send(status) {
            out.grants.push(Credential {
                kind: CredentialKind::Grant,
                id: template_id.clone(),
                user_id: i.user_id.clone(),
                template_id: Some(template_id),
                uses_left: Some(1),
                expire_at: None,
            })
        } else {
            out.declined.push(Declined { template_id, status: status.chars().take(64).collect() })
        }
    }
    Ok(out)
}

pub fn intake_long_term(i: LongTermIntake) -> Result<Credential> {
    let template_id = check_id("templateId", i.template_id.as_deref())?;
    Ok(Credential {
        kind: CredentialKind::LongTerm,
        id: template_id.clone(),
        user_id: i.user_id,
        template_id: Some(template_id),
        uses_left: None,
        expire_at: None,
    })
}

// ---------------------------------------------------------------- dead and left

#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DeadCredential {
    /// Position in the input array.
    pub index: usize,
    pub id: String,
    pub user_id: UserId,
    pub reason: DeathReason,
}

pub fn dead_credentials(creds: &[Credential], now: i64) -> Vec<DeadCredential> {
    creds
        .iter()
        .enumerate()
        .filter_map(|(index, c)| {
            c.death(now).map(|reason| DeadCredential { index, id: c.id.clone(), user_id: c.user_id.clone(), reason })
        })
        .collect()
}

/// A send's end for the credential it used: its state once the effect is applied, and whether
/// that state is dead at `now` (why, if so). What a worker stores after each send, in one step.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SendSettled {
    pub credential: Credential,
    /// `None`: it stays usable.
    pub dead: Option<DeathReason>,
}

/// `Credential::after` and `death` together: the same answers as `applySendEffect` followed by
/// `deadCredentials` of its result.
pub fn settle_send(credential: &Credential, effect: SendEffect, now: i64) -> SendSettled {
    let after = credential.after(effect);
    let dead = after.death(now);
    SendSettled { credential: after, dead }
}

#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TemplateSends {
    pub template_id: String,
    /// `null`: unlimited (a long-term subscription stands).
    pub sends_left: Option<u64>,
}

#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UserSends {
    pub user_id: UserId,
    /// Template-message sends left: live formId and prepay_id uses.
    pub template_message: u64,
    /// Subscribe-message sends left per template, sorted by template id.
    pub subscribe: Vec<TemplateSends>,
}

/// Sends left per user and per user x template at `now`, from live credentials only. Sorted by user id.
pub fn count_sends(creds: &[Credential], now: i64) -> Vec<UserSends> {
    let mut users: BTreeMap<&UserId, (u64, BTreeMap<&str, Option<u64>>)> = BTreeMap::new();
    for c in creds.iter().filter(|c| c.death(now).is_none()) {
        let (template, subs) = users.entry(&c.user_id).or_default();
        match (c.kind, c.template_id.as_deref()) {
            (CredentialKind::FormId | CredentialKind::PrepayId, _) => *template += c.uses_left.unwrap_or(0) as u64,
            (CredentialKind::Grant | CredentialKind::LongTerm, Some(t)) => {
                let left = subs.entry(t).or_insert(Some(0));
                *left = match (*left, c.uses_left) {
                    (Some(a), Some(b)) => Some(a + b as u64),
                    _ => None,
                };
            }
            (_, None) => {}
        }
    }
    users
        .into_iter()
        .map(|(user_id, (template_message, subs))| UserSends {
            user_id: user_id.clone(),
            template_message,
            subscribe: subs
                .into_iter()
                .map(|(t, sends_left)| TemplateSends { template_id: t.into(), sends_left })
                .collect(),
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000_000;

    fn form(form_id: &str) -> Result<Credential> {
        intake_form_id(FormIdIntake {
            user_id: UserId("u1".into()),
            form_id: Some(form_id.into()),
            collected_at: Millis(T0),
        })
    }

    #[test]
    fn form_id_lives_exactly_seven_days() {
        let c = form("a1b2c3").unwrap();
        assert_eq!(c.expire_at, Some(Millis(T0 + 7 * 86_400_000)));
        assert_eq!(c.death(T0 + WEEK_MS - 1), None);
        assert_eq!(c.death(T0 + WEEK_MS), Some(DeathReason::Expired));
    }

    #[test]
    fn placeholders_and_garbage_are_rejected_by_code() {
        let code = |s: &str| form(s).unwrap_err().code();
        assert_eq!(code(MOCK_FORM_ID), "ERR_MOCK_FORM_ID");
        assert_eq!(code(DEV_TRIAL_FORM_ID), "ERR_DEV_TRIAL_FORM_ID");
        assert_eq!(code("requestFormId:fail deprecated"), "ERR_FORM_ID_REQUEST_FAILED");
        assert_eq!(code(""), "ERR_EMPTY_VALUE");
        assert_eq!(code("undefined"), "ERR_EMPTY_VALUE");
        assert_eq!(code("null"), "ERR_EMPTY_VALUE");
        assert_eq!(code("ab\u{0}c"), "ERR_CONTROL_CHARACTER");
        assert_eq!(code("ab\nc"), "ERR_CONTROL_CHARACTER");
        assert_eq!(code(&"x".repeat(129)), "ERR_TOO_LONG");
        assert!(form(&"x".repeat(128)).is_ok());
        let missing =
            intake_form_id(FormIdIntake { user_id: UserId("u".into()), form_id: None, collected_at: Millis(T0) });
        assert_eq!(missing.unwrap_err().code(), "ERR_EMPTY_VALUE");
        // An injection-looking id is just an id.
        assert_eq!(form("x'); DROP TABLE t; --").unwrap().id, "x'); DROP TABLE t; --");
    }

    #[test]
    fn prepay_id_counts_from_payment_and_serves_three() {
        let c = intake_prepay_id(PrepayIdIntake {
            user_id: UserId("u".into()),
            prepay_id: Some("wx201410272009395522657a690389285100".into()),
            paid_at: Millis(T0),
        })
        .unwrap();
        assert_eq!((c.uses_left, c.expire_at), (Some(3), Some(Millis(T0 + WEEK_MS))));
        let third = c.after(SendEffect::Consume).after(SendEffect::Consume);
        assert!(third.usable(T0, 0), "third use still available");
        let spent = third.after(SendEffect::Consume);
        assert_eq!(spent.uses_left, Some(0));
        assert!(!spent.usable(T0, 0), "no fourth use");
        assert_eq!(spent.death(T0), Some(DeathReason::Spent));
        assert_eq!(spent.after(SendEffect::Consume).uses_left, Some(0));
    }

    #[test]
    fn state_changes() {
        let c = form("f").unwrap();
        assert_eq!(c.after(SendEffect::Keep), c);
        assert_eq!(c.after(SendEffect::Dead).uses_left, Some(0));
        let lt =
            intake_long_term(LongTermIntake { user_id: UserId("u".into()), template_id: Some("T".into()) }).unwrap();
        assert_eq!(lt.after(SendEffect::Consume).uses_left, None, "long-term is unlimited");
        assert_eq!(lt.after(SendEffect::Dead).uses_left, Some(0), "43101 cancels it");
    }

    #[test]
    fn spend_keys_order_by_expiry_then_kind() {
        let key = |kind, uses, expire| CredState::new(kind, uses, expire).spend_key();
        let e = T0 + WEEK_MS;
        assert!(key(CredentialKind::FormId, Some(1), Some(e)) < key(CredentialKind::PrepayId, Some(3), Some(e)));
        assert!(key(CredentialKind::PrepayId, Some(3), Some(e)) < key(CredentialKind::FormId, Some(1), Some(e + 1)));
        assert!(key(CredentialKind::LongTerm, None, None) < key(CredentialKind::Grant, Some(1), None));
        assert!(
            key(CredentialKind::FormId, Some(1), Some(crate::clock::MAX_EPOCH_MS))
                < key(CredentialKind::LongTerm, None, None)
        );
        let s = CredState::new(CredentialKind::Grant, Some(u32::MAX), None);
        assert_eq!((s.uses(), s.after(SendEffect::Consume).uses()), (Some(u32::MAX), Some(u32::MAX - 1)));
    }

    #[test]
    fn margin_edge() {
        let c = form("f").unwrap();
        let e = T0 + WEEK_MS;
        assert!(c.usable(e - 60_001, 60_000));
        assert!(!c.usable(e - 60_000, 60_000), "expiring exactly at the margin is not safe");
    }

    #[test]
    fn subscribe_results() {
        let parse = |j: &str| {
            intake_subscribe_result(SubscribeIntake {
                user_id: UserId("u".into()),
                result: serde_json::from_str(j).unwrap(),
            })
        };
        let r = parse(r#"{"errMsg":"requestSubscribeMessage:ok","T1":"accept","T2":"reject","T3":"acceptWithAudio","T4":"ban","T5":"filter"}"#).unwrap();
        assert_eq!(r.grants.iter().map(|g| g.id.as_str()).collect::<Vec<_>>(), ["T1", "T3"]);
        assert!(r.grants.iter().all(|g| g.uses_left == Some(1) && g.expire_at.is_none()));
        assert_eq!(r.declined.len(), 3);
        let r = parse(r#"{"T1":"acceptWithAlert","T2":"acceptWithForcePush","T3":"maybe"}"#).unwrap();
        assert_eq!(r.grants.iter().map(|g| g.id.as_str()).collect::<Vec<_>>(), ["T1", "T2"]);
        assert_eq!(r.declined, [Declined { template_id: "T3".into(), status: "maybe".into() }]);
        assert_eq!(parse(r#"{"T1":1}"#).unwrap_err().code(), "ERR_UNKNOWN_SUBSCRIBE_STATUS");
        assert_eq!(
            parse(r#"{"errMsg":"requestSubscribeMessage:fail cancel"}"#).unwrap_err().code(),
            "ERR_SUBSCRIBE_REQUEST_FAILED"
        );
        assert_eq!(
            parse(r#"{"a":"accept","b":"accept","c":"accept","d":"accept","e":"accept","f":"accept"}"#)
                .unwrap_err()
                .code(),
            "ERR_TOO_MANY_TEMPLATES"
        );
        assert_eq!(parse(r#"{"":"accept"}"#).unwrap_err().code(), "ERR_EMPTY_VALUE");
    }

    #[test]
    fn stored_credentials_keep_their_invariants() {
        let bad = [
            r#"{"kind":"formId","id":"f","userId":"u","usesLeft":2,"expireAt":1}"#,
            r#"{"kind":"prepayId","id":"p","userId":"u","usesLeft":4,"expireAt":1}"#,
            r#"{"kind":"formId","id":"f","userId":"u","usesLeft":1}"#,
            r#"{"kind":"grant","id":"g","userId":"u","usesLeft":1}"#,
            r#"{"kind":"grant","id":"g","userId":"u","templateId":"T","usesLeft":1,"expireAt":5}"#,
            r#"{"kind":"longTerm","id":"g","userId":"u","templateId":"T","usesLeft":1}"#,
            r#"{"kind":"formId","id":null,"userId":"u","usesLeft":1,"expireAt":1}"#,
            r#"{"kind":"formId","userId":"u","usesLeft":1,"expireAt":1}"#,
            r#"{"kind":"formId","id":"f","userId":"u","usesLeft":-1,"expireAt":1}"#,
            r#"{"kind":"formId","id":"f","userId":"u","templateId":"T","usesLeft":1,"expireAt":1}"#,
        ];
        for j in bad {
            assert!(serde_json::from_str::<Credential>(j).is_err(), "{j}");
        }
        let ok: Credential =
            serde_json::from_str(r#"{"kind":"grant","id":"T","userId":42,"templateId":"T","usesLeft":7}"#).unwrap();
        assert_eq!(ok.user_id, UserId("42".into()));
    }

    /// Stored rows whose ids intake refuses, as legacy tables hold them.
    pub(crate) const REFUSED_IDS: [&str; 9] = [
        "",
        "   ",
        "undefined",
        "null",
        MOCK_FORM_ID,
        DEV_TRIAL_FORM_ID,
        "requestFormId:fail deprecated",
        "ab\u{7}c",
        "x\u{0}",
    ];

    #[test]
    fn stored_ids_intake_refuses_are_dead_as_invalid_never_chosen_never_counted() {
        let long = "x".repeat(MAX_ID_CHARS + 1);
        for id in REFUSED_IDS.iter().copied().chain([long.as_str()]) {
            let c = Credential { id: id.into(), ..form("good").unwrap() };
            assert!(form(id).is_err(), "intake refuses {id:?}");
            assert!(c.refused_by_intake(), "{id:?}");
            assert_eq!(c.death(T0), Some(DeathReason::Invalid), "{id:?}");
            assert!(!c.usable(T0, 0), "{id:?}");
            let pair = [c.clone(), form("good").unwrap()];
            assert_eq!(count_sends(&pair, T0)[0].template_message, 1, "{id:?}");
            assert_eq!(dead_credentials(&pair, T0)[0].reason, DeathReason::Invalid);
        }
        // The placeholders are formId rules: a prepay_id or a template id is only checked as an id.
        assert!(!intake_refuses(CredentialKind::PrepayId, "requestFormId:fail"));
        assert!(intake_refuses(CredentialKind::PrepayId, "null"));
        // A grant is refused for a bad template id, too.
        let grant: Credential =
            serde_json::from_str(r#"{"kind":"grant","id":"T","userId":"u","templateId":"undefined","usesLeft":1}"#)
                .unwrap();
        assert_eq!(grant.death(T0), Some(DeathReason::Invalid));
        // The fast ASCII test agrees with the full one on every short ASCII string it lets through.
        for id in ["a", "requestFormId:fai", "requestFormId:failX", "nul", "undefined1", "~!"] {
            for kind in CredentialKind::ALL {
                let full = match kind {
                    CredentialKind::FormId => form_id_error("", id).is_some(),
                    _ => id_error("", id).is_some(),
                };
                assert_eq!(intake_refuses(kind, id), full, "{kind:?} {id:?}");
            }
        }
    }

    #[test]
    fn counts_come_from_the_credentials() {
        let mut creds = vec![form("a").unwrap(), form("b").unwrap()];
        creds.push(creds[0].after(SendEffect::Consume)); // spent: not counted
        creds.push(Credential {
            uses_left: Some(2),
            ..intake_long_term(LongTermIntake { user_id: UserId("u1".into()), template_id: Some("T".into()) }).unwrap()
        });
        creds[3].kind = CredentialKind::Grant;
        creds.push(
            intake_long_term(LongTermIntake { user_id: UserId("u1".into()), template_id: Some("L".into()) }).unwrap(),
        );
        let counts = count_sends(&creds, T0);
        assert_eq!(counts.len(), 1);
        assert_eq!(counts[0].template_message, 2);
        assert_eq!(
            counts[0].subscribe,
            vec![
                TemplateSends { template_id: "L".into(), sends_left: None },
                TemplateSends { template_id: "T".into(), sends_left: Some(2) },
            ]
        );
        assert_eq!(count_sends(&creds, T0 + WEEK_MS)[0].template_message, 0);
        let dead = dead_credentials(&creds, T0 + WEEK_MS);
        assert_eq!(
            dead.iter().map(|d| (d.index, d.reason)).collect::<Vec<_>>(),
            [(0, DeathReason::Expired), (1, DeathReason::Expired), (2, DeathReason::Spent)]
        );
    }

    #[test]
    fn settle_send_answers_as_the_effect_then_dead_credentials_of_its_result() {
        let fresh = form("wx0123456789abcdef").unwrap();
        let mut one_left = fresh.clone();
        one_left.uses_left = Some(1);
        let mut placeholder = fresh.clone();
        placeholder.id = MOCK_FORM_ID.into();
        let long_term = Credential {
            kind: CredentialKind::LongTerm,
            id: "TPL".into(),
            user_id: UserId("u1".into()),
            template_id: Some("TPL".into()),
            uses_left: None,
            expire_at: None,
        };
        let expires = fresh.expire_at.unwrap().0;
        for c in [&fresh, &one_left, &placeholder, &long_term] {
            for effect in [SendEffect::Consume, SendEffect::Dead, SendEffect::Keep] {
                for now in [T0, expires - 1, expires] {
                    let after = c.after(effect);
                    let dead = dead_credentials(std::slice::from_ref(&after), now).pop().map(|d| d.reason);
                    assert_eq!(
                        settle_send(c, effect, now),
                        SendSettled { credential: after, dead },
                        "{c:?} {effect:?}"
                    );
                }
            }
        }
        assert_eq!(settle_send(&one_left, SendEffect::Consume, T0).dead, Some(DeathReason::Spent));
        assert_eq!(settle_send(&fresh, SendEffect::Keep, expires).dead, Some(DeathReason::Expired));
        assert_eq!(settle_send(&placeholder, SendEffect::Keep, T0).dead, Some(DeathReason::Invalid));
        assert_eq!(settle_send(&long_term, SendEffect::Consume, T0).dead, None);
    }
}
