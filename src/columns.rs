//! The columnar plan's boundary: its input as the bindings hand it over (`ColumnsInput`, strings
//! as `Texts`), checked for size before anything is allocated, its users joined by key or by id,
//! then planned by `plan`. It owns the shapes the bindings fill and no rule of the plan; it may
//! not depend on `api` or on a binding (napi.rs and wasm.rs fill its types, nothing else).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::clock::whole_upto;
use crate::credential::check_id;
use crate::error::{Error, Result};
use crate::plan::{
    column_len, plan_columns_into, within, Columns, PlanOptions, PlanOut, MAX_PAGE_ROWS, MAX_PAGE_TEXT, MAX_PAGE_USERS,
};

/// `users.count` as JS passes it: a whole number up to `MAX_PAGE_USERS` (napi would wrap or
/// truncate silently).
pub fn user_count(v: f64) -> Result<usize> {
    if v as u32 as f64 != v {
        Err(Error::invalid("users.count", format!("{v} is not a user count")))
    } else if v as usize > MAX_PAGE_USERS {
        Err(Error::invalid("users.count", format!("{v} is more than a page's {MAX_PAGE_USERS} users")))
    } else {
        Ok(v as usize)
    }
}

/// Strings as they cross from JS in one piece: their concatenation, and each one's length in
/// UTF-16 code units (as JS counts them). A negative length marks an entry that is not a string.
#[derive(Clone, Copy)]
pub struct Texts<'a> {
    pub text: &'a str,
    pub lengths: &'a [f64],
}

impl<'a> Texts<'a> {
    /// The strings, each a slice of `text`; `field[i]` names an entry that is not one.
    pub fn split(&self, field: &str) -> Result<Vec<&'a str>> {
        let text = self.text;
        let mismatch = || Error::invalid(field, "the text and its lengths disagree");
        let ascii = text.is_ascii();
        let mut out = Vec::with_capacity(self.lengths.len());
        let mut pos = 0;
        for (i, &len) in self.lengths.iter().enumerate() {
            if !whole_upto(len, text.len() as f64) {
                return Err(Error::invalid(format!("{field}[{i}]"), "must be a string"));
            }
            let units = len as usize;
            let end = if ascii {
                pos + units
            } else {
                let mut counted = 0;
                let mut end = pos;
                for ch in text[pos..].chars() {
                    if counted >= units {
                        break;
                    }
                    counted += ch.len_utf16();
                    end += ch.len_utf8();
                }
                if counted != units {
                    return Err(mismatch());
                }
                end
            };
            out.push(text.get(pos..end).ok_or_else(mismatch)?);
            pos = end;
        }
        if pos != text.len() {
            return Err(mismatch());
        }
        Ok(out)
    }
}

/// The columnar plan's input as the bindings receive it, one named field per JS property:
/// `users: { count, excluded?, key?, ids? }`, `pushes: { user?, at? }`, `credentials: { user? |
/// userKey? | userIds?, kind, usesLeft, expireAt, template?, ids? }`, and the options (message,
/// now, policy, templates) as JSON. Each credential row names its user in one of three ways: by
/// index (`user`), by numeric key (`userKey`, matched to `users.key`), or by string id
/// (`userIds`, matched to `users.ids`).
pub struct ColumnsInput<'a> {
    pub options: &'a str,
    pub user_count: f64,
    pub excluded: Option<&'a [u8]>,
    pub user_keys: Option<&'a [f64]>,
    pub user_ids: Option<Texts<'a>>,
    pub push_user: Option<&'a [u32]>,
    pub push_at: Option<&'a [f64]>,
    pub cred_user: Option<&'a [u32]>,
    pub cred_user_keys: Option<&'a [f64]>,
    pub cred_user_ids: Option<Texts<'a>>,
    pub cred_kind: &'a [u8],
    pub cred_uses: &'a [f64],
    pub cred_expire: &'a [f64],
    pub cred_template: Option<&'a [u32]>,
    pub cred_ids: Option<Texts<'a>>,
}

/// String user ids joined to user indices, as `join_user_keys` does for numbers: each user id is
/// a user id by the core's rule (`UserId`), none appears twice, and every row's is one of them.
pub fn join_user_ids(users: &[&str], creds: &[&str], out: &mut [u32]) -> Result<()> {
    column_len("output", out.len(), creds.len())?;
    let mut index: HashMap<&str, u32, BuildHasherDefault<KeyHasher>> =
        HashMap::with_capacity_and_hasher(users.len(), Default::default());
    for (i, &u) in users.iter().enumerate() {
        check_id(&format!("users.ids[{i}]"), Some(u))?;
        if index.insert(u, i as u32).is_some() {
            return Err(Error::invalid(format!("users.ids[{i}]"), "appears twice in the page"));
        }
    }
    for (r, (&u, o)) in creds.iter().zip(out.iter_mut()).enumerate() {
        *o = *index.get(u).ok_or_else(|| {
            Error::invalid(format!("credentials.userIds[{r}]"), format!("{u:?} is not one of users.ids"))
        })?;
    }
    Ok(())
}

