//! The daily push, one page of users at a time: for each user, send with which credential or skip
//! and why, plus the credentials found dead. The columnar form is the engine; the object form is
//! converted into it, so both decide by the same code.
//! Owns the plan's engine (`Columns`, `PlanOptions`, `PlanOut`) and the object form; it may not
//! know of the bindings' shapes (`columns`) or of JSON ops (`api`).

use std::collections::HashMap;
use std::hint::select_unpredictable;

use serde::{Deserialize, Serialize};

use crate::clock::{whole_upto, Millis};
use crate::credential::{
    intake_refuses, CredState, Credential, CredentialKind, DeadCredential, DeathReason, SendEffect, UserId,
};
use crate::error::{Error, Result};
use crate::policy::{Policy, SkipReason};
use crate::select::MessageKind;

/// `reason` codes of a columnar plan: 0 is "send", the rest index `SKIP_REASONS` from 1.
pub const SEND: u8 = 0;
pub const SKIP_REASONS: [SkipReason; 5] = [
    SkipReason::NoCredential,
    SkipReason::AlreadyPushedToday,
    SkipReason::QuietHours,
    SkipReason::TooSoon,
    SkipReason::ExcludedByBusiness,
];
/// `credentials.template` value for "no template".
pub const NO_TEMPLATE: u32 = u32::MAX;
/// The most users one page plans (`users.count`, `users.length`): checked before anything is
/// allocated for them, so that no count reaches an allocation the process cannot survive.
pub const MAX_PAGE_USERS: usize = 1_000_000;
/// The most rows of one kind (credentials, pushes) one page plans.
pub const MAX_PAGE_ROWS: usize = 4_000_000;
/// The most UTF-16 units one text column of the columnar plan carries (`columns::Texts::text`).
pub const MAX_PAGE_TEXT: usize = 64 * MAX_PAGE_ROWS;
/// `dead_reason` codes of a columnar plan: the index here, which is the declaration order.
pub const DEATH_REASONS: [DeathReason; 3] = [DeathReason::Expired, DeathReason::Spent, DeathReason::Invalid];
const _: () = {
    let mut i = 0;
    while i < DEATH_REASONS.len() {
        assert!(DEATH_REASONS[i] as usize == i);
        i += 1;
    }
};

// Skip codes are the declaration order plus one, so a reason's code is arithmetic, not a search.
const _: () = {
    let mut i = 0;
    while i < SKIP_REASONS.len() {
        assert!(SKIP_REASONS[i] as usize == i);
        i += 1;
    }
};

#[inline(always)]
fn reason_code(r: SkipReason) -> u8 {
    r as u8 + 1
}

/// A page in columns. Users are indices `0..user_count`; every credential and push row names one.
pub struct Columns<'a> {
    pub user_count: usize,
    /// Per user, non-zero: excluded by the business (e.g. already checked in today). May be empty.
    pub excluded: &'a [u8],
    pub push_user: &'a [u32],
    pub push_at: &'a [f64],
    pub cred_user: &'a [u32],
    /// `CredentialKind::ALL` index.
    pub cred_kind: &'a [u8],
    /// NaN: unlimited (long-term).
    pub cred_uses: &'a [f64],
    /// NaN: never expires.
    pub cred_expire: &'a [f64],
    /// Index into `PlanOptions::templates`, `NO_TEMPLATE` for none. May be empty for template messages.
    pub cred_template: &'a [u32],
    /// Each row's credential id: a row whose id intake refuses is dead (`invalid`), and equal
    /// expiries go to the smallest id, so that the plan never depends on row order. `None`: ids
    /// were checked at intake, and ties go by row.
    pub ids: Option<&'a [&'a str]>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, expecting = "an object {message, now, policy?, templates?}")]
pub struct PlanOptions {
    pub message: MessageKind,
    pub now: Millis,
    #[serde(default)]
    pub policy: Policy,
    /// The template ids `credentials.template` indexes.
    #[serde(default)]
    pub templates: Vec<String>,
}

/// The plan's outputs, named once: `PlanOut` (where `plan_columns_into` writes), `ColumnPlan` (the
/// same, owned) and `ColumnPlan::out` are made from this list.
macro_rules! plan_outputs {
    ($($name:ident: $ty:ty),* $(,)?) => {
        /// A columnar plan: per user, `choice` (credential row, or -1), `reason` (0 send, else skip code),
        /// `not_before` (NaN unless the policy gave a time), `uses_after` (the chosen credential's usesLeft
        /// after delivery; NaN: unlimited or no choice). Dead credentials by row, with their reason code
        /// (0 expired, 1 spent).
        /// Where `plan_columns_into` writes: the per-user outputs are `user_count` long, the dead outputs
        /// at least as long as the credential columns (the first `dead` entries are the dead; the rest is
        /// the plan's scratch).
        pub struct PlanOut<'a> {
            $(pub $name: &'a mut [$ty],)*
        }

        /// A columnar plan's outputs in vectors of their own.
        #[derive(Debug, Default, PartialEq)]
        pub struct ColumnPlan {
            $(pub $name: Vec<$ty>,)*
        }

        impl ColumnPlan {
            /// The plan's own vectors as the place `plan_columns_into` writes to.
            pub fn out(&mut self) -> PlanOut<'_> {
                PlanOut { $($name: &mut self.$name,)* }
            }
        }
    };
}

plan_outputs! {
    choice: i32,
    reason: u8,
    not_before: f64,
    uses_after: f64,
    dead_rows: u32,
    dead_reason: u8,
}

