//! The claim protocol as a model, checked exhaustively with stateright: two workers (lib/worker.js's
//! `createPush` runs), one or two users with a formId (1 use) and a prepay_id (3 uses) each, the
//! stores' claims, leases and takeovers (lib/stores/*.js), WeChat, crashes, stalls and a local
//! midnight. Each step is named after the store call (or the worker's step) it stands for; the
//! worker's decisions come from the core itself (`plan_page`, `classify`, `Credential::after`).
//! A test target of its own (harness = false): its main prints every check's states explored, so
//! that `cargo test` shows them.
//!
//! What the model abstracts (and why it stays sound for the invariants checked):
//! - Time: the clock has two or three instants around midnight; a lease is fresh or run out. A lease
//!   may run out at any moment unless renewed: when its holder is dead, done or has lost it, that is
//!   just time passing; while its holder is alive it takes a stall (SIGSTOP, GC, a slow store),
//!   which the `stalls` budget bounds. One timing assumption, `post deadline`: a live worker posts
//!   a send within the lease of the store call that last told it the claim was held (its started
//!   mark, its renewal or its takeover). No lease can fence WeChat; `no_post_deadline` drops the
//!   assumption and shows what it buys. Worker 1's clock may run ahead (`skew_ms`); with
//!   `clock_tolerance_ms` (lib/stores/stamp.js) a run more than that off is refused at its start,
//!   as the worker's first stamp() check refuses it (the skew is constant here, so the later checks,
//!   at each page and before each claim, find nothing new).
//! - Store calls are atomic where the store makes them so (one transaction, one script, one
//!   synchronous pass); where a store takes several calls, the model takes several steps (see
//!   `Flavor`). A call whose answer is lost is a crash right after it.
//! - One worker works its users one after another (the real one works `usersInFlight` at once):
//!   every invariant is per user, and users share nothing in the store but the lease index.
//! - runDailyPush's come-back (its recover() and plan again of the users it met held, after its
//!   pages) is a second run of the same worker: the `come_back` checks give worker 0 two runs.
//! - No saves (a grant's count growing), no halts (45009, stop()), no dead-credential removal
//!   (the stores never hold a spent credential here: a confirm removes it).

use std::num::NonZeroU32;
use std::time::Instant;

use stateright::{Checker, HasDiscoveries, Model, Property};
use weapp_notify::clock::{local_day, Millis, UtcOffset};
use weapp_notify::credential::{dead_credentials, Credential, CredentialKind, SendEffect, UserId};
use weapp_notify::outcome::{classify, Response, RetryPolicy, SendContext, UserAction};
use weapp_notify::plan::{plan_page, Decision, PlanPage, PlanUser};
use weapp_notify::policy::Policy;
use weapp_notify::select::MessageKind;

/// 2024-03-02 00:00 in UTC+8, the users' (China's) local midnight.
const MIDNIGHT: i64 = 1_709_308_800_000;
const MINUTE: i64 = 60_000;
const MAX_USERS: usize = 2;
const CREDS: usize = 2;
/// The credentials of each user, in the core's spend order (earliest expiry first).
const KIND: [CredentialKind; CREDS] = [CredentialKind::FormId, CredentialKind::PrepayId];
const USES: [u8; CREDS] = [1, 3];
const EXPIRY: [i64; CREDS] = [MIDNIGHT + 6 * 24 * 60 * MINUTE, MIDNIGHT + 7 * 24 * 60 * MINUTE];
const LEASES: usize = 4;
/// The names a Redis lease keeps for wnRetake: one per takeover since its user's claim was last
/// renamed (runs that each crash between wnTakeExpired and wnRetake), the current one first.
const NAMES: usize = 4;
/// Instants a worker's clock can read: (phase, worker) pairs.
const INSTANTS: usize = 6;
/// The round of a claim taken over: what its send concludes ends it (recoverClaim does not replan).
const RECOVERING: u8 = u8::MAX;
/// pushUser's rounds (claim, deliver, replan).
const ROUNDS: u8 = 6;

type Tok = u8;
const NO_TOKEN: Tok = 0;

/// Where the stores differ in how many calls a step takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flavor {
    /// MysqlStore (one READ COMMITTED transaction per call) and EmbeddedStore (one synchronous pass
    /// per call): every call is one atomic step. MySQL holds a claim in its day slot's row
    /// (wn_user_day: the token, the credential, the lease), the embedded store by its `claims`
    /// map; a takeover renames all of them in one transaction (pass).
    Sql,
    /// RedisStore on one Redis: a claim chunk with its leases is one script (wnLeaseClaimMany), a
    /// confirm or a release with forgetting its lease one more (wnConfirmUnleaseMany,
    /// wnReleaseUnlease). A claim is held in the user's hash (`claims`: day and credential fields);
    /// renew reads only the lease index. takeOverExpired takes two steps: wnTakeExpired renames
    /// the leases that ran out, then wnRetake renames each user's claim (and wnUnlease forgets a
    /// lease whose claim was settled meanwhile).
    Redis,
}

/// The protocol's configuration, and the breakages checked to be found.
#[derive(Clone, Debug)]
struct Protocol {
    name: &'static str,
    flavor: Flavor,
    users: usize,
    /// The credentials each user starts with (formId, prepay_id).
    holds: [[bool; CREDS]; MAX_USERS],
    /// Runs each worker starts (a rerun the same day is a second run).
    runs: [u8; 2],
    /// Faults the environment may inject, at most this many of each.
    crashes: u8,
    stalls: u8,
    ambiguous: u8,
    refused: u8,
    /// The core's retry.maxAttempts for one send.
    attempts: u32,
    /// How far worker 1's clock runs ahead of the store's and worker 0's.
    skew_ms: i64,
    /// The fix (lib/stores/stamp.js): a run whose clock is more than this far from the store's is
    /// refused (ERR_CLOCK_SKEW) before it claims anything. None: no check, as before issue 27.
    clock_tolerance_ms: Option<i64>,
    /// Broken on purpose: a send goes out without its started mark.
    skip_mark: bool,
    /// Broken on purpose: confirm writes whatever claim holds the slot and credential.
    no_token_check: bool,
    /// The post deadline dropped: a live worker may stall past its lease just before it posts.
    no_post_deadline: bool,
}

impl Protocol {
    fn new(name: &'static str, flavor: Flavor, users: usize) -> Protocol {
        Protocol {
            name,
            flavor,
            users,
            // A second user holds a prepay_id alone (its formIds spent or expired).
            holds: [[true, true], [false, true]],
            runs: [1, 1],
            crashes: 1,
            stalls: 1,
            ambiguous: 1,
            refused: 1,
            attempts: 2,
            skew_ms: 0,
            clock_tolerance_ms: None,
            skip_mark: false,
            no_token_check: false,
            no_post_deadline: false,
        }
    }

    /// The real instants the clock steps through: before and after midnight (and, with a skew,
    /// one where only the skewed worker has passed it), and how many there are.
    fn phases(&self) -> ([i64; 3], usize) {
        if self.skew_ms == 0 {
            ([MIDNIGHT - MINUTE, MIDNIGHT + MINUTE, 0], 2)
        } else {
            // Worker 1 (ahead) passes midnight at the second instant; the store and worker 0 at the third.
            ([MIDNIGHT - 6 * MINUTE, MIDNIGHT - self.skew_ms / 2, MIDNIGHT + MINUTE], 3)
        }
    }