/// The boundary's sizes, before anything is allocated for them: the count within its maximum,
/// every column within its own, and each per-user column exactly `users.count` long.
fn check_sizes(i: &ColumnsInput) -> Result<usize> {
    let n = user_count(i.user_count)?;
    let per_user = [
        ("users.excluded", i.excluded.map(<[u8]>::len)),
        ("users.key", i.user_keys.map(<[f64]>::len)),
        ("users.ids", i.user_ids.map(|t| t.lengths.len())),
    ];
    for (name, len) in per_user {
        if let Some(len) = len {
            column_len(name, len, n)?;
        }
    }
    let rows = [
        ("pushes.user", i.push_user.map(<[u32]>::len)),
        ("pushes.at", i.push_at.map(<[f64]>::len)),
        ("credentials.user", i.cred_user.map(<[u32]>::len)),
        ("credentials.userKey", i.cred_user_keys.map(<[f64]>::len)),
        ("credentials.userIds", i.cred_user_ids.map(|t| t.lengths.len())),
        ("credentials.kind", Some(i.cred_kind.len())),
        ("credentials.usesLeft", Some(i.cred_uses.len())),
        ("credentials.expireAt", Some(i.cred_expire.len())),
        ("credentials.template", i.cred_template.map(<[u32]>::len)),
        ("credentials.ids", i.cred_ids.map(|t| t.lengths.len())),
    ];
    for (name, len) in rows {
        within(name, len.unwrap_or(0), MAX_PAGE_ROWS)?;
    }
    for (name, t) in
        [("users.ids", i.user_ids), ("credentials.userIds", i.cred_user_ids), ("credentials.ids", i.cred_ids)]
    {
        if let Some(t) = t {
            if t.text.len() > 3 * MAX_PAGE_TEXT {
                return Err(Error::invalid(
                    format!("{name}.text"),
                    format!("is longer than a page's {MAX_PAGE_TEXT} characters"),
                ));
            }
        }
    }
    Ok(n)
}

/// Plans the boundary's input into `out`; returns how many dead credentials were written.
pub fn plan_input_into(i: &ColumnsInput, out: &mut PlanOut) -> Result<usize> {
    let user_count = check_sizes(i)?;
    let opts: PlanOptions = crate::wire::parse(i.options)?;
    let joined;
    let cred_user = match (i.cred_user, i.cred_user_keys, i.cred_user_ids) {
        (Some(user), None, None) => user,
        (None, Some(keys), None) => {
            let users = i.user_keys.ok_or_else(|| Error::invalid("users.key", "is needed with credentials.userKey"))?;
            column_len("users.key", users.len(), user_count)?;
            let mut out = vec![0; keys.len()];
            join_user_keys(users, keys, &mut out)?;
            joined = out;
            &joined
        }
        (None, None, Some(ids)) => {
            let users = i.user_ids.ok_or_else(|| Error::invalid("users.ids", "is needed with credentials.userIds"))?;
            let users = users.split("users.ids")?;
            column_len("users.ids", users.len(), user_count)?;
            let creds = ids.split("credentials.userIds")?;
            let mut out = vec![0; creds.len()];
            join_user_ids(&users, &creds, &mut out)?;
            joined = out;
            &joined
        }
        _ => return Err(Error::invalid("credentials", "needs exactly one of user, userKey and userIds")),
    };
    let ids = i.cred_ids.map(|t| t.split("credentials.ids")).transpose()?;
    let cols = Columns {
        user_count,
        excluded: i.excluded.unwrap_or(&[]),
        push_user: i.push_user.unwrap_or(&[]),
        push_at: i.push_at.unwrap_or(&[]),
        cred_user,
        cred_kind: i.cred_kind,
        cred_uses: i.cred_uses,
        cred_expire: i.cred_expire,
        cred_template: i.cred_template.unwrap_or(&[]),
        ids: ids.as_deref(),
    };
    plan_columns_into(&cols, &opts, out)
}