/// A user's best row so far: its spend key (`CredState::spend_key`; `EMPTY` for none) and row.
#[derive(Clone, Copy)]
struct Best {
    key: u64,
    row: u32,
}

/// Whether row `r` goes before row `b` of equal spend key: by credential id when the caller gave
/// ids, else by row.
fn tie_first(ids: Option<&[&str]>, r: usize, b: usize) -> bool {
    match ids {
        None => r < b,
        Some(id) => id[r] < id[b],
    }
}

/// A column's length within its documented maximum.
pub fn within(field: &str, len: usize, max: usize) -> Result<()> {
    if len <= max {
        Ok(())
    } else {
        Err(Error::invalid(field, format!("has {len} entries, more than a page's {max}")))
    }
}

pub(crate) fn column_len(name: &str, got: usize, want: usize) -> Result<()> {
    if got == want {
        Ok(())
    } else {
        Err(Error::invalid(name, format!("has {got} entries, expected {want}")))
    }
}

fn user_index(field: &str, i: usize, u: u32, count: usize) -> Result<usize> {
    if (u as usize) < count {
        Ok(u as usize)
    } else {
        Err(Error::invalid(format!("{field}[{i}]"), format!("user {u} is not below users.count ({count})")))
    }
}

fn instant(field: &str, i: usize, v: f64) -> Result<i64> {
    Millis::from_f64(v).map(|m| m.0).map_err(|reason| Error::InvalidTime { field: format!("{field}[{i}]"), reason })
}

/// What is wrong with row `r`, if anything.
#[cold]
fn row_error(c: &Columns, r: usize, templates: usize) -> Option<Error> {
    let field = |name: &str| format!("credentials.{name}[{r}]");
    if c.cred_user[r] as usize >= c.user_count {
        return Some(Error::invalid(
            field("user"),
            format!("user {} is not below users.count ({})", c.cred_user[r], c.user_count),
        ));
    }
    let Some(&kind) = CredentialKind::ALL.get(c.cred_kind[r] as usize) else {
        return Some(Error::invalid(field("kind"), format!("{} is not a kind code (0-3)", c.cred_kind[r])));
    };
    let u = c.cred_uses[r];
    if !u.is_nan() && !whole_upto(u, u32::MAX as f64) {
        return Some(Error::invalid(field("usesLeft"), format!("{u} is not a use count")));
    }
    let e = c.cred_expire[r];
    if !e.is_nan() {
        if let Err(reason) = Millis::from_f64(e) {
            return Some(Error::InvalidTime { field: field("expireAt"), reason });
        }
    }
    let template = c.cred_template.get(r).copied().unwrap_or(NO_TEMPLATE);
    if template != NO_TEMPLATE && template as usize >= templates {
        return Some(Error::invalid(field("template"), format!("{template} is not an index into templates")));
    }
    let state = CredState { kind, uses_left: u, expire_at: e };
    state.check(template != NO_TEMPLATE).err().map(|e| Error::invalid(field("state"), e))
}

/// Plans one page in columns, allocating the outputs.
pub fn plan_columns(c: &Columns, o: &PlanOptions) -> Result<ColumnPlan> {
    let (n, rows) = (c.user_count, c.cred_user.len());
    let mut p = ColumnPlan {
        choice: vec![0; n],
        reason: vec![0; n],
        not_before: vec![0.0; n],
        uses_after: vec![0.0; n],
        dead_rows: vec![0; rows],
        dead_reason: vec![0; rows],
    };
    let dead = plan_columns_into(c, o, &mut p.out())?;
    p.dead_rows.truncate(dead);
    p.dead_reason.truncate(dead);
    Ok(p)
}