    /// Whether worker `w`'s run is refused at its start: its clock is off the store's (worker 0's)
    /// by more than the tolerance, which the first stamp() of recover() finds.
    fn clock_refused(&self, w: usize) -> bool {
        w == 1 && self.clock_tolerance_ms.is_some_and(|t| self.skew_ms.abs() > t)
    }

    /// What worker `w`'s clock reads in `phase`, as an index into `instant_at`.
    fn instant(&self, phase: u8, w: usize) -> u8 {
        phase * 2 + w as u8
    }

    fn instant_at(&self, i: u8) -> i64 {
        self.phases().0[(i / 2) as usize] + if i % 2 == 1 { self.skew_ms } else { 0 }
    }

    /// The local day an instant falls in: 0 up to midnight, 1 after.
    fn day_of(&self, at: i64) -> u8 {
        (local_day(at, UtcOffset::CHINA) - local_day(MIDNIGHT - 1, UtcOffset::CHINA)) as u8
    }

    /// `dayNow()` of worker `w`: the day its claims are booked on.
    fn day_now(&self, s: &State, w: usize) -> u8 {
        self.day_of(self.instant_at(self.instant(s.phase, w)))
    }
}

// ---------------------------------------------------------------- state

/// A stored credential (wn_credential row, Redis `exp` field, embedded `creds` entry).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Row {
    present: bool,
    uses: u8,
    /// The claim holding it (claim_token, the `cred:` field of the user's Redis claims hash).
    claim: Tok,
}

/// A user's slot for one local day (wn_user_day, Redis `days` and the `day:` claim field).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
struct Slot {
    pushes: u8,
    claim: Tok,
}

/// A claim's lease and what it claims (wn_user_day's claim columns, Redis `{claims}:z`, its score
/// also the started mark, and `:info`, embedded `claims`). `names` are the tokens it has had (Redis
/// keeps them in the info for wnRetake).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
struct Lease {
    tok: Tok,
    names: [Tok; NAMES],
    user: u8,
    day: u8,
    cred: u8,
    uses: u8,
    started: bool,
    expired: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Store {
    creds: [[Row; CREDS]; MAX_USERS],
    slots: [[Slot; 2]; MAX_USERS],
    /// Push records (`at` of each confirmed push), counted per instant.
    pushes: [[u8; INSTANTS]; MAX_USERS],
    leases: [Lease; LEASES],
}

/// WeChat, and what the checks need to know that no store does.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct WeChat {
    /// Uses each credential really has left.
    left: [[u8; CREDS]; MAX_USERS],
    /// Messages delivered to each user on each local day (by the real clock).
    delivered: [[u8; 2]; MAX_USERS],
    /// A send arrived on a spent credential that was no probe of an earlier ambiguous send.
    overuse: bool,
    /// Uses the stores gave up by the unknown-fate rule (a prepay_id counted as delivered).
    conceded: [[u8; CREDS]; MAX_USERS],
}

/// A claim as the worker holds it (the object claimMany, claim and takeOverExpired return).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
struct ClaimRef {
    tok: Tok,
    user: u8,
    day: u8,
    cred: u8,
    uses: u8,
    started: bool,
    /// A renewal found it taken over (`claim.lost`).
    lost: bool,
}