/// Integer user keys (DB ids) joined to user indices: `cred_keys[r]` is found in `user_keys` and
/// replaced by its position. Lets a caller hand over the numbers it already has instead of
/// building a map in JS. Keys are whole numbers below 2^53.
/// Writes into `out`, as long as `cred_keys`.
pub fn join_user_keys(user_keys: &[f64], cred_keys: &[f64], out: &mut [u32]) -> Result<()> {
    column_len("output", out.len(), cred_keys.len())?;
    const SAFE: f64 = 9_007_199_254_740_991.0;
    // Through i64 (one instruction each way on x86-64; u64 takes a branchy sequence): keys are
    // below 2^53, and anything larger or not whole fails the round trip or the bounds.
    let whole = |v: f64| ((v as i64) as f64 == v) & (0.0..=SAFE).contains(&v);
    let not_a_key = |field: &str, i: usize, v: f64| {
        Error::invalid(format!("{field}[{i}]"), format!("{v} is not a whole user key below 2^53"))
    };
    let n = user_keys.len();
    let mut keys = Vec::with_capacity(n);
    for (i, &v) in user_keys.iter().enumerate() {
        if !whole(v) {
            return Err(not_a_key("users.key", i, v));
        }
        keys.push(v as i64 as u64);
    }
    let (min, max) = keys.iter().fold((u64::MAX, 0), |(lo, hi), &k| (lo.min(k), hi.max(k)));
    let duplicate = |i: usize| Error::invalid(format!("users.key[{i}]"), "appears twice in the page");
    // The first row that is not a key, or whose key is not a user's.
    let row_error = |r: usize, v: f64| {
        if whole(v) {
            Error::invalid(format!("credentials.userKey[{r}]"), format!("{v} is not one of users.key"))
        } else {
            not_a_key("credentials.userKey", r, v)
        }
    };
    // Pages of consecutive ids (keyset paging) index a table directly; anything else hashes.
    if n > 0 && max - min <= 4 * n as u64 + 1024 {
        let mut table = vec![u32::MAX; (max - min) as usize + 1];
        for (i, &k) in keys.iter().enumerate() {
            let slot = &mut table[(k - min) as usize];
            if *slot != u32::MAX {
                return Err(duplicate(i));
            }
            *slot = i as u32;
        }
        // A row that is not whole, or not in the table, is only noted: the loop stays a plain
        // lookup, and the first such row is found again for its error.
        let mut missed = false;
        for (&v, o) in cred_keys.iter().zip(out.iter_mut()) {
            let i = table.get((v as i64 as u64).wrapping_sub(min) as usize).copied().unwrap_or(u32::MAX);
            missed |= (i == u32::MAX) | !whole(v);
            *o = i;
        }
        if missed {
            let r = out.iter().zip(cred_keys).position(|(&i, &v)| i == u32::MAX || !whole(v)).unwrap_or(0);
            return Err(row_error(r, cred_keys[r]));
        }
    } else {
        let mut index: HashMap<u64, u32, BuildHasherDefault<KeyHasher>> =
            HashMap::with_capacity_and_hasher(n, Default::default());
        for (i, &k) in keys.iter().enumerate() {
            if index.insert(k, i as u32).is_some() {
                return Err(duplicate(i));
            }
        }
        for (r, (&v, o)) in cred_keys.iter().zip(out.iter_mut()).enumerate() {
            *o = index.get(&(v as i64 as u64)).copied().filter(|_| whole(v)).ok_or_else(|| row_error(r, v))?;
        }
    }
    Ok(())
}