/// Plans one page in columns into `out`, and returns how many dead credentials it wrote.
/// Nothing in the decision depends on the order of the rows.
pub fn plan_columns_into(c: &Columns, o: &PlanOptions, out: &mut PlanOut) -> Result<usize> {
    let n = c.user_count;
    let rows = c.cred_user.len();
    within("users", n, MAX_PAGE_USERS)?;
    within("credentials", rows, MAX_PAGE_ROWS)?;
    within("pushes", c.push_user.len(), MAX_PAGE_ROWS)?;
    for (name, len) in [
        ("choice", out.choice.len()),
        ("reason", out.reason.len()),
        ("notBefore", out.not_before.len()),
        ("usesAfter", out.uses_after.len()),
    ] {
        column_len(&format!("output.{name}"), len, n)?;
    }
    if out.dead_rows.len() < rows || out.dead_reason.len() < rows {
        return Err(Error::invalid("output.deadRows", format!("must hold at least {rows} entries")));
    }
    if !c.excluded.is_empty() {
        column_len("users.excluded", c.excluded.len(), n)?;
    }
    column_len("pushes.at", c.push_at.len(), c.push_user.len())?;
    column_len("credentials.kind", c.cred_kind.len(), rows)?;
    column_len("credentials.usesLeft", c.cred_uses.len(), rows)?;
    column_len("credentials.expireAt", c.cred_expire.len(), rows)?;
    if !c.cred_template.is_empty() {
        column_len("credentials.template", c.cred_template.len(), rows)?;
    }
    if let Some(ids) = c.ids {
        column_len("credentials.ids", ids.len(), rows)?;
    }
    // A template nobody holds a grant for matches no row: NO_TEMPLATE is never a grant's.
    let target =
        o.message.template().map(|t| o.templates.iter().position(|x| x == t).map_or(NO_TEMPLATE, |i| i as u32));
    let BestRows { best, dead } = best_per_user(c, o, target, out)?;

    // Pushes grouped by user (a counting sort: no per-user allocation). Pushes that come grouped
    // already, in user order (as a caller builds them from rows), are only converted.
    let mut start = vec![0u32; n + 1];
    let mut grouped = true;
    let mut previous = 0;
    for (i, &u) in c.push_user.iter().enumerate() {
        start[user_index("pushes.user", i, u, n)? + 1] += 1;
        grouped &= u >= previous;
        previous = u;
    }
    for i in 0..n {
        start[i + 1] += start[i];
    }
    let mut bad_push = false;
    let mut instant_of = |at: f64| {
        bad_push |= !Millis::is_instant(at);
        at as i64
    };
    let pushes: Vec<i64> = if grouped {
        c.push_at.iter().map(|&at| instant_of(at)).collect()
    } else {
        let mut fill = start.clone();
        let mut pushes = vec![0i64; c.push_user.len()];
        for (&u, &at) in c.push_user.iter().zip(c.push_at) {
            pushes[fill[u as usize] as usize] = instant_of(at);
            fill[u as usize] += 1;
        }
        pushes
    };
    if bad_push {
        for (i, &at) in c.push_at.iter().enumerate() {
            instant("pushes.at", i, at)?;
        }
    }

    // One pass over the users, each output written once. Eligibility depends only on a user's
    // pushes and today, so the answer for a user never pushed is worked out once for the page.
    let today = o.policy.local_day(o.now.0);
    let never_pushed = o.policy.eligibility_on(&[], today);
    let (choice, reason, not_before, uses_after) =
        (&mut out.choice[..n], &mut out.reason[..n], &mut out.not_before[..n], &mut out.uses_after[..n]);
    let (start, best) = (&start[..=n], &best[..n]);
    for u in 0..n {
        let (first, last) = (start[u] as usize, start[u + 1] as usize);
        let excluded = c.excluded.get(u).is_some_and(|&x| x != 0);
        // An excluded user is skipped whatever their pushes say.
        let e =
            if first == last || excluded { never_pushed } else { o.policy.eligibility_on(&pushes[first..last], today) };
        let row = best[u].row;
        let code = if excluded {
            reason_code(SkipReason::ExcludedByBusiness)
        } else if let Some(r) = e.reason {
            reason_code(r)
        } else if row == u32::MAX {
            reason_code(SkipReason::NoCredential)
        } else {
            SEND
        };
        let send = code == SEND;
        // Read whatever the row, so that there is no branch: row 0 stands in when nothing is sent.
        let uses = c.cred_uses.get(if send { row as usize } else { 0 }).copied().unwrap_or(f64::NAN);
        choice[u] = if send { row as i32 } else { -1 };
        reason[u] = code;
        not_before[u] = if e.reason.is_some() && !excluded { e.not_before as f64 } else { f64::NAN };
        uses_after[u] = if send { CredState::uses_after(uses, SendEffect::Consume) } else { f64::NAN };
    }
    Ok(dead)
}

struct BestRows {
    /// Per user, and one more slot that bad rows write to and nobody reads.
    best: Vec<Best>,
    dead: usize,
}

/// One pass over the credentials: the best usable one per user, and the dead (written to `out`).
fn best_per_user(c: &Columns, o: &PlanOptions, target: Option<u32>, out: &mut PlanOut) -> Result<BestRows> {
    let rows = c.cred_user.len();
    let templates = o.templates.len();
    let (in_shape, any_template) = columns_in_shape(c, templates);
    let rules = RowRules::of(o, target);
    let refused = refused_rows(c, o);
    // Monomorphized per case, so that a page without templates (no column, or a column of
    // NO_TEMPLATE only, as template messages' pages are) reads no template column in the scan,
    // and one without ids or refused templates no refusal column.
    let t = c.cred_template;
    let scan = match (any_template, refused.as_deref()) {
        (true, Some(x)) => scan_rows(c, &rules, out, |r| t[r], |r| x[r]),
        (true, None) => scan_rows(c, &rules, out, |r| t[r], |_| false),
        (false, Some(x)) => scan_rows(c, &rules, out, |_| NO_TEMPLATE, |r| x[r]),
        (false, None) => scan_rows(c, &rules, out, |_| NO_TEMPLATE, |_| false),
    };
    if !(in_shape & scan.in_shape) {
        let first = (0..rows).find_map(|r| row_error(c, r, templates));
        return Err(first.unwrap_or_else(|| Error::invalid("credentials", "is out of shape")));
    }
    let mut best = scan.best;
    // The scan kept the first of rows with equal keys, and listed the others at the end of the
    // dead list's room: the smallest id among the rows that hold a user's final best key wins,
    // whatever their order.
    if c.ids.is_some() {
        for i in rows - scan.ties..rows {
            let r = out.dead_rows[i] as usize;
            let b = &mut best[c.cred_user[r] as usize];
            if row_key(c, &rules, r) == b.key && tie_first(c.ids, r, b.row as usize) {
                b.row = r as u32;
            }
        }
    }
    Ok(BestRows { best, dead: scan.dead })
}

