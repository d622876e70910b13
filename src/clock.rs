//! Time: epoch milliseconds, fixed UTC offsets (China has no DST) and local-day arithmetic.
//! Nothing here reads the machine's clock or time zone: "now" is always an argument.
//! Owns `Millis`, offsets and day bounds; it may not depend on any other module of the core.

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

pub const MINUTE_MS: i64 = 60_000;
pub const DAY_MS: i64 = 86_400_000;
pub const WEEK_MS: i64 = 7 * DAY_MS;
/// 9999-12-31T23:59:59.999Z: the last instant every date format can print.
pub const MAX_EPOCH_MS: i64 = 253_402_300_799_999;

/// WeChat's instants in whole seconds as decimal text (a push's `timestamp`, `CreateTime`), in ms.
pub fn ms_of_epoch_seconds(text: &str) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<i64>().ok()?.checked_mul(1000).filter(|&ms| ms <= MAX_EPOCH_MS)
}

/// The key under which the JS entry point sends a `Date`'s epoch ms: `{"$date": 1700000000000}`.
pub const DATE_TAG: &str = "$date";

/// The key under which the JS entry point sends a JS value JSON has no form for (NaN, Infinity,
/// -Infinity, an invalid Date, a BigInt), as its text: `{"$js": "NaN"}`, `{"$js": "10n"}`. No
/// field reads one as data: each is refused at its field, by what it is.
pub const JS_TAG: &str = "$js";

/// What a `JS_TAG` value is, for an error message: `NaN`, `an invalid Date`, `the BigInt 10n`.
pub fn js_value_name(text: &str) -> String {
    match text {
        "Invalid Date" => "an invalid Date (its time is NaN)".into(),
        t if t.ends_with('n') => format!("the BigInt {t}"),
        t => t.into(),
    }
}

/// An instant in epoch milliseconds, validated: an integer in 0..=MAX_EPOCH_MS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Millis(pub i64);

/// Whether `x` is a whole number in `0..=max`, without leaving the float domain (the plan's
/// per-row checks read millions of them): adding 2^52 rounds a number below 2^52 to a whole one,
/// so the round trip holds only for whole numbers. `max` is below 2^52; NaN fails every comparison.
#[inline(always)]
pub fn whole_upto(x: f64, max: f64) -> bool {
    const TWO_52: f64 = 4_503_599_627_370_496.0;
    (x >= 0.0) & (x <= max) & ((x + TWO_52) - TWO_52 == x)
}

impl Millis {
    /// Whether a JS number is an epoch-ms instant: `from_f64`'s test, for paths that only check.
    #[inline(always)]
    pub fn is_instant(v: f64) -> bool {
        whole_upto(v, MAX_EPOCH_MS as f64)
    }

    /// Validates a JS number as an epoch-ms instant.
    pub fn from_f64(v: f64) -> Result<Millis, String> {
        if Self::is_instant(v) {
            return Ok(Millis(v as i64));
        }
        Err(if !v.is_finite() {
            format!("{v} is not a finite number of epoch milliseconds")
        } else if v.fract() != 0.0 {
            format!("{v} is not a whole number of epoch milliseconds")
        } else {
            format!("{v} is outside 1970-01-01..9999-12-31 in epoch milliseconds")
        })
    }
}

impl<'de> Deserialize<'de> for Millis {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = Millis;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("epoch milliseconds (a number or a Date)")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Millis, E> {
                if v > MAX_EPOCH_MS as u64 {
                    return Err(E::custom(format!("{v} is past 9999-12-31 in epoch milliseconds")));
                }
                Ok(Millis(v as i64))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Millis, E> {
                if v < 0 {
                    return Err(E::custom(format!("{v} is before 1970 in epoch milliseconds")));
                }
                self.visit_u64(v as u64)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Millis, E> {
                Millis::from_f64(v).map_err(E::custom)
            }
            /// `{"$date": ms}`: how the JS entry point sends a `Date`, so message values can tell a
            /// Date from a plain number; `{"$js": text}`, a JS value that is no number.
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Millis, A::Error> {
                match map.next_key::<String>()?.as_deref() {
                    Some(DATE_TAG) => {}
                    Some(JS_TAG) => {
                        let text: String = map.next_value()?;
                        let finite =
                            if text.ends_with('n') || text == "Invalid Date" { "" } else { "a finite number of " };
                        return Err(de::Error::custom(format!(
                            "{} is not {finite}epoch milliseconds",
                            js_value_name(&text)
                        )));
                    }
                    _ => return Err(de::Error::custom("an object is not epoch milliseconds (a number or a Date)")),
                }
                let v: f64 = map.next_value()?;
                if map.next_key::<String>()?.is_some() {
                    return Err(de::Error::custom("a Date object has one $date key (epoch milliseconds)"));
                }
                self.visit_f64(v)
            }
        }
        d.deserialize_any(V)
    }
}

/// A fixed offset from UTC, in minutes. Written `+08:00` in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtcOffset {
    minutes: i32,
}

impl UtcOffset {
    pub const CHINA: UtcOffset = UtcOffset { minutes: 8 * 60 };

    pub fn ms(self) -> i64 {
        self.minutes as i64 * MINUTE_MS
    }

