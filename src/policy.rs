//! The daily-eligibility Policy: time zone, pushes per local day, quiet hours, minimum gap, safety margin.
//! Owns `Policy` and its eligibility rules; it may not know of credentials or pages.

use std::num::NonZeroU32;

use serde::{de, Deserialize, Deserializer, Serialize};

use crate::clock::{day_start, local_day, Millis, TimeOfDay, UtcOffset, DAY_MS};

/// A duration in milliseconds: a whole, non-negative number of at most a year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct DurationMs(pub i64);

impl<'de> Deserialize<'de> for DurationMs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let m = Millis::deserialize(d)?;
        if m.0 > 366 * DAY_MS {
            return Err(de::Error::custom(format!("{} ms is longer than a year", m.0)));
        }
        Ok(DurationMs(m.0))
    }
}

/// Local hours in which nobody is pushed. `from` > `to` wraps midnight (22:00-08:00).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct QuietHours {
    pub from: TimeOfDay,
    pub to: TimeOfDay,
}

impl<'de> Deserialize<'de> for QuietHours {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            from: TimeOfDay,
            to: TimeOfDay,
        }
        let r = Raw::deserialize(d)?;
        if r.from == r.to {
            return Err(de::Error::custom("from and to are equal: an empty quiet window is written null"));
        }
        Ok(QuietHours { from: r.from, to: r.to })
    }
}

impl QuietHours {
    fn contains(&self, ms_of_day: i64) -> bool {
        let (from, to) = (self.from.ms(), self.to.ms());
        if from < to {
            (from..to).contains(&ms_of_day)
        } else {
            ms_of_day >= from || ms_of_day < to
        }
    }

    /// The first instant after `t` at which the window ends, `t` being in the local day from `day_start`.
    fn end_after(&self, t: i64, day_start: i64) -> i64 {
        let end = day_start + self.to.ms();
        if end > t {
            end
        } else {
            end + DAY_MS
        }
    }
}

/// What of a user's push history the rules can still read at some instant: every push since
/// `since` (today's, for the daily limit, and those inside the minimum gap), which is all that
/// eligibility reads; a push stays readable for `keep_ms` after it was made. Stores read pages and
/// drop old pushes by these numbers, so a gap of any length the policy accepts is enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryWindow {
    pub since: i64,
    /// The local day number of the instant: day slots of earlier days are done.
    pub today: i64,
    pub keep_ms: i64,
}

/// The local day an instant falls in, worked out once so that a page of users costs no date
/// arithmetic per user.
#[derive(Debug, Clone, Copy)]
pub struct LocalDay {
    pub at: i64,
    pub start: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default, expecting = "a policy object")]
pub struct Policy {
    /// The users' time zone as a fixed offset; China (the default) has no DST.
    pub utc_offset: UtcOffset,
    /// Pushes per user per local day.
    pub max_pushes_per_day: NonZeroU32,
    pub quiet_hours: Option<QuietHours>,
    /// Minimum time between two pushes to one user.
    pub min_gap_ms: DurationMs,
    /// A credential must stay alive this long past now to be picked.
    pub safety_margin_ms: DurationMs,
}

pub const DEFAULT_SAFETY_MARGIN_MS: i64 = 5 * 60_000;