/// Per row, whether intake would refuse its id or its template id: `None` when no row can be
/// (no ids given, and every template id is sound), so that the scan reads no such column.
fn refused_rows(c: &Columns, o: &PlanOptions) -> Option<Vec<bool>> {
    let template_refused: Vec<bool> = o.templates.iter().map(|t| intake_refuses(CredentialKind::LongTerm, t)).collect();
    let any_template_refused = template_refused.iter().any(|&x| x);
    if c.ids.is_none() && !any_template_refused {
        return None;
    }
    let by_template = |r: usize| {
        let t = c.cred_template.get(r).copied().unwrap_or(NO_TEMPLATE);
        template_refused.get(t as usize).copied().unwrap_or(false)
    };
    Some(
        (0..c.cred_user.len())
            .map(|r| {
                // A kind code out of range is refused by the column checks; read as a formId here.
                let kind = CredentialKind::ALL.get(c.cred_kind[r] as usize).copied().unwrap_or(CredentialKind::FormId);
                c.ids.is_some_and(|ids| intake_refuses(kind, ids[r])) || (any_template_refused && by_template(r))
            })
            .collect(),
    )
}

/// Whether every number in the columns is of its field's form (user below the count, kind code,
/// whole counts and instants, template index): column by column, so each loop is a plain fold
/// the compiler vectorizes. Also whether any row names a template.
fn columns_in_shape(c: &Columns, templates: usize) -> (bool, bool) {
    let users = c.cred_user.iter().fold(0, |m, &u| m.max(u)) < c.user_count as u32 || c.cred_user.is_empty();
    let kinds = c.cred_kind.iter().fold(0, |m, &k| m.max(k)) < CredentialKind::ALL.len() as u8;
    let uses = c.cred_uses.iter().fold(true, |ok, &x| ok & (whole_upto(x, u32::MAX as f64) | x.is_nan()));
    let expires = c.cred_expire.iter().fold(true, |ok, &x| ok & (Millis::is_instant(x) | x.is_nan()));
    // NO_TEMPLATE is u32::MAX, so `t + 1` (wrapping) is 0 for none and the index plus one
    // otherwise: one fold tells whether every index is in range and whether any row has one.
    let top = c.cred_template.iter().fold(0, |m, &t| m.max(t.wrapping_add(1)));
    (users & kinds & uses & expires & (top as usize <= templates), top > 0)
}

struct Scan {
    best: Vec<Best>,
    dead: usize,
    /// Every row kept its kind's invariants (`CredState::is_valid`).
    in_shape: bool,
    /// How many rows tied with their user's best so far: listed at the end of `dead_rows`.
    ties: usize,
}

/// The key of a row that cannot be sent with: above every spend key.
const NONE: u64 = u64::MAX;
/// The key of a user's best before any usable row: below `NONE`, so that an unusable row is never
/// taken, and above every spend key, so that a usable one always is. No row's key equals it, so
/// a row ties with its user's best exactly when their keys are equal.
const EMPTY: u64 = NONE - 1;

/// What a row is judged by on this page, worked out once: which kinds and template the message
/// takes, now, and the safety margin.
struct RowRules {
    fits_kind: [bool; 4],
    target: Option<u32>,
    now: f64,
    margin: f64,
}

impl RowRules {
    fn of(o: &PlanOptions, target: Option<u32>) -> RowRules {
        RowRules {
            fits_kind: CredentialKind::ALL.map(|k| o.message.fits_kind(k)),
            target,
            now: o.now.0 as f64,
            margin: o.policy.safety_margin_ms.0 as f64,
        }
    }

    /// A row as a credential state, with its fate at `now`: dead or not, and why it would be; its
    /// spend key if it is usable for this message, `NONE` otherwise. A row whose id intake refuses
    /// is dead for that reason first.
    #[inline(always)]
    fn fate(&self, s: CredState, template: u32, refused: bool) -> (bool, DeathReason, u64) {
        let (dead, death) = s.death_code(self.now);
        let is_dead = dead | refused;
        let usable = !is_dead
            & self.fits_kind[s.kind as usize]
            & self.target.is_none_or(|t| t == template)
            & s.usable(self.now, self.margin);
        let reason = select_unpredictable(refused, DeathReason::Invalid, death);
        (is_dead, reason, select_unpredictable(usable, s.spend_key(), NONE))
    }
}

#[inline(always)]
fn row_state(kind: u8, uses: f64, expire: f64) -> CredState {
    CredState { kind: CredentialKind::ALL[(kind & 3) as usize], uses_left: uses, expire_at: expire }
}

/// Row `r`'s spend key, as the scan computed it for a row it listed as a tie (so not refused).
fn row_key(c: &Columns, rules: &RowRules, r: usize) -> u64 {
    let template = c.cred_template.get(r).copied().unwrap_or(NO_TEMPLATE);
    rules.fate(row_state(c.cred_kind[r], c.cred_uses[r], c.cred_expire[r]), template, false).2
}