    pub fn parse(s: &str) -> Result<UtcOffset, String> {
        let bad = || format!("{s:?} is not an offset like \"+08:00\" between -14:00 and +14:00");
        let b = s.as_bytes();
        if b.len() != 6 || b[3] != b':' || !(b[0] == b'+' || b[0] == b'-') {
            return Err(bad());
        }
        let num = |x: &[u8]| -> Option<i32> {
            x.iter().try_fold(0i32, |acc, c| c.is_ascii_digit().then(|| acc * 10 + (c - b'0') as i32))
        };
        let (h, m) = (num(&b[1..3]).ok_or_else(bad)?, num(&b[4..6]).ok_or_else(bad)?);
        let minutes = h * 60 + m;
        if m >= 60 || minutes > 14 * 60 {
            return Err(bad());
        }
        Ok(UtcOffset { minutes: if b[0] == b'-' { -minutes } else { minutes } })
    }

    pub fn chrono(self) -> chrono::FixedOffset {
        use chrono::Offset;
        // |minutes| <= 14h by construction, well inside FixedOffset's ±24h; the fallback is never taken.
        chrono::FixedOffset::east_opt(self.minutes * 60).unwrap_or_else(|| chrono::Utc.fix())
    }
}

impl Default for UtcOffset {
    fn default() -> Self {
        UtcOffset::CHINA
    }
}

impl Serialize for UtcOffset {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let sign = if self.minutes < 0 { '-' } else { '+' };
        let m = self.minutes.abs();
        s.serialize_str(&format!("{sign}{:02}:{:02}", m / 60, m % 60))
    }
}

impl<'de> Deserialize<'de> for UtcOffset {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        UtcOffset::parse(&s).map_err(de::Error::custom)
    }
}

/// A time of day in local time, written `"HH:MM"`. Stored as minutes after midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimeOfDay(pub u16);

impl TimeOfDay {
    pub fn ms(self) -> i64 {
        self.0 as i64 * MINUTE_MS
    }
}

impl Serialize for TimeOfDay {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{:02}:{:02}", self.0 / 60, self.0 % 60))
    }
}

impl<'de> Deserialize<'de> for TimeOfDay {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let b = s.as_bytes();
        let ok = b.len() == 5 && b[2] == b':' && [0, 1, 3, 4].iter().all(|&i| b[i].is_ascii_digit());
        let (h, m) = if ok {
            (((b[0] - b'0') * 10 + b[1] - b'0') as u16, ((b[3] - b'0') * 10 + b[4] - b'0') as u16)
        } else {
            (99, 99)
        };
        if h > 23 || m > 59 {
            return Err(de::Error::custom(format!("{s:?} is not a 24-hour time like \"22:00\"")));
        }
        Ok(TimeOfDay(h * 60 + m))
    }
}

/// The local calendar day (days since 1970-01-01 in that offset) that `t` falls on.
pub fn local_day(t: i64, off: UtcOffset) -> i64 {
    (t + off.ms()).div_euclid(DAY_MS)
}

/// The instant local day `day` begins.
pub fn day_start(day: i64, off: UtcOffset) -> i64 {
    day * DAY_MS - off.ms()
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2024-03-01T16:00:00Z is 2024-03-02 00:00 in UTC+8.
    const CN_MIDNIGHT: i64 = 1_709_308_800_000;

    #[test]
    fn china_midnight_on_a_utc_clock() {
        let cn = UtcOffset::CHINA;
        assert_eq!(day_start(local_day(CN_MIDNIGHT, cn), cn), CN_MIDNIGHT);
        assert_eq!(local_day(CN_MIDNIGHT - 1, cn) + 1, local_day(CN_MIDNIGHT, cn));
        assert_eq!(day_start(local_day(CN_MIDNIGHT + 5 * 3_600_000, cn), cn), CN_MIDNIGHT);
        // The same instant is still the previous day in UTC.
        let utc = UtcOffset::parse("+00:00").unwrap();
        assert_eq!(local_day(CN_MIDNIGHT, utc), local_day(CN_MIDNIGHT, cn) - 1);
    }

    #[test]
    fn offsets_parse_strictly() {
        assert_eq!(UtcOffset::parse("+08:00").unwrap(), UtcOffset::CHINA);
        assert_eq!(UtcOffset::parse("-05:30").unwrap().ms(), -330 * MINUTE_MS);
        for bad in ["08:00", "+8:00", "+14:01", "+08:60", "+0800", "", "+08:0x", "＋08:00"] {
            assert!(UtcOffset::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn millis_rejects_non_instants() {
        assert!(Millis::from_f64(f64::NAN).is_err());
        assert!(Millis::from_f64(f64::INFINITY).is_err());
        assert!(Millis::from_f64(-1.0).is_err());
        assert!(Millis::from_f64(1.5).is_err());
        assert!(Millis::from_f64(MAX_EPOCH_MS as f64 + 1.0).is_err());
        assert_eq!(Millis::from_f64(-0.0), Ok(Millis(0)));
        assert_eq!(Millis::from_f64(MAX_EPOCH_MS as f64), Ok(Millis(MAX_EPOCH_MS)));
        let m: Result<Millis, _> = serde_json::from_str("-5");
        assert!(m.is_err());
        let m: Result<Millis, _> = serde_json::from_str("\"NaN\"");
        assert!(m.is_err());
    }
}