impl Default for Policy {
    fn default() -> Self {
        Policy {
            utc_offset: UtcOffset::CHINA,
            max_pushes_per_day: NonZeroU32::MIN,
            quiet_hours: None,
            min_gap_ms: DurationMs(0),
            safety_margin_ms: DurationMs(DEFAULT_SAFETY_MARGIN_MS),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SkipReason {
    NoCredential,
    AlreadyPushedToday,
    QuietHours,
    TooSoon,
    ExcludedByBusiness,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Eligibility {
    pub allowed: bool,
    /// Why not now; `null` when allowed.
    pub reason: Option<SkipReason>,
    /// The earliest instant the user may be pushed (`now` when allowed).
    pub not_before: i64,
}

impl Policy {
    pub fn local_day(&self, at: i64) -> LocalDay {
        LocalDay { at, start: day_start(local_day(at, self.utc_offset), self.utc_offset) }
    }

    /// The pushes eligibility at `now` reads, and how long a push stays readable.
    pub fn history_window(&self, now: i64) -> HistoryWindow {
        let day = self.local_day(now);
        HistoryWindow {
            since: day.start.min(now.saturating_sub(self.min_gap_ms.0)),
            today: local_day(now, self.utc_offset),
            keep_ms: self.min_gap_ms.0.max(DAY_MS),
        }
    }

    /// The first rule that forbids a push at `day.at`, and the instant that rule stops forbidding it.
    fn blocker(&self, pushes: &[i64], day: LocalDay) -> Option<(SkipReason, i64)> {
        let (t, start) = (day.at, day.start);
        let end = start + DAY_MS;
        let today = pushes.iter().filter(|&&p| start <= p && p < end).count();
        if today >= self.max_pushes_per_day.get() as usize {
            return Some((SkipReason::AlreadyPushedToday, end));
        }
        if let Some(q) = self.quiet_hours.filter(|q| q.contains(t - start)) {
            return Some((SkipReason::QuietHours, q.end_after(t, start)));
        }
        let last = pushes.iter().copied().max()?;
        let ready = last.saturating_add(self.min_gap_ms.0);
        (t < ready).then_some((SkipReason::TooSoon, ready))
    }

    /// Whether a user with these past pushes may be pushed at `now`; if not, why, and from when.
    pub fn eligibility(&self, pushes: &[i64], now: i64) -> Eligibility {
        self.eligibility_on(pushes, self.local_day(now))
    }

    /// `eligibility`, with now's local day already worked out.
    #[inline]
    pub fn eligibility_on(&self, pushes: &[i64], today: LocalDay) -> Eligibility {
        let Some((reason, mut t)) = self.blocker(pushes, today) else {
            return Eligibility { allowed: true, reason: None, not_before: today.at };
        };
        // Clearing one rule can land in another (next midnight is inside quiet hours): move on until
        // none blocks. Every step moves forward by at least a minute, so a few steps settle it.
        for _ in 0..16 {
            match self.blocker(pushes, self.local_day(t)) {
                Some((_, next)) if next > t => t = next,
                _ => break,
            }
        }
        Eligibility { allowed: false, reason: Some(reason), not_before: t }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;
    // 2024-03-02 00:00 in UTC+8 (2024-03-01T16:00Z): the machine's clock is UTC.
    const CN_MIDNIGHT: i64 = 1_709_308_800_000;

    fn policy(j: &str) -> Policy {
        serde_json::from_str(j).unwrap()
    }

    #[test]
    fn one_push_per_local_day_resets_at_china_midnight() {
        let p = Policy::default();
        let pushed = [CN_MIDNIGHT - 14 * H]; // 10:00 local the day before
        let e = p.eligibility(&pushed, CN_MIDNIGHT - 1);
        assert_eq!(
            e,
            Eligibility { allowed: false, reason: Some(SkipReason::AlreadyPushedToday), not_before: CN_MIDNIGHT }
        );
        assert!(p.eligibility(&pushed, CN_MIDNIGHT).allowed, "a new local day at 16:00 UTC");
        // Read with a UTC policy the same pushes are still "today" at 16:00 UTC.
        let utc = policy(r#"{"utcOffset":"+00:00"}"#);
        assert!(!utc.eligibility(&pushed, CN_MIDNIGHT).allowed);
    }

    #[test]
    fn pushes_before_the_history_window_never_change_eligibility() {
        let mut rng = 5u64;
        let mut next = |m: i64| {
            rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((rng >> 33) as i64).rem_euclid(m)
        };
        for gap_days in [0, 1, 3, 40, 366] {
            let p = policy(&format!(r#"{{"minGapMs":{},"maxPushesPerDay":2}}"#, gap_days * DAY_MS));
            for _ in 0..200 {
                let now = CN_MIDNIGHT + next(3 * DAY_MS);
                let pushes: Vec<i64> = (0..next(6)).map(|_| now - next(400 * DAY_MS)).collect();
                let w = p.history_window(now);
                let kept: Vec<i64> = pushes.iter().copied().filter(|&t| t >= w.since).collect();
                assert_eq!(p.eligibility(&pushes, now), p.eligibility(&kept, now), "{pushes:?} at {now}");
                // A push older than keep_ms is before the window.
                assert!(now - w.keep_ms <= w.since);
            }
        }
    }

    #[test]
    fn quiet_window_wraps_midnight() {
        let p = policy(r#"{"quietHours":{"from":"22:00","to":"08:00"}}"#);
        let e = p.eligibility(&[], CN_MIDNIGHT - 2 * H); // 22:00 local
        assert_eq!((e.reason, e.not_before), (Some(SkipReason::QuietHours), CN_MIDNIGHT + 8 * H));
        assert_eq!(p.eligibility(&[], CN_MIDNIGHT + 3 * H).not_before, CN_MIDNIGHT + 8 * H);
        assert!(p.eligibility(&[], CN_MIDNIGHT - 2 * H - 1).allowed, "21:59:59.999");
        assert!(p.eligibility(&[], CN_MIDNIGHT + 8 * H).allowed, "08:00 sharp");
        let day = policy(r#"{"quietHours":{"from":"12:00","to":"14:00"}}"#);
        assert!(!day.eligibility(&[], CN_MIDNIGHT + 13 * H).allowed);
        assert!(day.eligibility(&[], CN_MIDNIGHT + 14 * H).allowed);
    }

    #[test]
    fn next_slot_skips_the_cap_then_the_quiet_window() {
        let p = policy(r#"{"quietHours":{"from":"22:00","to":"08:00"}}"#);
        let e = p.eligibility(&[CN_MIDNIGHT - 12 * H], CN_MIDNIGHT - 11 * H);
        assert_eq!((e.reason, e.not_before), (Some(SkipReason::AlreadyPushedToday), CN_MIDNIGHT + 8 * H));
    }

    #[test]
    fn minimum_gap() {
        let p = policy(r#"{"maxPushesPerDay":3,"minGapMs":7200000}"#);
        let e = p.eligibility(&[CN_MIDNIGHT + 10 * H], CN_MIDNIGHT + 11 * H);
        assert_eq!((e.reason, e.not_before), (Some(SkipReason::TooSoon), CN_MIDNIGHT + 12 * H));
        assert!(p.eligibility(&[CN_MIDNIGHT + 10 * H], CN_MIDNIGHT + 12 * H).allowed);
        let full = [CN_MIDNIGHT + H, CN_MIDNIGHT + 4 * H, CN_MIDNIGHT + 7 * H];
        assert_eq!(p.eligibility(&full, CN_MIDNIGHT + 20 * H).reason, Some(SkipReason::AlreadyPushedToday));
    }

    #[test]
    fn bad_policies_are_rejected() {
        for j in [
            r#"{"maxPushesPerDay":0}"#,
            r#"{"quietHours":{"from":"22:00","to":"22:00"}}"#,
            r#"{"quietHours":{"from":"24:00","to":"08:00"}}"#,
            r#"{"minGapMs":-1}"#,
            r#"{"minGapMs":1.5}"#,
            r#"{"safetyMarginMs":1e15}"#,
            r#"{"utcOffset":"Asia/Shanghai"}"#,
            r#"{"quietHour":null}"#,
        ] {
            assert!(serde_json::from_str::<Policy>(j).is_err(), "{j}");
        }
    }
}