#[inline(always)]
fn scan_rows(
    c: &Columns,
    rules: &RowRules,
    out: &mut PlanOut,
    template_of: impl Fn(usize) -> u32,
    refused_of: impl Fn(usize) -> bool,
) -> Scan {
    let (n, rows) = (c.user_count, c.cred_user.len());
    // Each user's best is one 16-byte slot, so a row costs one random access; a row whose user
    // is out of range writes to the sink `best[n]`, which nobody reads. Columns are sliced to one
    // length first so the loop carries no bounds checks.
    let mut best_slots = vec![Best { key: EMPTY, row: u32::MAX }; n + 1];
    let best = &mut best_slots[..=n];
    let (users, kinds, uses, expires) =
        (&c.cred_user[..rows], &c.cred_kind[..rows], &c.cred_uses[..rows], &c.cred_expire[..rows]);
    let (dead_rows, dead_reason) = (&mut out.dead_rows[..rows], &mut out.dead_reason[..rows]);
    let (mut dead, mut ties, mut in_shape) = (0, 0, true);
    for r in 0..rows {
        let template = template_of(r);
        let s = row_state(kinds[r], uses[r], expires[r]);
        in_shape &= s.is_valid(template != NO_TEMPLATE);
        // A row's fate is random data: it is computed, not branched on (a mispredicted branch
        // costs more than the rest of the row). Every row is written to the dead list, and kept
        // there by moving `dead` on.
        let (is_dead, death, key) = rules.fate(s, template, refused_of(r));
        dead_rows[dead.min(rows - 1)] = r as u32;
        dead_reason[dead.min(rows - 1)] = death as u8;
        dead += is_dead as usize;
        let slot = &mut best[(users[r] as usize).min(n)];
        let b = *slot;
        // A tie is rare (one user's rows of equal expiry and kind), so it may branch; it is
        // listed from the end of the dead list's room (a tie is usable, never dead, so the two
        // lists never meet).
        if key == b.key {
            dead_rows[rows - 1 - ties] = r as u32;
            ties += 1;
        }
        let take = key < b.key;
        *slot = Best { key: select_unpredictable(take, key, b.key), row: select_unpredictable(take, r as u32, b.row) };
    }
    Scan { best: best_slots, dead, in_shape, ties }
}

// ---------------------------------------------------------------- the object form

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, expecting = "a user {userId, pushedAt?, excluded?}")]
pub struct PlanUser {
    pub user_id: UserId,
    #[serde(default)]
    pub pushed_at: Vec<Millis>,
    #[serde(default)]
    pub excluded: bool,
}

// One-word fields: their JSON names are their own.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an object {users, credentials, message, now, policy?}")]
pub struct PlanPage {
    pub users: Vec<PlanUser>,
    pub credentials: Vec<Credential>,
    pub message: MessageKind,
    pub now: Millis,
    #[serde(default)]
    pub policy: Policy,
}

#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", tag = "action")]
pub enum Decision {
    #[serde(rename_all = "camelCase")]
    Send { user_id: UserId, credential_index: usize, credential: Credential, after_delivery: Credential },
    #[serde(rename_all = "camelCase")]
    Skip { user_id: UserId, reason: SkipReason, not_before: Option<i64> },
}

#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PagePlan {
    /// One per user, in the order of `users`.
    pub decisions: Vec<Decision>,
    /// In the order of `credentials`.
    pub dead: Vec<DeadCredential>,
}