/// What a user's work (pushUser, deliver, conclude, settle) or a recovered claim's does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Work {
    None,
    /// replan: store.credentials, then store.pushes, then planPage.
    Credentials {
        user: u8,
        round: u8,
        lost: u8,
    },
    Pushes {
        user: u8,
        round: u8,
        lost: u8,
    },
    Replan {
        user: u8,
        round: u8,
        lost: u8,
    },
    Claim {
        user: u8,
        cred: u8,
        uses: u8,
        round: u8,
        lost: u8,
    },
    /// deliver: markStarted if not yet, then post.
    Deliver {
        c: ClaimRef,
        attempt: u8,
        ambiguous: bool,
        round: u8,
        lost: u8,
    },
    /// settle: confirm the core's effect on the claimed state; `replan` after a dead credential.
    Confirm {
        c: ClaimRef,
        effect: Effect,
        pushed: bool,
        concede: bool,
        replan: bool,
        round: u8,
        lost: u8,
    },
    /// conclude with the fate unknown: renew with a lease of 0.
    HandOver {
        c: ClaimRef,
    },
    Release {
        c: ClaimRef,
    },
    /// recoverClaim: store.credentials before resolving a started claim.
    RecoverCredentials {
        c: ClaimRef,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Effect {
    /// The core's SendEffect (consume, dead, keep).
    Send(u8),
    /// The credential is gone: only the push is written (recoverClaim).
    Gone,
}

const SEND_EFFECTS: [SendEffect; 3] = [SendEffect::Consume, SendEffect::Dead, SendEffect::Keep];

fn effect(e: SendEffect) -> Effect {
    Effect::Send(SEND_EFFECTS.iter().position(|&x| x == e).unwrap_or(2) as u8)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Stage {
    Idle,
    /// recover(): takeOverExpired, (Redis) wnRetake each, renew those handed over again, resolve.
    TakeOver,
    Retake,
    HandOverAgain,
    Recover,
    PageUsers,
    Plan,
    ClaimMany,
    Users,
}

/// A claim taken over: (Redis) waiting for wnRetake, or for wnUnlease after a missed one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Taken {
    Retake(ClaimRef),
    Unlease(ClaimRef),
    Held(ClaimRef),
    Again(ClaimRef),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Worker {
    stage: Stage,
    /// Runs still to start: the first, a rerun, a restart after a crash.
    runs: u8,
    /// (user, day, credential) keys this run handed over with their fate unknown.
    handed: u8,
    taken: [Option<Taken>; LEASES],
    /// What the last read saw: credentials' uses left (None: absent) and push records.
    seen: [[Option<u8>; CREDS]; MAX_USERS],
    seen_pushes: [[u8; INSTANTS]; MAX_USERS],
    plan: [Option<(u8, u8)>; MAX_USERS],
    /// claimMany's answers, held until their user's turn (None: missed, or not planned).
    claimed: [Option<ClaimRef>; MAX_USERS],
    user: u8,
    work: Work,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct State {
    phase: u8,
    store: Store,
    wechat: WeChat,
    workers: [Worker; 2],
    crashes: u8,
    stalls: u8,
    ambiguous: u8,
    refused: u8,
}

// ---------------------------------------------------------------- actions

/// A worker's next step, named after the store call (or worker step) it stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Call {
    TakeOverExpired,
    /// Redis: wnRetake of one lease wnTakeExpired renamed.
    Retake,
    /// Redis: wnUnlease of a lease whose claim was settled meanwhile.
    Unlease,
    /// recover(): renew({ leaseMs: 0 }) of claims this run had handed over.
    HandOverAgain,
    Release,
    Credentials,
    Pushes,
    PageUsers,
    PlanPage,
    ClaimMany,
    Claim,
    /// renew({ started: true }) of a claim about to be sent.
    MarkStarted,
    Confirm,
    /// conclude: renew({ leaseMs: 0 }) of a send whose fate is unknown.
    HandOver,
}

/// What happens to a POST: the network, then WeChat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Net {
    /// WeChat answers (0, or 41029 for a spent credential).
    Answered,
    /// WeChat acts, its answer is lost (a reset, a timeout): ambiguous.
    AnswerLost,
    /// The request never reaches WeChat: ambiguous.
    NotArrived,
    /// WeChat refuses the message with a definite error (45168): nothing delivered.
    Refused,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    /// A run starts (runDailyPush, or a page job): recover() first.
    Start(usize),
    Call(usize, Call),
    /// transport.post of a send, classified by the core.
    Post(usize, Net),
    /// renewLeases: store.renew of every claim the worker holds.
    Renew(usize),
    Crash(usize),
    /// A lease runs out by the store's clock.
    LeaseExpiry(Tok),
    /// The clock passes the next instant (local midnight, for one worker or all).
    Midnight,
}

enum Next {
    Call(Call),
    Post,
}

// ---------------------------------------------------------------- the core, as the worker calls it

fn credential(user: usize, cred: usize, uses: u8) -> Credential {
    Credential {
        kind: KIND[cred],
        id: format!("{}{user}", ["formId", "prepayId"][cred]),
        user_id: UserId(format!("u{user}")),
        template_id: None,
        uses_left: Some(u32::from(uses)),
        expire_at: Some(Millis(EXPIRY[cred])),
    }
}

/// planPage: for each user of the page, the credential (and the uses left read) to send with.
fn plan(
    users: &[usize],
    seen: &[[Option<u8>; CREDS]; MAX_USERS],
    pushes: &[Vec<i64>],
    now: i64,
) -> Vec<Option<(u8, u8)>> {
    let mut credentials = vec![];
    let mut index = vec![];
    for &u in users {
        for (c, uses) in seen[u].iter().enumerate() {
            if let Some(uses) = *uses {
                credentials.push(credential(u, c, uses));
                index.push((c as u8, uses));
            }
        }
    }
    let page = PlanPage {
        users: users
            .iter()
            .map(|&u| PlanUser {
                user_id: UserId(format!("u{u}")),
                pushed_at: pushes[u].iter().map(|&t| Millis(t)).collect(),
                excluded: false,
            })
            .collect(),
        credentials,
        message: MessageKind::Template,
        now: Millis(now),
        policy: Policy::default(),
    };
    let planned = plan_page(page).expect("the core plans every page the model builds");
    planned
        .decisions
        .iter()
        .map(|d| match d {
            Decision::Send { credential_index, .. } => Some(index[*credential_index]),
            Decision::Skip { .. } => None,
        })
        .collect()
}

/// classifyOutcome for one send's answer.
fn classify_answer(
    kind: CredentialKind,
    response: Response,
    attempt: u8,
    ambiguous: bool,
    attempts: u32,
) -> weapp_notify::outcome::Decision {
    classify(&SendContext {
        response,
        credential_kind: kind,
        attempt: NonZeroU32::new(u32::from(attempt)).unwrap_or(NonZeroU32::MIN),
        earlier_ambiguous: ambiguous,
        earlier_token_error: false,
        random: 0.5,
        now: None,
        retry: RetryPolicy {
            max_attempts: NonZeroU32::new(attempts).unwrap_or(NonZeroU32::MIN),
            ..RetryPolicy::default()
        },
    })
    .expect("the core classifies every answer the model gives")
}

fn errcode(code: i64) -> Response {
    Response { errcode: Some(code), ..Response::default() }
}

fn network_error() -> Response {
    Response { network_error: Some("ECONNRESET".into()), ..Response::default() }
}

/// applySendEffect and deadCredentials: the uses left to store, and whether to remove it.
fn after_send(user: usize, cred: usize, uses: u8, effect: SendEffect, now: i64) -> (u8, bool) {
    let after = credential(user, cred, uses).after(effect);
    let remove = !dead_credentials(std::slice::from_ref(&after), now).is_empty();
    (after.uses_left.unwrap_or(0) as u8, remove)
}

// ---------------------------------------------------------------- tokens

/// Every token field of a state, in a fixed order.
fn each_token(s: &mut State, f: &mut impl FnMut(&mut Tok)) {
    for u in 0..MAX_USERS {
        s.store.slots[u].iter_mut().for_each(|slot| f(&mut slot.claim));
        s.store.creds[u].iter_mut().for_each(|row| f(&mut row.claim));
    }
    for l in s.store.leases.iter_mut() {
        f(&mut l.tok);
        l.names.iter_mut().for_each(&mut *f);
    }
    for w in s.workers.iter_mut() {
        for t in w.taken.iter_mut().flatten() {
            match t {
                Taken::Retake(c) | Taken::Unlease(c) | Taken::Held(c) | Taken::Again(c) => f(&mut c.tok),
            }
        }
        w.claimed.iter_mut().flatten().for_each(|c| f(&mut c.tok));
        if let Some(c) = work_claim_mut(&mut w.work) {
            f(&mut c.tok)
        }
    }
}

fn work_claim_mut(work: &mut Work) -> Option<&mut ClaimRef> {
    match work {
        Work::Deliver { c, .. }
        | Work::Confirm { c, .. }
        | Work::HandOver { c }
        | Work::Release { c }
        | Work::RecoverCredentials { c } => Some(c),
        _ => None,
    }
}

fn work_claim(work: &Work) -> Option<ClaimRef> {
    work_claim_mut(&mut work.clone()).copied()
}

/// Tokens renamed 1, 2, ... in order of appearance: states that differ only in token names are one.
fn canonical(mut s: State) -> State {
    let mut map = [NO_TOKEN; 256];
    let mut next: Tok = 0;
    each_token(&mut s, &mut |t| {
        if *t != NO_TOKEN {
            if map[*t as usize] == NO_TOKEN {
                next += 1;
                map[*t as usize] = next;
            }
            *t = map[*t as usize];
        }
    });
    s.store.leases.sort_by_key(|l| if l.tok == NO_TOKEN { Tok::MAX } else { l.tok });
    s
}

fn new_token(s: &mut State) -> Tok {
    let mut max = NO_TOKEN;
    each_token(s, &mut |t| max = max.max(*t));
    max + 1
}

fn handed_key(c: &ClaimRef) -> u8 {
    1 << (c.user * 4 + c.day * 2 + c.cred)
}

// ---------------------------------------------------------------- the stores

enum Confirmed {
    Ok,
    Lost,
    Conflict(u8),
}

/// What confirm writes (the outcome settle computed).
struct Outcome {
    uses: u8,
    remove: bool,
    pushed: bool,
    at: u8,
    concede: bool,
}

impl Protocol {
    fn lease_of(&self, s: &State, tok: Tok) -> Option<usize> {
        s.store.leases.iter().position(|l| l.tok == tok && tok != NO_TOKEN)
    }

    /// Whether confirm and release find the claim held: MySQL by its day slot's token, the
    /// embedded store by its claims map (the two agree: every call changes both at once); Redis by
    /// both fields of the user's claims hash (heldLua), which a takeover renames only in wnRetake.
    fn holds(&self, s: &State, c: &ClaimRef) -> bool {
        let (u, d, k) = (c.user as usize, c.day as usize, c.cred as usize);
        match self.flavor {
            Flavor::Sql => s.store.slots[u][d].claim == c.tok,
            Flavor::Redis => s.store.slots[u][d].claim == c.tok && s.store.creds[u][k].claim == c.tok,
        }
    }

    /// claim / claimMany (one request): the credential unclaimed, present, in the state the plan
    /// read; the day slot unclaimed and under maxPushesPerDay (1). Its lease is recorded with it.
    fn claim(&self, s: &mut State, user: u8, cred: u8, uses: u8, day: u8) -> Option<ClaimRef> {
        let (u, d, k) = (user as usize, day as usize, cred as usize);
        let row = s.store.creds[u][k];
        let slot = s.store.slots[u][d];
        if !row.present || row.claim != NO_TOKEN || row.uses != uses || slot.claim != NO_TOKEN || slot.pushes >= 1 {
            return None;
        }
        let tok = new_token(s);
        s.store.creds[u][k].claim = tok;
        s.store.slots[u][d].claim = tok;
        let free = s.store.leases.iter().position(|l| l.tok == NO_TOKEN).expect("a free lease slot");
        let mut names = [NO_TOKEN; NAMES];
        names[0] = tok;
        s.store.leases[free] = Lease { tok, names, user, day, cred, uses, started: false, expired: false };
        Some(ClaimRef { tok, user, day, cred, uses, started: false, lost: false })
    }

    /// renew: the leases still recorded extended (or ended now, `end`), marked started if asked;
    /// -> whether the claim's lease was recorded. Every store reads the lease alone here (MySQL
    /// the slot row's lease columns, found by its token; the lease index, the claims map).
    fn renew(&self, s: &mut State, tok: Tok, end: bool, started: bool) -> bool {
        let Some(i) = self.lease_of(s, tok) else { return false };
        let l = &mut s.store.leases[i];
        l.expired = end;
        l.started |= started;
        true
    }

    fn forget_lease(&self, s: &mut State, tok: Tok) {
        if let Some(i) = self.lease_of(s, tok) {
            s.store.leases[i] = Lease::default();
        }
    }

    /// confirm: the outcome written on a held claim whose credential still has the claimed uses
    /// left; the claim and its lease let go. `no_token_check` drops the held check.
    fn confirm(&self, s: &mut State, c: &ClaimRef, o: &Outcome) -> Confirmed {
        let (u, d, k) = (c.user as usize, c.day as usize, c.cred as usize);
        if !self.no_token_check && !self.holds(s, c) {
            return Confirmed::Lost;
        }
        let row = s.store.creds[u][k];
        if row.present && row.uses != c.uses {
            return Confirmed::Conflict(row.uses);
        }
        s.store.slots[u][d].claim = NO_TOKEN;
        let row = &mut s.store.creds[u][k];
        row.claim = NO_TOKEN;
        if row.present && o.concede && o.uses < row.uses {
            s.wechat.conceded[u][k] += 1;
        }
        if row.present && o.remove {
            *row = Row { present: false, uses: 0, claim: NO_TOKEN };
        } else if row.present {
            row.uses = o.uses;
        }
        if o.pushed {
            s.store.slots[u][d].pushes += 1;
            s.store.pushes[u][o.at as usize] += 1;
        }
        self.forget_lease(s, c.tok);
        Confirmed::Ok
    }

    /// release: a held claim let go, nothing else changed.
    fn release(&self, s: &mut State, c: &ClaimRef) -> bool {
        if !self.holds(s, c) {
            return false;
        }
        s.store.slots[c.user as usize][c.day as usize].claim = NO_TOKEN;
        s.store.creds[c.user as usize][c.cred as usize].claim = NO_TOKEN;
        self.forget_lease(s, c.tok);
        true
    }

    /// takeOverExpired, the lease side: every lease that ran out gets a new token and a new lease,
    /// its started mark kept. SQL renames the claim's slot and credential in the same transaction
    /// (pass); Redis leaves that to wnRetake.
    fn take_over_expired(&self, s: &mut State, w: usize) {
        for i in 0..LEASES {
            let l = s.store.leases[i];
            if l.tok == NO_TOKEN || !l.expired {
                continue;
            }
            let fresh = new_token(s);
            let lease = &mut s.store.leases[i];
            lease.tok = fresh;
            // Redis keeps the names for wnRetake (those before its last rename of the user's claim
            // can no longer be there, so the model keeps only the later ones); SQL needs none.
            lease.names = match self.flavor {
                Flavor::Sql => {
                    let mut names = [NO_TOKEN; NAMES];
                    names[0] = fresh;
                    names
                }
                Flavor::Redis => {
                    assert_eq!(l.names[NAMES - 1], NO_TOKEN, "more takeovers in a row with no wnRetake than NAMES");
                    let mut names = [fresh; NAMES];
                    names[1..].copy_from_slice(&l.names[..NAMES - 1]);
                    names
                }
            };
            lease.expired = false;
            let c = ClaimRef {
                tok: fresh,
                user: l.user,
                day: l.day,
                cred: l.cred,
                uses: l.uses,
                started: l.started,
                lost: false,
            };
            let taken = match self.flavor {
                Flavor::Sql => {
                    let (u, d, k) = (l.user as usize, l.day as usize, l.cred as usize);
                    if s.store.slots[u][d].claim == l.tok {
                        s.store.slots[u][d].claim = fresh;
                    }
                    if s.store.creds[u][k].claim == l.tok {
                        s.store.creds[u][k].claim = fresh;
                    }
                    self.held_or_again(s, w, c)
                }
                Flavor::Redis => Taken::Retake(c),
            };
            let free = s.workers[w].taken.iter().position(Option::is_none).expect("room for the claims taken");
            s.workers[w].taken[free] = Some(taken);
        }
    }

    /// recover(): a claim this run handed over itself is handed over again, not retried.
    fn held_or_again(&self, s: &State, w: usize, c: ClaimRef) -> Taken {
        if s.workers[w].handed & handed_key(&c) != 0 {
            Taken::Again(c)
        } else {
            Taken::Held(c)
        }
    }

    /// wnRetake: the user's claim renamed if it still holds one of the lease's names.
    fn retake(&self, s: &mut State, c: &ClaimRef) -> bool {
        let (u, d, k) = (c.user as usize, c.day as usize, c.cred as usize);
        let held = s.store.slots[u][d].claim;
        let names = self.lease_of(s, c.tok).map(|i| s.store.leases[i].names).unwrap_or_default();
        if held == NO_TOKEN || s.store.creds[u][k].claim != held || !names.contains(&held) {
            return false;
        }
        s.store.slots[u][d].claim = c.tok;
        s.store.creds[u][k].claim = c.tok;
        if let Some(i) = self.lease_of(s, c.tok) {
            s.store.leases[i].names = [NO_TOKEN; NAMES];
            s.store.leases[i].names[0] = c.tok;
        }
        true
    }
}

// ---------------------------------------------------------------- the worker

impl Protocol {
    /// The worker's next step, from where its run is.
    fn next(&self, wk: &Worker) -> Option<Next> {
        let call = match (wk.stage, wk.work) {
            (Stage::Idle, _) => return None,
            (Stage::TakeOver, _) => Call::TakeOverExpired,
            (Stage::Retake, _) => {
                match wk.taken.iter().flatten().find(|t| matches!(t, Taken::Retake(_) | Taken::Unlease(_))) {
                    Some(Taken::Retake(_)) => Call::Retake,
                    _ => Call::Unlease,
                }
            }
            (Stage::HandOverAgain, _) => Call::HandOverAgain,
            (Stage::PageUsers, _) => Call::PageUsers,
            (Stage::Plan, _) => Call::PlanPage,
            (Stage::ClaimMany, _) => Call::ClaimMany,
            (_, Work::Credentials { .. } | Work::RecoverCredentials { .. }) => Call::Credentials,
            (_, Work::Pushes { .. }) => Call::Pushes,
            (_, Work::Replan { .. }) => Call::PlanPage,
            (_, Work::Claim { .. }) => Call::Claim,
            (_, Work::Deliver { c, .. }) if !c.started => Call::MarkStarted,
            (_, Work::Deliver { .. }) => return Some(Next::Post),
            (_, Work::Confirm { .. }) => Call::Confirm,
            (_, Work::HandOver { .. }) => Call::HandOver,
            (_, Work::Release { .. }) => Call::Release,
            (_, Work::None) => unreachable!("advance() leaves no worker without work"),
        };
        Some(Next::Call(call))
    }

    /// The claims a worker holds (its `held` map): renewed, and a stall is what ends their leases.
    fn held(&self, wk: &Worker) -> Vec<ClaimRef> {
        let mut held: Vec<ClaimRef> = wk.claimed.iter().flatten().copied().collect();
        for t in wk.taken.iter().flatten() {
            if let Taken::Held(c) = t {
                held.push(*c);
            }
        }
        held.extend(work_claim(&wk.work));
        held.retain(|c| !c.lost);
        held
    }

    /// Local steps up to the worker's next call: the next user, the next claim to recover, the
    /// run's end.
    fn advance(&self, s: &mut State, w: usize) {
        loop {
            let wk = &mut s.workers[w];
            if let Work::Deliver { c, .. } = &mut wk.work {
                if c.lost {
                    // deliver throws ERR_CLAIM_LOST before the send: counted in lostClaims.
                    wk.work = Work::None;
                    continue;
                }
                // Broken on purpose: the send goes out as if marked, the store never told.
                c.started |= self.skip_mark;
            }
            match (wk.stage, wk.work) {
                (Stage::Users, Work::None) => {
                    if !self.next_user(wk) {
                        return self.end_run(s, w);
                    }
                }
                (Stage::Recover, Work::None) => match wk.taken.iter().position(|t| matches!(t, Some(Taken::Held(_)))) {
                    Some(i) => {
                        let Some(Taken::Held(c)) = wk.taken[i].take() else { unreachable!() };
                        wk.work = if c.started { Work::RecoverCredentials { c } } else { Work::Release { c } };
                    }
                    None => wk.stage = Stage::TakeOver,
                },
                (Stage::Retake, _)
                    if wk.taken.iter().flatten().all(|t| matches!(t, Taken::Held(_) | Taken::Again(_))) =>
                {
                    wk.stage = self.after_takeover(wk)
                }
                _ => return,
            }
        }
    }

    /// recover(): renew those this run handed over (ending their leases now); stop once every
    /// claim taken is one of those, else resolve the others and take over again.
    fn after_takeover(&self, wk: &Worker) -> Stage {
        let taken = wk.taken.iter().flatten();
        if taken.clone().any(|t| matches!(t, Taken::Again(_))) {
            Stage::HandOverAgain
        } else if taken.clone().any(|t| matches!(t, Taken::Held(_))) {
            Stage::Recover
        } else {
            Stage::PageUsers
        }
    }

    /// pushUser for the next planned user: its claim from the chunk, or a replan if that missed.
    fn next_user(&self, wk: &mut Worker) -> bool {
        while (wk.user as usize) < self.users {
            let u = wk.user as usize;
            wk.user += 1;
            if wk.plan[u].is_none() {
                continue;
            }
            wk.work = match wk.claimed[u].take() {
                Some(c) => Work::Deliver { c, attempt: 1, ambiguous: false, round: 0, lost: 0 },
                None => Work::Credentials { user: u as u8, round: 1, lost: 1 },
            };
            return true;
        }
        false
    }

    fn end_run(&self, s: &mut State, w: usize) {
        let runs = s.workers[w].runs;
        s.workers[w] = idle_worker(runs);
    }

    /// A user's work (or a recovered claim's) is over; a dead credential's is replanned.
    fn done(&self, replan: bool, user: u8, round: u8, lost: u8) -> Work {
        if replan && round != RECOVERING && round + 1 < ROUNDS {
            Work::Credentials { user, round: round + 1, lost }
        } else {
            Work::None
        }
    }
}

fn idle_worker(runs: u8) -> Worker {
    Worker {
        stage: Stage::Idle,
        runs,
        handed: 0,
        taken: [None; LEASES],
        seen: [[None; CREDS]; MAX_USERS],
        seen_pushes: [[0; INSTANTS]; MAX_USERS],
        plan: [None; MAX_USERS],
        claimed: [None; MAX_USERS],
        user: 0,
        work: Work::None,
    }
}

// ---------------------------------------------------------------- steps

impl Protocol {
    /// A worker's call: what the store (or the worker, for planPage) does, and where its run goes.
    fn call(&self, s: &mut State, w: usize, call: Call) {
        let now = self.instant_at(self.instant(s.phase, w));
        match call {
            Call::TakeOverExpired => {
                self.take_over_expired(s, w);
                s.workers[w].stage = match self.flavor {
                    Flavor::Sql => self.after_takeover(&s.workers[w]),
                    Flavor::Redis => Stage::Retake,
                };
            }
            Call::Retake => {
                let i = s.workers[w].taken.iter().position(|t| matches!(t, Some(Taken::Retake(_)))).unwrap();
                let Some(Taken::Retake(c)) = s.workers[w].taken[i] else { unreachable!() };
                let taken = if self.retake(s, &c) { self.held_or_again(s, w, c) } else { Taken::Unlease(c) };
                s.workers[w].taken[i] = Some(taken);
            }
            Call::Unlease => {
                let i = s.workers[w].taken.iter().position(|t| matches!(t, Some(Taken::Unlease(_)))).unwrap();
                let Some(Taken::Unlease(c)) = s.workers[w].taken[i].take() else { unreachable!() };
                self.forget_lease(s, c.tok);
            }
            Call::HandOverAgain => {
                for i in 0..LEASES {
                    if let Some(Taken::Again(c)) = s.workers[w].taken[i] {
                        self.renew(s, c.tok, true, false);
                        s.workers[w].taken[i] = None;
                    }
                }
                s.workers[w].stage = self.after_takeover(&s.workers[w]);
            }
            Call::PageUsers => {
                let wk = &mut s.workers[w];
                for u in 0..self.users {
                    wk.seen[u] = s.store.creds[u].map(|r| r.present.then_some(r.uses));
                    wk.seen_pushes[u] = s.store.pushes[u];
                }
                wk.stage = Stage::Plan;
            }
            Call::PlanPage if s.workers[w].stage == Stage::Plan => self.plan_page(s, w, now),
            Call::ClaimMany => {
                let day = self.day_now(s, w);
                for u in 0..self.users {
                    if let Some((cred, uses)) = s.workers[w].plan[u] {
                        s.workers[w].claimed[u] = self.claim(s, u as u8, cred, uses, day);
                    }
                }
                s.workers[w].stage = Stage::Users;
            }
            Call::Confirm => self.settle(s, w, now),
            _ => self.user_call(s, w, call, now),
        }
        self.advance(s, w);
    }

    /// planPage over the page read: the users with a credential, each a send or a skip.
    fn plan_page(&self, s: &mut State, w: usize, now: i64) {
        let wk = &mut s.workers[w];
        let users: Vec<usize> = (0..self.users).filter(|&u| wk.seen[u].iter().any(Option::is_some)).collect();
        let planned = plan(&users, &wk.seen, &self.pushed_at(&wk.seen_pushes), now);
        for (&u, p) in users.iter().zip(planned) {
            wk.plan[u] = p;
        }
        if wk.plan.iter().any(Option::is_some) {
            wk.stage = Stage::ClaimMany;
        } else {
            self.end_run(s, w);
        }
    }

    fn pushed_at(&self, counts: &[[u8; INSTANTS]; MAX_USERS]) -> Vec<Vec<i64>> {
        counts
            .iter()
            .map(|per| {
                (0..INSTANTS)
                    .filter(|&i| per[i] > 0)
                    .flat_map(|i| vec![self.instant_at(i as u8); per[i] as usize])
                    .collect()
            })
            .collect()
    }

    /// The calls of one user's work (pushUser, replan, deliver, conclude, recoverClaim).
    fn user_call(&self, s: &mut State, w: usize, call: Call, now: i64) {
        let work = s.workers[w].work;
        let next = match (call, work) {
            (Call::Credentials, Work::Credentials { user, round, lost }) => {
                s.workers[w].seen[user as usize] = s.store.creds[user as usize].map(|r| r.present.then_some(r.uses));
                Work::Pushes { user, round, lost }
            }
            (Call::Pushes, Work::Pushes { user, round, lost }) => {
                s.workers[w].seen_pushes[user as usize] = s.store.pushes[user as usize];
                Work::Replan { user, round, lost }
            }
            (Call::PlanPage, Work::Replan { user, round, lost }) => {
                let wk = &s.workers[w];
                match plan(&[user as usize], &wk.seen, &self.pushed_at(&wk.seen_pushes), now)[0] {
                    Some((cred, uses)) => Work::Claim { user, cred, uses, round, lost },
                    None => Work::None,
                }
            }
            (Call::Claim, Work::Claim { user, cred, uses, round, lost }) => {
                let day = self.day_now(s, w);
                match self.claim(s, user, cred, uses, day) {
                    Some(c) => Work::Deliver { c, attempt: 1, ambiguous: false, round, lost },
                    None if lost >= 1 => Work::None, // skipped: claimedElsewhere
                    None => self.done(true, user, round, lost + 1),
                }
            }
            (Call::Credentials, Work::RecoverCredentials { c }) => self.recover_claim(s, c),
            (Call::MarkStarted, Work::Deliver { mut c, attempt, ambiguous, round, lost }) => {
                if self.renew(s, c.tok, false, true) {
                    c.started = true;
                    Work::Deliver { c, attempt, ambiguous, round, lost }
                } else {
                    Work::None // ERR_CLAIM_LOST
                }
            }
            (Call::HandOver, Work::HandOver { c }) => {
                if self.renew(s, c.tok, true, false) {
                    s.workers[w].handed |= handed_key(&c);
                }
                Work::None
            }
            (Call::Release, Work::Release { c }) => {
                self.release(s, &c);
                Work::None
            }
            _ => unreachable!("{call:?} is not the next step of {work:?}"),
        };
        s.workers[w].work = next;
    }

    /// recoverClaim for a started claim: the core's rule for a send of unknown fate.
    fn recover_claim(&self, s: &State, c: ClaimRef) -> Work {
        let row = s.store.creds[c.user as usize][c.cred as usize];
        let d = classify_answer(KIND[c.cred as usize], network_error(), 1, true, self.attempts);
        let (pushed, concede) = (d.user == UserAction::Pushed, d.delivered.is_none());
        match (row.present, d.user) {
            (true, UserAction::Retry) => Work::Deliver { c, attempt: 1, ambiguous: true, round: RECOVERING, lost: 0 },
            (true, _) => Work::Confirm {
                c,
                effect: effect(d.credential),
                pushed,
                concede,
                replan: false,
                round: RECOVERING,
                lost: 0,
            },
            (false, _) => Work::Confirm {
                c,
                effect: Effect::Gone,
                pushed,
                concede: false,
                replan: false,
                round: RECOVERING,
                lost: 0,
            },
        }
    }

    /// settle: the state after the send as the core computes it, confirmed compare-and-set;
    /// computed again from the stored state after a conflict.
    fn settle(&self, s: &mut State, w: usize, now: i64) {
        let Work::Confirm { mut c, effect, pushed, concede, replan, round, lost } = s.workers[w].work else {
            unreachable!()
        };
        let (uses, remove) = match effect {
            Effect::Send(e) => after_send(c.user as usize, c.cred as usize, c.uses, SEND_EFFECTS[e as usize], now),
            Effect::Gone => (0, true),
        };
        let at = self.instant(s.phase, w);
        s.workers[w].work = match self.confirm(s, &c, &Outcome { uses, remove, pushed, at, concede }) {
            Confirmed::Ok => self.done(replan, c.user, round, lost),
            Confirmed::Lost => Work::None,
            Confirmed::Conflict(stored) => {
                c.uses = stored;
                Work::Confirm { c, effect, pushed, concede, replan, round, lost }
            }
        };
    }

    /// transport.post: what the network and WeChat do, and the core's classification of it.
    fn post(&self, s: &mut State, w: usize, net: Net) {
        let Work::Deliver { c, attempt, ambiguous, round, lost } = s.workers[w].work else { unreachable!() };
        let (u, k) = (c.user as usize, c.cred as usize);
        let today = self.day_of(self.phases().0[s.phase as usize]) as usize;
        let arrive = |s: &mut State| {
            if s.wechat.left[u][k] > 0 {
                s.wechat.left[u][k] -= 1;
                s.wechat.delivered[u][today] += 1;
                0
            } else {
                // 41029: only a probe of an earlier ambiguous send of this claim may find it spent.
                s.wechat.overuse |= !ambiguous;
                41029
            }
        };
        let response = match net {
            Net::Answered => errcode(arrive(s)),
            Net::AnswerLost => {
                arrive(s);
                network_error()
            }
            Net::NotArrived => network_error(),
            Net::Refused => errcode(45168),
        };
        match net {
            Net::AnswerLost | Net::NotArrived => s.ambiguous -= 1,
            Net::Refused => s.refused -= 1,
            Net::Answered => {}
        }
        let d = classify_answer(KIND[k], response, attempt, ambiguous, self.attempts);
        let ambiguous = ambiguous || d.ambiguous;
        let pushed = d.user == UserAction::Pushed;
        s.workers[w].work = match d.user {
            UserAction::Retry => Work::Deliver { c, attempt: attempt + 1, ambiguous, round, lost },
            // conclude: the fate unknown, handed over.
            UserAction::Later if ambiguous => Work::HandOver { c },
            user => Work::Confirm {
                c,
                effect: effect(d.credential),
                pushed,
                concede: d.delivered.is_none(),
                replan: user == UserAction::NextCredential,
                round,
                lost,
            },
        };
        self.advance(s, w);
    }

    /// renewLeases: every claim held extended, those the store no longer has marked lost.
    fn renew_held(&self, s: &mut State, w: usize) {
        let mut refs: Vec<ClaimRef> = vec![];
        let mut visit = |c: &mut ClaimRef, s: &mut Store| {
            if c.lost {
                return;
            }
            match s.leases.iter_mut().find(|l| l.tok == c.tok) {
                Some(l) => l.expired = false,
                None => c.lost = true,
            }
            refs.push(*c);
        };
        let State { workers, store, .. } = s;
        let wk = &mut workers[w];
        wk.claimed.iter_mut().flatten().for_each(|c| visit(c, store));
        for t in wk.taken.iter_mut().flatten() {
            if let Taken::Held(c) = t {
                visit(c, store);
            }
        }
        if let Some(c) = work_claim_mut(&mut wk.work) {
            visit(c, store);
        }
        self.advance(s, w);
    }

    /// Whether a renewal would change anything: a held lease ran out, or a held claim is gone.
    fn renewal_matters(&self, s: &State, w: usize) -> bool {
        self.held(&s.workers[w]).iter().any(|c| self.lease_of(s, c.tok).is_none_or(|i| s.store.leases[i].expired))
    }
}

// ---------------------------------------------------------------- the environment

impl Protocol {
    /// Whether a lease may run out now. A lease a live worker holds needs a stall of it; and, by
    /// the post deadline, not while that worker is about to post the claim's send.
    fn may_expire(&self, s: &State, l: &Lease) -> Option<bool> {
        if l.tok == NO_TOKEN || l.expired {
            return None;
        }
        let holder = s.workers.iter().find(|wk| {
            self.held(wk).iter().any(|c| c.tok == l.tok)
                || wk
                    .taken
                    .iter()
                    .flatten()
                    .any(|t| matches!(t, Taken::Retake(c) | Taken::Unlease(c) | Taken::Again(c) if c.tok == l.tok))
        });
        let Some(wk) = holder else { return Some(false) };
        let posting = matches!(wk.work, Work::Deliver { c, .. } if c.tok == l.tok && c.started);
        (s.stalls > 0 && (!posting || self.no_post_deadline)).then_some(true)
    }

    /// Whether worker `w` may start a run: one of its own (the first, a rerun, a restart after a
    /// crash), or, once every worker is idle, the next scheduled run, which takes over what leases
    /// ran out (the next day's job, a page job's retry).
    fn may_start(&self, s: &State, w: usize) -> bool {
        let idle = |wk: &Worker| wk.stage == Stage::Idle;
        idle(&s.workers[w])
            && (s.workers[w].runs > 0
                || (w == 0
                    && s.workers.iter().all(|wk| idle(wk) && wk.runs == 0)
                    && s.store.leases.iter().any(|l| l.tok != NO_TOKEN && l.expired)))
    }

    fn resolved(&self, s: &State) -> bool {
        let claimed = (0..self.users).any(|u| {
            s.store.slots[u].iter().any(|d| d.claim != NO_TOKEN) || s.store.creds[u].iter().any(|r| r.claim != NO_TOKEN)
        });
        !claimed && s.store.leases.iter().all(|l| l.tok == NO_TOKEN)
    }
}

impl Model for Protocol {
    type State = State;
    type Action = Action;

    fn init_states(&self) -> Vec<State> {
        let mut creds = [[Row { present: false, uses: 0, claim: NO_TOKEN }; CREDS]; MAX_USERS];
        let mut left = [[0; CREDS]; MAX_USERS];
        for u in 0..self.users {
            for c in (0..CREDS).filter(|&c| self.holds[u][c]) {
                creds[u][c] = Row { present: true, uses: USES[c], claim: NO_TOKEN };
                left[u][c] = USES[c];
            }
        }
        vec![State {
            phase: 0,
            store: Store {
                creds,
                slots: [[Slot::default(); 2]; MAX_USERS],
                pushes: [[0; INSTANTS]; MAX_USERS],
                leases: [Lease::default(); LEASES],
            },
            wechat: WeChat { left, delivered: [[0; 2]; MAX_USERS], overuse: false, conceded: [[0; CREDS]; MAX_USERS] },
            workers: [idle_worker(self.runs[0]), idle_worker(self.runs[1])],
            crashes: self.crashes,
            stalls: self.stalls,
            ambiguous: self.ambiguous,
            refused: self.refused,
        }]
    }

    fn actions(&self, s: &State, actions: &mut Vec<Action>) {
        for w in 0..2 {
            let wk = &s.workers[w];
            if self.may_start(s, w) {
                actions.push(Action::Start(w));
            }
            match self.next(wk) {
                Some(Next::Call(call)) => actions.push(Action::Call(w, call)),
                Some(Next::Post) => {
                    actions.push(Action::Post(w, Net::Answered));
                    if s.ambiguous > 0 {
                        actions.extend([Action::Post(w, Net::AnswerLost), Action::Post(w, Net::NotArrived)]);
                    }
                    if s.refused > 0 {
                        actions.push(Action::Post(w, Net::Refused));
                    }
                }
                None => {}
            }
            if wk.stage != Stage::Idle && self.renewal_matters(s, w) {
                actions.push(Action::Renew(w));
            }
            if wk.stage != Stage::Idle && s.crashes > 0 {
                actions.push(Action::Crash(w));
            }
        }
        for l in &s.store.leases {
            if self.may_expire(s, l).is_some() {
                actions.push(Action::LeaseExpiry(l.tok));
            }
        }
        if (s.phase as usize) + 1 < self.phases().1 {
            actions.push(Action::Midnight);
        }
    }

    fn next_state(&self, last: &State, action: Action) -> Option<State> {
        let mut s = last.clone();
        match action {
            Action::Start(w) => {
                let wk = &mut s.workers[w];
                wk.runs = wk.runs.saturating_sub(1);
                // A refused run ends with ERR_CLOCK_SKEW holding nothing: it never claimed.
                wk.stage = if self.clock_refused(w) { Stage::Idle } else { Stage::TakeOver };
            }
            Action::Call(w, call) => self.call(&mut s, w, call),
            Action::Post(w, net) => self.post(&mut s, w, net),
            Action::Renew(w) => self.renew_held(&mut s, w),
            Action::Crash(w) => {
                s.workers[w] = idle_worker(s.workers[w].runs + 1);
                s.crashes -= 1;
            }
            Action::LeaseExpiry(tok) => {
                let i = self.lease_of(&s, tok)?;
                if self.may_expire(&s, &s.store.leases[i])? {
                    s.stalls -= 1;
                }
                s.store.leases[i].expired = true;
            }
            Action::Midnight => s.phase += 1,
        }
        Some(canonical(s))
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always(ONE_A_DAY, |_: &Protocol, s: &State| s.wechat.delivered.iter().flatten().all(|&n| n <= 1)),
            Property::always(NO_OVERUSE, |m: &Protocol, s: &State| {
                !s.wechat.overuse && m.free_credentials(s).all(|(row, left, _)| !row.present || row.uses <= left)
            }),
            Property::always(NONE_LOST, |m: &Protocol, s: &State| {
                m.free_credentials(s).all(|(row, left, conceded)| {
                    i16::from(left) - i16::from(if row.present { row.uses } else { 0 }) <= i16::from(conceded)
                })
            }),
            Property::always(RESOLVED, |m: &Protocol, s: &State| {
                let mut next = vec![];
                m.actions(s, &mut next);
                !next.is_empty() || m.resolved(s)
            }),
            Property::sometimes(SOME_DELIVERED, |_: &Protocol, s: &State| {
                s.wechat.delivered.iter().flatten().any(|&n| n >= 1)
            }),
            Property::sometimes(SOME_AFTER_MIDNIGHT, |_: &Protocol, s: &State| {
                s.wechat.delivered.iter().any(|d| d[1] >= 1)
            }),
            Property::sometimes(SOME_CONCEDED, |_: &Protocol, s: &State| {
                s.wechat.conceded.iter().flatten().any(|&n| n >= 1)
            }),
            Property::sometimes(SOME_HANDED_OVER, |_: &Protocol, s: &State| s.workers.iter().any(|w| w.handed != 0)),
        ]
    }
}