/// A multiplicative hash for integer keys: the keys are ids, not attacker-chosen strings, and SipHash
/// would cost more than the rest of the join.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, k: u64) {
        self.0 = k.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::ColumnPlan;

    #[test]
    fn user_keys_join_dense_and_sparse() {
        let join_user_keys = |u: &[f64], c: &[f64]| {
            let mut out = vec![0; c.len()];
            join_user_keys(u, c, &mut out).map(|_| out)
        };
        assert_eq!(join_user_keys(&[10.0, 11.0, 12.0], &[12.0, 10.0, 12.0]).unwrap(), [2, 0, 2]);
        assert_eq!(join_user_keys(&[1e12, 5.0], &[5.0, 1e12]).unwrap(), [1, 0]);
        let err = |u: &[f64], c: &[f64]| join_user_keys(u, c).unwrap_err().to_string();
        assert!(err(&[1.0, 1.0], &[]).starts_with("users.key[1]"));
        assert!(err(&[1.0, 1e12, 1e12], &[]).starts_with("users.key[2]"));
        assert!(err(&[1.0], &[2.0]).starts_with("credentials.userKey[0]"));
        assert!(err(&[1.0], &[0.0]).starts_with("credentials.userKey[0]"));
        assert!(err(&[1.5], &[]).starts_with("users.key[0]"));
        assert!(err(&[f64::NAN], &[]).starts_with("users.key[0]"));
        assert!(err(&[1.0], &[-1.0]).starts_with("credentials.userKey[0]"));
        assert!(err(&[9_007_199_254_740_992.0], &[]).starts_with("users.key[0]"));
        // Past i64's range (where the conversion saturates), negative, infinite: none is a key.
        for v in [(1u64 << 63) as f64, 1e300, -1.0, f64::INFINITY, f64::NEG_INFINITY] {
            assert!(err(&[v], &[]).starts_with("users.key[0]"), "{v}");
            for users in [&[1.0, 2.0][..], &[1.0, 1e12][..]] {
                assert!(err(users, &[v]).starts_with("credentials.userKey[0]"), "{v}");
            }
        }
        assert_eq!(join_user_keys(&[9_007_199_254_740_991.0, 0.0], &[0.0, 9_007_199_254_740_991.0]).unwrap(), [1, 0]);
        // The first bad row is named, for what is wrong with it, on both paths.
        for users in [&[1.0, 2.0][..], &[1.0, 1e12][..]] {
            let e = err(users, &[1.0, 7.0, 1.5]);
            assert!(e.starts_with("credentials.userKey[1]") && e.contains("not one of users.key"), "{e}");
            let e = err(users, &[1.0, 1.5, 7.0]);
            assert!(e.starts_with("credentials.userKey[1]") && e.contains("not a whole user key"), "{e}");
        }
    }

    #[test]
    fn texts_split_by_utf16_lengths() {
        let t = |text: &'static str, lengths: &'static [f64]| Texts { text, lengths }.split("f");
        assert_eq!(t("abcde", &[2.0, 0.0, 3.0]).unwrap(), ["ab", "", "cde"]);
        // An emoji is two UTF-16 units, a CJK character one.
        assert_eq!(t("a😀中b", &[3.0, 1.0, 1.0]).unwrap(), ["a😀", "中", "b"]);
        let err = |r: Result<Vec<&str>>| r.unwrap_err().to_string();
        assert!(err(t("ab", &[1.0, -1.0, 1.0])).starts_with("f[1]: must be a string"));
        assert!(err(t("ab", &[1.0])).contains("disagree"));
        assert!(err(t("ab", &[3.0])).starts_with("f[0]"));
        assert!(err(t("a😀", &[2.0, 1.0])).contains("disagree"), "a length that ends inside a character");
        assert!(err(t("ab", &[0.5, 1.5])).starts_with("f[0]"));
    }

    #[test]
    fn string_user_ids_join_exactly() {
        let join = |u: &[&str], c: &[&str]| {
            let mut out = vec![0; c.len()];
            join_user_ids(u, c, &mut out).map(|_| out)
        };
        assert_eq!(join(&["b", "a", "a "], &["a", "a ", "b"]).unwrap(), [1, 2, 0]);
        let err = |u: &[&str], c: &[&str]| join(u, c).unwrap_err().to_string();
        assert!(err(&["a", "a"], &[]).starts_with("users.ids[1]: appears twice"));
        assert!(err(&["a", ""], &[]).starts_with("users.ids[1]"));
        assert!(err(&["a"], &["A"]).starts_with("credentials.userIds[0]"));
    }

    #[test]
    fn sizes_are_bounded_and_counts_match_their_columns_before_anything_is_allocated() {
        let input = |count: f64, excluded: Option<&'static [u8]>| ColumnsInput {
            options: r#"{"message":{"type":"template"},"now":1709344800000}"#,
            user_count: count,
            excluded,
            user_keys: None,
            user_ids: None,
            push_user: None,
            push_at: None,
            cred_user: Some(&[0]),
            cred_user_keys: None,
            cred_user_ids: None,
            cred_kind: &[0],
            cred_uses: &[1.0],
            cred_expire: &[1.8e12],
            cred_template: None,
            cred_ids: None,
        };
        // No output room at all: a refused size is refused before the outputs are even looked at.
        let mut none = ColumnPlan::default();
        let mut err = |i: ColumnsInput| plan_input_into(&i, &mut none.out()).unwrap_err().to_string();
        for count in [4e8, 1e9, (MAX_PAGE_USERS + 1) as f64] {
            let e = err(input(count, None));
            assert!(e.starts_with("users.count: ") && e.contains("more than a page's"), "{e}");
        }
        assert!(err(input(2.0, Some(&[0]))).starts_with("users.excluded: has 1 entries, expected 2"));
        assert!(err(input(f64::NAN, None)).starts_with("users.count: NaN is not a user count"));
        let mut room = ColumnPlan {
            choice: vec![0; 1],
            reason: vec![0; 1],
            not_before: vec![0.0; 1],
            uses_after: vec![0.0; 1],
            dead_rows: vec![0; 1],
            dead_reason: vec![0; 1],
        };
        assert_eq!(plan_input_into(&input(1.0, Some(&[0])), &mut room.out()).unwrap(), 0);
    }
}