/// Plans a page given as objects, through `plan_columns`.
pub fn plan_page(p: PlanPage) -> Result<PagePlan> {
    within("users", p.users.len(), MAX_PAGE_USERS)?;
    within("credentials", p.credentials.len(), MAX_PAGE_ROWS)?;
    within("users[].pushedAt", p.users.iter().map(|u| u.pushed_at.len()).sum(), MAX_PAGE_ROWS)?;
    let mut index: HashMap<&UserId, u32> = HashMap::with_capacity(p.users.len());
    for (i, u) in p.users.iter().enumerate() {
        if index.insert(&u.user_id, i as u32).is_some() {
            return Err(Error::invalid(format!("users[{i}].userId"), "appears twice in the page"));
        }
    }
    let mut templates: Vec<String> = vec![];
    let mut template_index: HashMap<&str, u32> = HashMap::new();
    let (mut cred_user, mut cred_kind, mut cred_uses, mut cred_expire, mut cred_template) =
        (vec![], vec![], vec![], vec![], vec![]);
    for (i, c) in p.credentials.iter().enumerate() {
        let u = *index.get(&c.user_id).ok_or_else(|| {
            Error::invalid(
                format!("credentials[{i}].userId"),
                format!("{:?} (of credential {:?}) is not one of the page's users", c.user_id.0, c.id),
            )
        })?;
        cred_user.push(u);
        cred_kind.push(CredentialKind::ALL.iter().position(|&k| k == c.kind).unwrap_or(0) as u8);
        cred_uses.push(c.uses_left.map_or(f64::NAN, f64::from));
        cred_expire.push(c.expire_at.map_or(f64::NAN, |e| e.0 as f64));
        cred_template.push(match c.template_id.as_deref() {
            None => NO_TEMPLATE,
            Some(t) => *template_index.entry(t).or_insert_with(|| {
                templates.push(t.to_owned());
                templates.len() as u32 - 1
            }),
        });
    }
    let ids: Vec<&str> = p.credentials.iter().map(|c| c.id.as_str()).collect();
    let (push_user, push_at): (Vec<u32>, Vec<f64>) =
        p.users.iter().enumerate().flat_map(|(i, u)| u.pushed_at.iter().map(move |t| (i as u32, t.0 as f64))).unzip();
    let excluded: Vec<u8> = p.users.iter().map(|u| u.excluded as u8).collect();
    let cols = Columns {
        user_count: p.users.len(),
        excluded: &excluded,
        push_user: &push_user,
        push_at: &push_at,
        cred_user: &cred_user,
        cred_kind: &cred_kind,
        cred_uses: &cred_uses,
        cred_expire: &cred_expire,
        cred_template: &cred_template,
        ids: Some(&ids),
    };
    let opts = PlanOptions { message: p.message, now: p.now, policy: p.policy, templates };
    let plan = plan_columns(&cols, &opts)?;

    let decisions: Vec<Decision> = p
        .users
        .iter()
        .enumerate()
        .map(|(u, user)| match plan.reason[u] {
            SEND => {
                let i = plan.choice[u] as usize;
                let credential = p.credentials[i].clone();
                Decision::Send {
                    user_id: user.user_id.clone(),
                    credential_index: i,
                    after_delivery: credential.after(SendEffect::Consume),
                    credential,
                }
            }
            code => Decision::Skip {
                user_id: user.user_id.clone(),
                reason: SKIP_REASONS[code as usize - 1],
                not_before: (!plan.not_before[u].is_nan()).then_some(plan.not_before[u] as i64),
            },
        })
        .collect();
    let dead: Vec<DeadCredential> = plan
        .dead_rows
        .iter()
        .zip(&plan.dead_reason)
        .map(|(&r, &why)| {
            let c = &p.credentials[r as usize];
            DeadCredential {
                index: r as usize,
                id: c.id.clone(),
                user_id: c.user_id.clone(),
                reason: DEATH_REASONS[why as usize],
            }
        })
        .collect();
    Ok(PagePlan { decisions, dead })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_709_344_800_000; // 2024-03-02 10:00 in UTC+8
    const DAY: i64 = 86_400_000;

    fn page(users: serde_json::Value, creds: serde_json::Value, message: serde_json::Value) -> PlanPage {
        serde_json::from_value(
            serde_json::json!({ "users": users, "credentials": creds, "message": message, "now": NOW }),
        )
        .unwrap()
    }

    fn form(user: &str, id: &str, expire: i64) -> serde_json::Value {
        serde_json::json!({ "kind": "formId", "id": id, "userId": user, "usesLeft": 1, "expireAt": expire })
    }

    /// The decisions by user, sorted: what must not depend on the order of the input.
    fn summary(p: &PagePlan) -> Vec<String> {
        let mut s: Vec<String> = p
            .decisions
            .iter()
            .map(|d| match d {
                Decision::Send { user_id, credential, .. } => format!("{}:send:{}", user_id.0, credential.id),
                Decision::Skip { user_id, reason, .. } => format!("{}:{:?}", user_id.0, reason),
            })
            .collect();
        s.sort();
        s
    }

    #[test]
    fn every_skip_reason_and_a_send() {
        let users = serde_json::json!([
            { "userId": "a" },
            { "userId": "b", "pushedAt": [NOW - 3_600_000] },
            { "userId": "c", "excluded": true },
            { "userId": "d" },
        ]);
        let creds = serde_json::json!([
            form("a", "fa2", NOW + 2 * DAY),
            form("a", "fa1", NOW + DAY),
            form("b", "fb", NOW + DAY),
            form("c", "fc", NOW + DAY),
            form("d", "fd", NOW - 1)
        ]);
        let p = plan_page(page(users, creds, serde_json::json!({ "type": "template" }))).unwrap();
        assert_eq!(summary(&p), ["a:send:fa1", "b:AlreadyPushedToday", "c:ExcludedByBusiness", "d:NoCredential"]);
        assert_eq!(p.dead.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(), ["fd"]);
        match &p.decisions[0] {
            Decision::Send { after_delivery, .. } => assert_eq!(after_delivery.uses_left, Some(0)),
            d => panic!("{d:?}"),
        }
        match &p.decisions[1] {
            Decision::Skip { not_before, .. } => {
                assert_eq!(*not_before, Some(NOW + 14 * 3_600_000))
            }
            d => panic!("{d:?}"),
        }
    }

    #[test]
    fn quiet_hours_and_gap_skip_with_reasons() {
        let mut pg = page(
            serde_json::json!([{ "userId": "a" }, { "userId": "b", "pushedAt": [NOW - 20 * 3_600_000] }]),
            serde_json::json!([form("a", "f1", NOW + DAY), form("b", "f2", NOW + DAY)]),
            serde_json::json!({ "type": "template" }),
        );
        pg.policy = serde_json::from_str(r#"{"quietHours":{"from":"09:00","to":"11:00"}}"#).unwrap();
        assert_eq!(summary(&plan_page(pg).unwrap()), ["a:QuietHours", "b:QuietHours"]);
        let mut pg = page(
            serde_json::json!([{ "userId": "b", "pushedAt": [NOW - 20 * 3_600_000] }]),
            serde_json::json!([form("b", "f2", NOW + DAY)]),
            serde_json::json!({ "type": "template" }),
        );
        pg.policy = serde_json::from_str(r#"{"minGapMs":86400000}"#).unwrap();
        assert_eq!(summary(&plan_page(pg).unwrap()), ["b:TooSoon"]);
    }

    #[test]
    fn the_order_of_rows_never_changes_the_plan() {
        let users: Vec<serde_json::Value> = (0..30).map(|i| serde_json::json!({ "userId": format!("u{i}"), "pushedAt": if i % 4 == 0 { vec![NOW - 3_600_000] } else { vec![] } })).collect();
        // Equal expiries everywhere: only the id tie-break decides.
        let creds: Vec<serde_json::Value> =
            (0..90).map(|i| form(&format!("u{}", i % 30), &format!("f{:03}", (i * 37) % 90), NOW + DAY)).collect();
        let base =
            plan_page(page(users.clone().into(), creds.clone().into(), serde_json::json!({ "type": "template" })))
                .unwrap();
        let mut rng = 7u64;
        for _ in 0..20 {
            let (mut u, mut c) = (users.clone(), creds.clone());
            for v in [&mut u, &mut c] {
                for i in (1..v.len()).rev() {
                    rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    v.swap(i, (rng >> 33) as usize % (i + 1));
                }
            }
            let p = plan_page(page(u.into(), c.into(), serde_json::json!({ "type": "template" }))).unwrap();
            assert_eq!(summary(&p), summary(&base));
        }
    }

    #[test]
    fn subscribe_plans_use_grants_of_the_template() {
        let creds = serde_json::json!([
            { "kind": "grant", "id": "T1", "templateId": "T1", "userId": "a", "usesLeft": 2 },
            { "kind": "grant", "id": "T2", "templateId": "T2", "userId": "b", "usesLeft": 1 },
            form("b", "fb", NOW + DAY),
        ]);
        let p = plan_page(page(
            serde_json::json!([{ "userId": "a" }, { "userId": "b" }]),
            creds,
            serde_json::json!({ "type": "subscribe", "templateId": "T1" }),
        ))
        .unwrap();
        assert_eq!(summary(&p), ["a:send:T1", "b:NoCredential"]);
    }

    #[test]
    fn bad_pages_are_refused() {
        let dup = page(
            serde_json::json!([{ "userId": "a" }, { "userId": "a" }]),
            serde_json::json!([]),
            serde_json::json!({ "type": "template" }),
        );
        assert!(plan_page(dup).unwrap_err().to_string().starts_with("users[1].userId"));
        let stray = page(
            serde_json::json!([{ "userId": "a" }]),
            serde_json::json!([form("z", "f", NOW + DAY)]),
            serde_json::json!({ "type": "template" }),
        );
        assert!(plan_page(stray).unwrap_err().to_string().starts_with("credentials[0].userId"));
    }

    fn template_options() -> PlanOptions {
        PlanOptions { message: MessageKind::Template, now: Millis(NOW), policy: Policy::default(), templates: vec![] }
    }

    /// Plans one user's rows of (kind code, usesLeft, expireAt) for a template message.
    fn plan_one_user(rows: &[(u8, f64, f64)], ids: &[&str]) -> Result<ColumnPlan> {
        let user = vec![0; rows.len()];
        let kind: Vec<u8> = rows.iter().map(|r| r.0).collect();
        let uses: Vec<f64> = rows.iter().map(|r| r.1).collect();
        let expire: Vec<f64> = rows.iter().map(|r| r.2).collect();
        let cols = Columns {
            user_count: 1,
            excluded: &[],
            push_user: &[],
            push_at: &[],
            cred_user: &user,
            cred_kind: &kind,
            cred_uses: &uses,
            cred_expire: &expire,
            cred_template: &[],
            ids: Some(ids),
        };
        plan_columns(&cols, &template_options())
    }

    #[test]
    fn equal_keys_go_to_the_smallest_id_in_any_row_order() {
        let e = (NOW + DAY) as f64;
        // Rows 1, 2 and 4 tie on the best key; row 0 ties with row 3 on a worse one first.
        let base = [(1, 3.0, e + 1000.0), (0, 1.0, e), (0, 1.0, e), (1, 3.0, e + 1000.0), (0, 1.0, e)];
        let ids = ["a", "m", "c", "b", "k"];
        let mut order: Vec<usize> = (0..base.len()).collect();
        let mut rng = 11u64;
        for _ in 0..40 {
            for i in (1..order.len()).rev() {
                rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                order.swap(i, (rng >> 33) as usize % (i + 1));
            }
            let rows: Vec<_> = order.iter().map(|&i| base[i]).collect();
            let row_ids: Vec<&str> = order.iter().map(|&i| ids[i]).collect();
            let p = plan_one_user(&rows, &row_ids).unwrap();
            assert_eq!(ids[order[p.choice[0] as usize]], "c", "order {order:?}");
        }
    }

    #[test]
    fn rows_that_cannot_be_sent_never_tie() {
        // Equal, unusable rows (spent, expired, dying inside the margin): the user has no
        // credential, whatever their ids.
        let e = (NOW + DAY) as f64;
        let ids = ["a", "b", "c"];
        for row in [(0, 0.0, e), (0, 1.0, NOW as f64), (0, 1.0, (NOW + 60_000) as f64)] {
            assert_eq!(plan_one_user(&[row, row, row], &ids).unwrap().choice, vec![-1], "{row:?}");
        }
        // Behind a usable row, the unusable ones still do not tie with it, even with smaller ids.
        let p = plan_one_user(&[(0, 1.0, e), (0, 0.0, e), (0, 0.0, e)], &["z", "a", "b"]).unwrap();
        assert_eq!(p.choice, vec![0]);
    }

    #[test]
    fn a_bad_row_is_named_even_after_ties() {
        let e = (NOW + DAY) as f64;
        let rows = [(0, 1.0, e), (0, 1.0, e), (0, 1.5, e), (0, 1.0, e)];
        let err = plan_one_user(&rows, &["a", "b", "c", "d"]).unwrap_err().to_string();
        assert!(err.starts_with("credentials.usesLeft[2]"), "{err}");
    }

    #[test]
    fn pushes_in_any_order_group_alike() {
        let cols = |push_user: &'static [u32], push_at: &'static [f64]| Columns {
            user_count: 3,
            excluded: &[],
            push_user,
            push_at,
            cred_user: &[],
            cred_kind: &[],
            cred_uses: &[],
            cred_expire: &[],
            cred_template: &[],
            ids: None,
        };
        const TODAY: f64 = (NOW - 3_600_000) as f64;
        const YESTERDAY: f64 = (NOW - DAY) as f64;
        let grouped = plan_columns(&cols(&[0, 0, 2], &[YESTERDAY, TODAY, YESTERDAY]), &template_options()).unwrap();
        let shuffled = plan_columns(&cols(&[2, 0, 0], &[YESTERDAY, TODAY, YESTERDAY]), &template_options()).unwrap();
        assert_eq!(format!("{grouped:?}"), format!("{shuffled:?}"), "NaN is not equal to itself, its Debug text is");
        assert_eq!(grouped.reason, [reason_code(SkipReason::AlreadyPushedToday), 1, 1]);
        let err = plan_columns(&cols(&[2, 0], &[YESTERDAY, 0.5]), &template_options()).unwrap_err().to_string();
        assert!(err.starts_with("pushes.at[1]"), "{err}");
    }

    #[test]
    fn columns_are_checked() {
        let o = PlanOptions {
            message: MessageKind::Template,
            now: Millis(NOW),
            policy: Policy::default(),
            templates: vec![],
        };
        let cols = |kind: &'static [u8], uses: &'static [f64], expire: &'static [f64], user: &'static [u32]| Columns {
            user_count: 1,
            excluded: &[],
            push_user: &[],
            push_at: &[],
            cred_user: user,
            cred_kind: kind,
            cred_uses: uses,
            cred_expire: expire,
            cred_template: &[],
            ids: None,
        };
        let err = |c: Columns| plan_columns(&c, &o).unwrap_err().to_string();
        assert!(err(cols(&[9], &[1.0], &[1e12], &[0])).starts_with("credentials.kind[0]"));
        assert!(err(cols(&[0], &[1.5], &[1e12], &[0])).starts_with("credentials.usesLeft[0]"));
        assert!(err(cols(&[0], &[1.0], &[f64::INFINITY], &[0])).starts_with("credentials.expireAt[0]"));
        assert!(err(cols(&[0], &[1.0], &[1e12], &[1])).starts_with("credentials.user[0]"));
        assert!(err(cols(&[0], &[2.0], &[1e12], &[0])).starts_with("credentials.state[0]"));
        assert!(err(cols(&[0, 0], &[1.0], &[1e12], &[0])).starts_with("credentials.kind"));
        let ok = plan_columns(&cols(&[1], &[3.0], &[(NOW + DAY) as f64], &[0]), &o).unwrap();
        assert_eq!((ok.choice, ok.uses_after), (vec![0], vec![2.0]));
    }

    #[test]
    fn a_template_column_of_none_plans_as_no_column() {
        let o = PlanOptions {
            message: MessageKind::Subscribe { template_id: "T".into() },
            now: Millis(NOW),
            policy: Policy::default(),
            templates: vec!["T".into()],
        };
        let cols = |kind: &'static [u8], uses: &'static [f64], template: &'static [u32]| Columns {
            user_count: 2,
            excluded: &[],
            push_user: &[],
            push_at: &[],
            cred_user: &[0, 1],
            cred_kind: kind,
            cred_uses: uses,
            cred_expire: &[f64::NAN, f64::NAN],
            cred_template: template,
            ids: None,
        };
        // Grants need their template: a column of none refuses them as no column does.
        let err = |c: Columns| plan_columns(&c, &o).unwrap_err().to_string();
        assert!(err(cols(&[2, 2], &[1.0, 1.0], &[NO_TEMPLATE, NO_TEMPLATE])).starts_with("credentials.state[0]"));
        assert!(err(cols(&[2, 2], &[1.0, 1.0], &[])).starts_with("credentials.state[0]"));
        // Rows with their template are read as such, and fit the message.
        let mixed = plan_columns(&cols(&[3, 2], &[f64::NAN, 1.0], &[0, 0]), &o).unwrap();
        assert_eq!(mixed.choice, vec![0, 1]);
        // A column with any template is read row by row: a row without one is refused.
        let other = plan_columns(&cols(&[3, 3], &[f64::NAN, f64::NAN], &[0, NO_TEMPLATE]), &o);
        assert!(other.unwrap_err().to_string().starts_with("credentials.state[1]"));
    }

    #[test]
    fn a_legacy_page_sends_only_sound_credentials_and_lists_the_rest_invalid() {
        // Each user holds one refused id that expires first (so it would be chosen) and a sound one.
        let refused = crate::credential::tests::REFUSED_IDS;
        let users: Vec<serde_json::Value> =
            (0..refused.len()).map(|i| serde_json::json!({ "userId": format!("u{i}") })).collect();
        let mut creds = vec![];
        for (i, id) in refused.iter().enumerate() {
            creds.push(form(&format!("u{i}"), id, NOW + DAY));
            creds.push(form(&format!("u{i}"), &format!("good{i}"), NOW + 2 * DAY));
        }
        let p = plan_page(page(users.into(), creds.into(), serde_json::json!({ "type": "template" }))).unwrap();
        let sent: Vec<String> = summary(&p);
        let want: Vec<String> = {
            let mut w: Vec<String> = (0..refused.len()).map(|i| format!("u{i}:send:good{i}")).collect();
            w.sort();
            w
        };
        assert_eq!(sent, want);
        assert_eq!(p.dead.len(), refused.len());
        assert!(p.dead.iter().all(|d| d.reason == DeathReason::Invalid && d.index % 2 == 0));
    }

    #[test]
    fn the_object_path_holds_a_page_to_the_columns_maximums() {
        // The object path holds a page to the same maximums.
        let users: Vec<serde_json::Value> = (0..=MAX_PAGE_USERS).map(|i| serde_json::json!({ "userId": i })).collect();
        let big = page(users.into(), serde_json::json!([]), serde_json::json!({ "type": "template" }));
        assert!(plan_page(big).unwrap_err().to_string().starts_with("users: has 1000001 entries"));
    }
}