impl Protocol {
    /// Each credential no claim holds: its stored row, the uses WeChat has left, the uses conceded.
    fn free_credentials<'a>(&self, s: &'a State) -> impl Iterator<Item = (Row, u8, u8)> + 'a {
        (0..self.users)
            .flat_map(|u| (0..CREDS).map(move |c| (u, c)))
            .filter(|&(u, c)| s.store.creds[u][c].claim == NO_TOKEN)
            .map(|(u, c)| (s.store.creds[u][c], s.wechat.left[u][c], s.wechat.conceded[u][c]))
    }
}

const ONE_A_DAY: &str = "at most one message per user per local day";
const NO_OVERUSE: &str = "no credential used past its uses";
const NONE_LOST: &str = "no credential lost";
const RESOLVED: &str = "every claim resolved in the end";
const SOME_DELIVERED: &str = "(reachable) a message delivered";
const SOME_AFTER_MIDNIGHT: &str = "(reachable) a message delivered after midnight";
const SOME_CONCEDED: &str = "(reachable) a use given up by the unknown-fate rule";
const SOME_HANDED_OVER: &str = "(reachable) a send of unknown fate handed over";
const INVARIANTS: [&str; 4] = [ONE_A_DAY, NO_OVERUSE, NONE_LOST, RESOLVED];
const REACHABLE: [&str; 4] = [SOME_DELIVERED, SOME_AFTER_MIDNIGHT, SOME_CONCEDED, SOME_HANDED_OVER];

// ---------------------------------------------------------------- the checks

/// What a check expects: the protocol holds (every invariant, and each reachable example found),
/// or the checker finds a violation of one invariant.
enum Expect {
    Holds,
    Breaks(&'static str),
}

struct Check {
    protocol: Protocol,
    expect: Expect,
    /// Run only in an optimized build (`cargo test --release --test claim_model`): about a minute
    /// in a debug build, 15 s optimized.
    release_only: bool,
}

fn checks() -> Vec<Check> {
    let holds = |protocol| Check { protocol, expect: Expect::Holds, release_only: false };
    let holds_2 = |protocol| Check { protocol, expect: Expect::Holds, release_only: true };
    let breaks = |protocol, property| Check { protocol, expect: Expect::Breaks(property), release_only: false };
    let skip_mark = Protocol { skip_mark: true, ..Protocol::new("broken: no started mark", Flavor::Sql, 1) };
    let no_token_check =
        Protocol { no_token_check: true, ..Protocol::new("broken: confirm without the token check", Flavor::Sql, 1) };
    let no_deadline = Protocol {
        no_post_deadline: true,
        holds: [[false, true]; MAX_USERS],
        ..Protocol::new(
            "assumption dropped: a stall between the started mark and the post (a user with a prepay_id)",
            Flavor::Sql,
            1,
        )
    };
    let skew = Protocol {
        skew_ms: 5 * MINUTE,
        ..Protocol::new("clocks 5 minutes apart across midnight, unchecked (issue 27)", Flavor::Sql, 1)
    };
    // The fix: the clock checked against the store's, 2 s tolerance (DEFAULT_CLOCK_TOLERANCE_MS).
    let checked =
        |name, flavor, skew_ms| Protocol { skew_ms, clock_tolerance_ms: Some(2000), ..Protocol::new(name, flavor, 1) };
    let skew_checked = checked("clocks 5 minutes apart across midnight, checked: refused", Flavor::Sql, 5 * MINUTE);
    let skew_checked_redis =
        checked("clocks 5 minutes apart across midnight on one Redis, checked: refused", Flavor::Redis, 5 * MINUTE);
    // What the check leaves: clocks apart by less than the tolerance still book two days for a run
    // that crosses midnight (the README's bound: within twice the tolerance of midnight).
    let within = checked("clocks 1 s apart, within the tolerance, a run across midnight", Flavor::Sql, 1000);
    // runDailyPush's come-back (issue 27): after its pages, worker 0 takes over the leases that ran
    // out and plans the users it met held again, whether or not worker 1 is still at work: a
    // second run of its own, started at any moment after its first.
    let come_back = |name, flavor| Protocol { runs: [2, 1], ..Protocol::new(name, flavor, 1) };
    vec![
        holds(Protocol::new("protocol on MySQL and the embedded store, 1 user", Flavor::Sql, 1)),
        holds(Protocol::new("protocol on one Redis, 1 user", Flavor::Redis, 1)),
        holds_2(Protocol::new("protocol on MySQL and the embedded store, 2 users", Flavor::Sql, 2)),
        holds_2(Protocol::new("protocol on one Redis, 2 users", Flavor::Redis, 2)),
        breaks(skip_mark, ONE_A_DAY),
        breaks(no_token_check, ONE_A_DAY),
        breaks(no_deadline, ONE_A_DAY),
        breaks(skew, ONE_A_DAY),
        holds(skew_checked),
        holds(skew_checked_redis),
        breaks(within, ONE_A_DAY),
        holds(come_back(
            "a run that comes back for the users it met held, on MySQL and the embedded store",
            Flavor::Sql,
        )),
        holds(come_back("a run that comes back for the users it met held, on one Redis", Flavor::Redis)),
    ]
}

fn run(check: &Check) -> bool {
    let p = &check.protocol;
    let started = Instant::now();
    let builder = p.clone().checker().threads(2);
    let checker = match check.expect {
        Expect::Holds => builder.spawn_bfs().join(),
        Expect::Breaks(property) => builder.finish_when(HasDiscoveries::AnyOf([property].into())).spawn_bfs().join(),
    };
    let found = checker.discoveries();
    println!(
        "claim model: {}: {} states explored ({} unique, depth {}) in {:.1} s",
        p.name,
        checker.state_count(),
        checker.unique_state_count(),
        checker.max_depth(),
        started.elapsed().as_secs_f64()
    );
    let violated: Vec<&str> = INVARIANTS.iter().copied().filter(|i| found.contains_key(i)).collect();
    match check.expect {
        Expect::Holds => {
            let unreached: Vec<&str> = REACHABLE.iter().copied().filter(|r| !found.contains_key(r)).collect();
            for i in &violated {
                println!("  VIOLATED: {i}; the path:\n{}", found[i]);
            }
            for r in &unreached {
                println!("  NOT REACHED: {r} (the model is too narrow to mean much)");
            }
            if violated.is_empty() && unreached.is_empty() {
                println!("  holds: {}", INVARIANTS.join("; "));
            }
            violated.is_empty() && unreached.is_empty()
        }
        Expect::Breaks(property) => match found.get(property) {
            Some(path) => {
                let actions = path.clone().into_actions();
                let others: Vec<&str> = violated.iter().copied().filter(|&i| i != property).collect();
                if !others.is_empty() {
                    println!("  also violated: {}", others.join("; "));
                }
                println!("  found, as expected: {property} violated in {} steps:", actions.len());
                println!("    {}", actions.iter().map(|a| format!("{a:?}")).collect::<Vec<_>>().join(", "));
                true
            }
            None => {
                println!("  NOT FOUND: the checker should find {property} violated");
                false
            }
        },
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let all = checks();
    if args.iter().any(|a| a == "--list") {
        all.iter().for_each(|c| println!("{}: test", c.protocol.name));
        return;
    }
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let chosen: Vec<&Check> = all
        .iter()
        .filter(|c| filters.is_empty() || filters.iter().any(|f| c.protocol.name.contains(f.as_str())))
        .collect();
    let optimized = !cfg!(debug_assertions);
    for c in chosen.iter().filter(|c| c.release_only && !optimized) {
        println!("claim model: {}: run by `cargo test --release --test claim_model`", c.protocol.name);
    }
    let failed = chosen.iter().filter(|c| (optimized || !c.release_only) && !run(c)).count();
    println!("claim model: {} checks, {} failed", chosen.len(), failed);
    if failed > 0 {
        std::process::exit(1);
    }
}
