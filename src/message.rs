//! Request bodies for templateMessage.send and subscribeMessage.send, built only from values WeChat
//! accepts: each subscribe value is checked by its key's type before anything is sent.
//!
//! Lengths count grapheme clusters (what a person sees as one character): `中` is 1, `👍🏽` is 1,
//! `👨‍👩‍👧` is 1. WeChat does not document how it counts emoji, and counting fewer is the safe side
//! for nothing but emoji-heavy text.
//!
//! Owns the send bodies and the value checks; it may not decide an outcome or read a template's
//! list (`template` does).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::format::{Item, StrftimeItems};
use serde::{de, Deserialize, Deserializer, Serialize};
use unicode_segmentation::UnicodeSegmentation;

use crate::clock::{js_value_name, Millis, UtcOffset, DATE_TAG, JS_TAG};
use crate::credential::{check_form_id, check_id, UserId};
use crate::error::{Error, Result};
use crate::template::{self, Template};

pub const TEMPLATE_SEND_PATH: &str = "/cgi-bin/message/wxopen/template/send";
pub const SUBSCRIBE_SEND_PATH: &str = "/cgi-bin/message/subscribe/send";

/// WeChat's own examples: `2019年10月1日 15:01` and `2019年10月1日`.
pub const DEFAULT_TIME_FORMAT: &str = "%Y年%-m月%-d日 %H:%M";
pub const DEFAULT_DATE_FORMAT: &str = "%Y年%-m月%-d日";
const MAX_PAGE_CHARS: usize = 1024;
const MAX_TEMPLATE_VALUE_CHARS: usize = 1000;

/// A value as the caller gave it.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Text(String),
    Number(serde_json::Number),
    Date(Millis),
}

/// One `data` entry: a bare value, or `{ value, color? }` as WeChat writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct DataItem {
    pub value: Input,
    pub color: Option<String>,
}

struct ItemVisitor {
    nested: bool,
}

impl<'de> de::Visitor<'de> for ItemVisitor {
    type Value = DataItem;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a string, a number, a Date or { value, color? }")
    }
    fn visit_str<E: de::Error>(self, s: &str) -> std::result::Result<DataItem, E> {
        Ok(DataItem { value: Input::Text(s.to_owned()), color: None })
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<DataItem, E> {
        Ok(DataItem { value: Input::Number(v.into()), color: None })
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<DataItem, E> {
        Ok(DataItem { value: Input::Number(v.into()), color: None })
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<DataItem, E> {
        let n = serde_json::Number::from_f64(v).ok_or_else(|| E::custom(format!("{v} is not a finite number")))?;
        Ok(DataItem { value: Input::Number(n), color: None })
    }
    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> std::result::Result<DataItem, A::Error> {
        let mut item = DataItem { value: Input::Text(String::new()), color: None };
        let mut has_value = false;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                DATE_TAG if !has_value => {
                    let ms: f64 = map.next_value()?;
                    item.value = Input::Date(Millis::from_f64(ms).map_err(de::Error::custom)?);
                    return Ok(item);
                }
                // NaN, Infinity, an invalid Date: read as the text they would print, which every
                // value refuses as a JS mistake (`is_stringified_js`); a BigInt is refused here.
                JS_TAG if !has_value => {
                    let text: String = map.next_value()?;
                    if !is_stringified_js(&text) {
                        return Err(de::Error::custom(format!("{} is not a value to send", js_value_name(&text))));
                    }
                    item.value = Input::Text(text);
                    return Ok(item);
                }
                "value" if !self.nested => {
                    item.value = map.next_value_seed(ItemSeed)?.value;
                    has_value = true;
                }
                "color" if !self.nested => item.color = Some(map.next_value()?),
                other => {
                    return Err(de::Error::custom(format!(
                        "unknown key {other:?} (a value is a string, number, Date or {{ value, color? }})"
                    )))
                }
            }
        }
        if !has_value {
            return Err(de::Error::custom("missing value"));
        }
        Ok(item)
    }
}

struct ItemSeed;
impl<'de> de::DeserializeSeed<'de> for ItemSeed {
    type Value = DataItem;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<DataItem, D::Error> {
        d.deserialize_any(ItemVisitor { nested: true })
    }
}

impl<'de> Deserialize<'de> for DataItem {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_any(ItemVisitor { nested: false })
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Overflow {
    #[default]
    Error,
    /// Cut free text (thing, name, character_string) to its limit with an ellipsis inside it.
    Truncate,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum UnknownKeys {
    #[default]
    Error,
    /// Send keys of undocumented types unchecked (a newer type WeChat added).
    PassThrough,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MiniprogramState {
    Developer,
    Trial,
    #[default]
    Formal,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Lang {
    #[default]
    #[serde(rename = "zh_CN")]
    ZhCn,
    #[serde(rename = "en_US")]
    EnUs,
    #[serde(rename = "zh_HK")]
    ZhHk,
    #[serde(rename = "zh_TW")]
    ZhTw,
}

/// How a Date (or epoch-ms number) is written for `time` and `date` keys: chrono strftime patterns.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Formats {
    pub time: String,
    pub date: String,
}

impl Default for Formats {
    fn default() -> Self {
        Formats { time: DEFAULT_TIME_FORMAT.into(), date: DEFAULT_DATE_FORMAT.into() }
    }
}

/// Options shared by both message kinds.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ValueOptions {
    pub utc_offset: UtcOffset,
    pub formats: Formats,
    pub overflow: Overflow,
    pub unknown_keys: UnknownKeys,
}

/// A recipient's openid: a string (a number is no openid), held to the id rule.
fn openid<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<UserId, D::Error> {
    let s = String::deserialize(d)?;
    crate::credential::check_id("", Some(&s))
        .map(UserId)
        .map_err(|e| de::Error::custom(e.to_string().trim_start_matches(": ")))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[serde(expecting = "an object {touser, templateId, page?, data, miniprogramState?, lang?, options?, template?}")]
pub struct SubscribeMessage {
    #[serde(deserialize_with = "openid")]
    pub touser: UserId,
    pub template_id: Option<String>,
    pub page: Option<String>,
    pub data: BTreeMap<String, DataItem>,
    #[serde(default)]
    pub miniprogram_state: MiniprogramState,
    #[serde(default)]
    pub lang: Lang,
    #[serde(default)]
    pub options: ValueOptions,
    /// The template the data must fit: its keywords exactly, its enum values only.
    pub template: Option<Template>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[serde(
    deny_unknown_fields,
    expecting = "an object {touser, templateId, formId, page?, data, emphasisKeyword?, options?}"
)]
pub struct TemplateMessage {
    #[serde(deserialize_with = "openid")]
    pub touser: UserId,
    pub template_id: Option<String>,
    pub form_id: Option<String>,
    pub page: Option<String>,
    pub data: BTreeMap<String, DataItem>,
    pub emphasis_keyword: Option<String>,
    #[serde(default)]
    pub options: ValueOptions,
}

#[derive(Serialize)]
struct Value<'a> {
    value: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    color: Option<&'a str>,
}

#[derive(Serialize)]
struct SubscribeBody<'a> {
    touser: &'a str,
    template_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    page: Option<&'a str>,
    data: BTreeMap<&'a str, Value<'a>>,
    miniprogram_state: MiniprogramState,
    lang: Lang,
}

#[derive(Serialize)]
struct TemplateBody<'a> {
    touser: &'a str,
    template_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    page: Option<&'a str>,
    form_id: &'a str,
    data: BTreeMap<&'a str, Value<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    emphasis_keyword: Option<&'a str>,
}

/// The documented value types of subscribe messages: the letters of a key before its digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    Thing,
    Number,
    Letter,
    Symbol,
    CharacterString,
    Time,
    Date,
    Amount,
    PhoneNumber,
    CarNumber,
    Name,
    Phrase,
}

impl KeyType {
    pub fn of_key(key: &str) -> Option<KeyType> {
        let name = key.trim_end_matches(|c: char| c.is_ascii_digit());
        if name.len() == key.len() {
            return None;
        }
        Some(match name {
            "thing" => KeyType::Thing,
            "number" => KeyType::Number,
            "letter" => KeyType::Letter,
            "symbol" => KeyType::Symbol,
            "character_string" => KeyType::CharacterString,
            "time" => KeyType::Time,
            "date" => KeyType::Date,
            "amount" => KeyType::Amount,
            "phone_number" => KeyType::PhoneNumber,
            "car_number" => KeyType::CarNumber,
            "name" => KeyType::Name,
            "phrase" => KeyType::Phrase,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            KeyType::Thing => "thing",
            KeyType::Number => "number",
            KeyType::Letter => "letter",
            KeyType::Symbol => "symbol",
            KeyType::CharacterString => "character_string",
            KeyType::Time => "time",
            KeyType::Date => "date",
            KeyType::Amount => "amount",
            KeyType::PhoneNumber => "phone_number",
            KeyType::CarNumber => "car_number",
            KeyType::Name => "name",
            KeyType::Phrase => "phrase",
        }
    }

    /// The most characters a value may have, if the type has a plain length limit.
    fn limit(self, s: &str) -> Option<usize> {
        match self {
            KeyType::Thing => Some(20),
            KeyType::Number | KeyType::Letter | KeyType::CharacterString => Some(32),
            KeyType::Symbol | KeyType::Phrase => Some(5),
            KeyType::PhoneNumber => Some(17),
            KeyType::CarNumber => Some(8),
            // Mixed text counts as Chinese.
            KeyType::Name => Some(if s.chars().any(is_chinese) { 10 } else { 20 }),
            KeyType::Time | KeyType::Date | KeyType::Amount => None,
        }
    }

    /// Free text, where cutting keeps the meaning readable; never numbers, amounts, times, plates.
    fn truncatable(self) -> bool {
        matches!(self, KeyType::Thing | KeyType::Name | KeyType::CharacterString)
    }

    fn ellipsis(self) -> &'static str {
        // character_string allows no Chinese punctuation: its ellipsis is ASCII.
        if self == KeyType::CharacterString {
            "..."
        } else {
            "…"
        }
    }

    /// Whether the characters and shape of `s` fit the type (length is checked apart).
    fn check_shape(self, s: &str) -> std::result::Result<(), String> {
        let all = |ok: fn(char) -> bool, what: &str| match s.chars().find(|&c| !ok(c)) {
            None => Ok(()),
            Some(c) => Err(format!("{c:?} is not allowed: {what}")),
        };
        match self {
            KeyType::Thing | KeyType::Name => all(|c| !c.is_control(), "no control characters"),
            KeyType::Number => {
                let mut parts = s.split('.');
                let ok =
                    parts.clone().count() <= 2 && parts.all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
                if ok {
                    Ok(())
                } else {
                    Err("only digits, with at most one decimal point".into())
                }
            }
            KeyType::Letter => all(|c| c.is_ascii_alphabetic(), "letters only"),
            KeyType::Symbol => all(|c| !c.is_alphanumeric() && !c.is_whitespace() && !c.is_control(), "symbols only"),
            KeyType::CharacterString => all(|c| c.is_ascii_graphic(), "digits, letters and ASCII symbols only"),
            KeyType::PhoneNumber => all(|c| c.is_ascii_digit() || c.is_ascii_punctuation(), "digits and symbols only"),
            KeyType::Phrase => all(is_chinese, "Chinese characters only"),
            KeyType::CarNumber => {
                let n = s.chars().count();
                for (i, c) in s.chars().enumerate() {
                    let edge = i == 0 || i + 1 == n;
                    if !(c.is_ascii_alphanumeric() || (edge && is_chinese(c))) {
                        return Err(format!("{c:?} is not allowed: letters and digits, Chinese only first or last"));
                    }
                }
                Ok(())
            }
            KeyType::Amount => check_amount(s),
            KeyType::Time => check_range(s, check_time_part),
            KeyType::Date => check_range(s, check_date_part),
        }
    }
}

fn is_chinese(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2EBEF | 0x30000..=0x3134F)
}

const CURRENCY_SYMBOLS: &[char] = &['¥', '￥', '$', '€', '£', '₩', '₹', '₽', '฿'];

fn check_amount(s: &str) -> std::result::Result<(), String> {
    let body = s.strip_suffix('元').unwrap_or(s);
    let body = body.strip_prefix(CURRENCY_SYMBOLS).unwrap_or(body);
    let digits = body.bytes().filter(u8::is_ascii_digit).count();
    let mut parts = body.split('.');
    let shaped = parts.clone().count() <= 2 && parts.all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if !shaped {
        return Err("one currency symbol, digits with at most one decimal point, optionally 元 at the end".into());
    }
    if digits > 10 {
        return Err(format!("{digits} digits, the limit is 10"));
    }
    Ok(())
}

fn check_range(s: &str, part: fn(&str) -> bool) -> std::result::Result<(), String> {
    let parts: Vec<&str> = s.split('~').map(str::trim).collect();
    if parts.len() <= 2 && parts.iter().all(|p| part(p)) {
        Ok(())
    } else {
        Err("not a 24-hour time or date WeChat reads (15:01, 2019年10月1日 15:01, 2019-10-01; ranges joined by ~)"
            .into())
    }
}

fn num(s: &str, min_len: usize, max_len: usize, lo: u32, hi: u32) -> bool {
    (min_len..=max_len).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_digit())
        && s.parse::<u32>().is_ok_and(|v| (lo..=hi).contains(&v))
}

/// `H:MM`, `HH:MM` or `HH:MM:SS`, 24-hour.
fn check_clock(s: &str) -> bool {
    let p: Vec<&str> = s.split(':').collect();
    matches!(p.len(), 2 | 3) && num(p[0], 1, 2, 0, 23) && p[1..].iter().all(|x| num(x, 2, 2, 0, 59))
}

/// A leading date (`2019年10月1日`, `2019-10-01`, `2019/10/01`) and what follows it.
fn split_date(s: &str) -> Option<&str> {
    let ymd = |y: &str, m: &str, d: &str| num(y, 4, 4, 1, 9999) && num(m, 1, 2, 1, 12) && num(d, 1, 2, 1, 31);
    if let Some((y, rest)) = s.split_once('年') {
        let (m, rest) = rest.split_once('月')?;
        let (d, rest) = rest.split_once('日')?;
        return ymd(y, m, d).then_some(rest);
    }
    let sep = if s.get(4..5) == Some("/") { '/' } else { '-' };
    let end = s.find(' ').unwrap_or(s.len());
    let mut it = s[..end].split(sep);
    let (y, m, d) = (it.next()?, it.next()?, it.next()?);
    (it.next().is_none() && ymd(y, m, d)).then_some(&s[end..])
}

fn check_time_part(p: &str) -> bool {
    match split_date(p) {
        Some(rest) => check_clock(rest.trim_start()),
        None => check_clock(p),
    }
}

fn check_date_part(p: &str) -> bool {
    split_date(p).is_some_and(|rest| rest.is_empty() || check_clock(rest.trim_start()))
}

/// Values that are JS's stringified mistakes, never real text.
fn is_stringified_js(s: &str) -> bool {
    matches!(s, "undefined" | "null" | "NaN" | "Infinity" | "-Infinity" | "[object Object]" | "Invalid Date")
}

fn format_instant(ms: Millis, pattern: &str, off: UtcOffset, field: &str) -> Result<String> {
    use chrono::{Datelike, Timelike};
    let dt = chrono::DateTime::from_timestamp_millis(ms.0)
        .ok_or_else(|| Error::invalid(field, format!("{} is not a representable instant", ms.0)))?
        .with_timezone(&off.chrono());
    let mut out = String::new();
    // WeChat's own formats, written directly: a body is built per user per day.
    let written = match pattern {
        DEFAULT_TIME_FORMAT => {
            write!(out, "{}年{}月{}日 {:02}:{:02}", dt.year(), dt.month(), dt.day(), dt.hour(), dt.minute())
        }
        DEFAULT_DATE_FORMAT => write!(out, "{}年{}月{}日", dt.year(), dt.month(), dt.day()),
        _ => {
            let items: Vec<Item> = StrftimeItems::new(pattern).collect();
            if items.iter().any(|i| matches!(i, Item::Error)) {
                return Err(Error::invalid(field, format!("{pattern:?} is not a valid strftime pattern")));
            }
            write!(out, "{}", dt.format_with_items(items.into_iter()))
        }
    };
    written.map_err(|_| Error::invalid(field, format!("{pattern:?} cannot format this instant")))?;
    Ok(out)
}

/// Turns a caller's value into the exact text to send for a key of type `t` (None: unchecked).
fn render(item: &Input, t: Option<KeyType>, o: &ValueOptions, field: &str) -> Result<String> {
    let pattern = if t == Some(KeyType::Date) { &o.formats.date } else { &o.formats.time };
    match (item, t) {
        (Input::Text(s), _) => Ok(s.clone()),
        (Input::Date(ms), _) => format_instant(*ms, pattern, o.utc_offset, &format!("{field}: options.formats")),
        (Input::Number(n), Some(KeyType::Time | KeyType::Date)) => {
            let ms = n.as_f64().ok_or_else(|| Error::invalid(field, "not a number"))?;
            let ms = Millis::from_f64(ms).map_err(|reason| Error::InvalidTime { field: field.into(), reason })?;
            format_instant(ms, pattern, o.utc_offset, &format!("{field}: options.formats"))
        }
        (Input::Number(n), _) => Ok(n.to_string()),
    }
}

/// The grapheme clusters in `text` if there are more than `limit`. Counted only when the text has
/// more characters than that: a cluster is one character or more, so a shorter text fits (and
/// segmenting is most of the cost of building a message).
fn graphemes_over(text: &str, limit: usize) -> Option<usize> {
    if text.len() <= limit || text.chars().count() <= limit {
        return None;
    }
    Some(text.graphemes(true).count()).filter(|&n| n > limit)
}

/// Checks (and under `truncate`, cuts) a rendered value against its type.
fn fit(text: String, t: KeyType, o: &ValueOptions, field: &str) -> Result<String> {
    let invalid = |reason: String| Error::InvalidValue { field: field.into(), key_type: t.name().into(), reason };
    if text.is_empty() {
        return Err(invalid("is empty".into()));
    }
    if is_stringified_js(&text) {
        return Err(invalid(format!("{text:?} is a JS value stringified by mistake")));
    }
    t.check_shape(&text).map_err(invalid)?;
    let Some(limit) = t.limit(&text) else {
        return Ok(text);
    };
    let Some(length) = graphemes_over(&text, limit) else {
        return Ok(text);
    };
    if o.overflow == Overflow::Truncate && t.truncatable() {
        let ellipsis = t.ellipsis();
        let keep = limit - ellipsis.graphemes(true).count();
        let cut: String = text.graphemes(true).take(keep).collect();
        return Ok(format!("{}{ellipsis}", cut.trim_end()));
    }
    Err(Error::ValueTooLong { field: field.into(), key_type: t.name().into(), limit, length })
}

fn check_page(page: &Option<String>) -> Result<Option<&str>> {
    let Some(p) = page else { return Ok(None) };
    if let Some(i) = p.chars().position(char::is_control) {
        return Err(Error::ControlCharacter { field: "page".into(), position: i });
    }
    let length = p.chars().count();
    if p.is_empty() || length > MAX_PAGE_CHARS {
        return Err(Error::invalid("page", format!("must be 1..{MAX_PAGE_CHARS} characters, got {length}")));
    }
    Ok(Some(p.as_str()))
}

fn to_json<T: Serialize>(body: &T) -> Result<String> {
    serde_json::to_string(body).map_err(|e| Error::invalid("body", e.to_string()))
}

/// The subscribeMessage.send body, as the JSON string to POST.
pub fn build_subscribe(m: &SubscribeMessage) -> Result<String> {
    let template_id = check_id("templateId", m.template_id.as_deref())?;
    if let Some(t) = &m.template {
        t.check_keys(&template_id, m.data.keys())?;
    }
    let page = check_page(&m.page)?;
    let mut texts = BTreeMap::new();
    for (key, item) in &m.data {
        let field = format!("data.{key}");
        if item.color.is_some() {
            return Err(Error::invalid(format!("{field}.color"), "subscribe messages have no color"));
        }
        let text = match m.template.as_ref().and_then(|t| t.enum_values(key)) {
            Some(values) => template::check_enum(values, render(&item.value, None, &m.options, &field)?, &field)?,
            None => subscribe_value(key, &item.value, &m.options, &field)?,
        };
        texts.insert(key.as_str(), text);
    }
    if texts.is_empty() {
        return Err(Error::invalid("data", "is empty"));
    }
    let data = texts.iter().map(|(k, v)| (*k, Value { value: v, color: None })).collect();
    to_json(&SubscribeBody {
        touser: &m.touser.0,
        template_id: &template_id,
        page,
        data,
        miniprogram_state: m.miniprogram_state,
        lang: m.lang,
    })
}

/// A subscribe value as its key's type allows it.
fn subscribe_value(key: &str, value: &Input, o: &ValueOptions, field: &str) -> Result<String> {
    let t = KeyType::of_key(key);
    if t.is_none() && o.unknown_keys == UnknownKeys::Error {
        return Err(Error::UnknownKeyType {
            field: field.into(),
            key_type: key.trim_end_matches(|c: char| c.is_ascii_digit()).chars().take(40).collect(),
        });
    }
    let text = render(value, t, o, field)?;
    match t {
        Some(t) => fit(text, t, o, field),
        None => check_free_text(text, field),
    }
}

/// Text with no type to check it against: only what no message may carry.
fn check_free_text(text: String, field: &str) -> Result<String> {
    if let Some(i) = text.chars().position(|c| c.is_control() && c != '\n') {
        return Err(Error::ControlCharacter { field: field.into(), position: i });
    }
    if let Some(length) = graphemes_over(&text, MAX_TEMPLATE_VALUE_CHARS) {
        return Err(Error::TooLong { field: field.into(), length, limit: MAX_TEMPLATE_VALUE_CHARS });
    }
    if text.is_empty() || is_stringified_js(&text) {
        return Err(Error::invalid(
            field,
            format!("{:?} is not a value to send", text.chars().take(20).collect::<String>()),
        ));
    }
    Ok(text)
}

fn check_color(c: &str, field: &str) -> Result<()> {
    let hex = c.strip_prefix('#').filter(|h| matches!(h.len(), 3 | 6) && h.bytes().all(|b| b.is_ascii_hexdigit()));
    hex.map(|_| ()).ok_or_else(|| {
        Error::invalid(field, format!("{:?} is not a color like \"#173177\"", c.chars().take(20).collect::<String>()))
    })
}

/// The templateMessage.send body, as the JSON string to POST.
pub fn build_template(m: &TemplateMessage) -> Result<String> {
    let template_id = check_id("templateId", m.template_id.as_deref())?;
    let form_id = check_form_id("formId", m.form_id.as_deref())?;
    let page = check_page(&m.page)?;
    let mut texts = BTreeMap::new();
    for (key, item) in &m.data {
        let field = format!("data.{key}");
        let keyword =
            key.strip_prefix("keyword").is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if !keyword && m.options.unknown_keys == UnknownKeys::Error {
            return Err(Error::UnknownKeyType { field, key_type: key.chars().take(40).collect() });
        }
        if let Some(c) = &item.color {
            check_color(c, &format!("{field}.color"))?;
        }
        let text = check_free_text(render(&item.value, None, &m.options, &field)?, &field)?;
        texts.insert(key.as_str(), (text, item.color.as_deref()));
    }
    if texts.is_empty() {
        return Err(Error::invalid("data", "is empty"));
    }
    if let Some(e) = &m.emphasis_keyword {
        let named = e.strip_suffix(".DATA").is_some_and(|k| texts.contains_key(k));
        if !named {
            return Err(Error::invalid("emphasisKeyword", "must be \"<a data key>.DATA\", e.g. \"keyword1.DATA\""));
        }
    }
    let data = texts.iter().map(|(k, (v, color))| (*k, Value { value: v, color: *color })).collect();
    to_json(&TemplateBody {
        touser: &m.touser.0,
        template_id: &template_id,
        page,
        form_id: &form_id,
        data,
        emphasis_keyword: m.emphasis_keyword.as_deref(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(key: &str, v: &str, overflow: Overflow) -> Result<String> {
        let t = KeyType::of_key(key).unwrap();
        let o = ValueOptions { overflow, ..Default::default() };
        fit(render(&Input::Text(v.into()), Some(t), &o, key)?, t, &o, key)
    }

    fn ok(key: &str, v: &str) {
        assert_eq!(value(key, v, Overflow::Error).as_deref(), Ok(v), "{key}={v:?}");
    }

    fn code(key: &str, v: &str, overflow: Overflow) -> &'static str {
        value(key, v, overflow).expect_err(&format!("{key}={v:?} should fail")).code()
    }

    const TOO_LONG: &str = "ERR_VALUE_TOO_LONG";
    const BAD: &str = "ERR_INVALID_VALUE";

    #[test]
    fn thing() {
        ok("thing1", "已经连续答题7天,加油~");
        ok("thing1", &"中".repeat(20));
        assert_eq!(code("thing1", &"中".repeat(21), Overflow::Error), TOO_LONG);
        let cut = value("thing1", &"签到".repeat(15), Overflow::Truncate).unwrap();
        assert_eq!((cut.graphemes(true).count(), cut.ends_with('…')), (20, true));
        assert_eq!(code("thing1", "a\u{7}b", Overflow::Error), BAD);
        // Emoji count as one character each, family sequences included.
        ok("thing1", &"👨‍👩‍👧".repeat(20));
        assert_eq!(code("thing1", &"👍🏽".repeat(21), Overflow::Error), TOO_LONG);
        let e = value("thing2", &"x".repeat(25), Overflow::Error).unwrap_err();
        assert_eq!(e.to_string(), "thing2: thing value is 25 characters long, the limit is 20");
    }

    #[test]
    fn number() {
        ok("number1", "12345");
        ok("number1", "3.14");
        ok("number1", &"9".repeat(32));
        assert_eq!(code("number1", &"9".repeat(33), Overflow::Error), TOO_LONG);
        assert_eq!(code("number1", &"9".repeat(33), Overflow::Truncate), TOO_LONG, "numbers are never cut");
        for bad in ["1.2.3", "1e5", "-1", "12a", ".5", "五"] {
            assert_eq!(code("number1", bad, Overflow::Error), BAD, "{bad}");
        }
    }

    #[test]
    fn letter_and_symbol() {
        ok("letter1", "ABCdef");
        assert_eq!(code("letter1", &"a".repeat(33), Overflow::Truncate), TOO_LONG);
        assert_eq!(code("letter1", "abc1", Overflow::Error), BAD);
        ok("symbol1", "%$#");
        ok("symbol1", "※★");
        assert_eq!(code("symbol1", "%%%%%%", Overflow::Error), TOO_LONG);
        assert_eq!(code("symbol1", "%a", Overflow::Error), BAD);
        assert_eq!(code("symbol1", "% ", Overflow::Error), BAD);
    }

    #[test]
    fn character_string() {
        ok("character_string1", "ORDER-2019-001_A");
        assert_eq!(code("character_string1", "订单1", Overflow::Error), BAD);
        let cut = value("character_string1", &"A1".repeat(20), Overflow::Truncate).unwrap();
        assert_eq!((cut.len(), cut.ends_with("...")), (32, true));
        assert_eq!(code("character_string1", &"A".repeat(33), Overflow::Error), TOO_LONG);
    }

    #[test]
    fn time_and_date() {
        for v in [
            "15:01",
            "2019年10月1日 15:01",
            "2019-10-01 15:01",
            "2019年10月1日 15:01 ~ 2019年10月1日 17:00",
            "9:05",
            "15:01:59",
        ] {
            ok("time1", v);
        }
        for v in ["25:00", "15:1", "3pm", "2019年10月1日", "15:01~16:00~17:00", "2019年13月1日 10:00"] {
            assert_eq!(code("time1", v, Overflow::Truncate), BAD, "{v}");
        }
        for v in ["2019年10月1日", "2019-10-01", "2019/10/01", "2019年10月1日 15:01", "2019年10月1日 ~ 2019年10月3日"]
        {
            ok("date1", v);
        }
        for v in ["15:01", "10月1日", "2019-10-32", "yesterday"] {
            assert_eq!(code("date1", v, Overflow::Error), BAD, "{v}");
        }
    }

    #[test]
    fn dates_and_numbers_render_in_the_policy_zone() {
        let o = ValueOptions::default();
        // 2019-10-01T07:01:00Z is 15:01 in China.
        let ms = Input::Date(Millis(1_569_913_260_000));
        assert_eq!(render(&ms, Some(KeyType::Time), &o, "time1").unwrap(), "2019年10月1日 15:01");
        assert_eq!(render(&ms, Some(KeyType::Date), &o, "date1").unwrap(), "2019年10月1日");
        let n = Input::Number(1_569_913_260_000u64.into());
        assert_eq!(render(&n, Some(KeyType::Time), &o, "time1").unwrap(), "2019年10月1日 15:01");
        assert_eq!(render(&n, Some(KeyType::Number), &o, "number1").unwrap(), "1569913260000");
        let utc = ValueOptions {
            utc_offset: UtcOffset::parse("+00:00").unwrap(),
            formats: Formats { time: "%H:%M".into(), ..Formats::default() },
            ..o.clone()
        };
        assert_eq!(render(&ms, Some(KeyType::Time), &utc, "time1").unwrap(), "07:01");
        // The written-out defaults agree with chrono's own rendering of the same patterns.
        for (t, pattern) in [
            (1_569_913_260_000i64, DEFAULT_TIME_FORMAT),
            (1_700_000_000_000, DEFAULT_DATE_FORMAT),
            (0, DEFAULT_TIME_FORMAT),
        ] {
            let chrono = chrono::DateTime::from_timestamp_millis(t)
                .unwrap()
                .with_timezone(&UtcOffset::CHINA.chrono())
                .format(pattern)
                .to_string();
            assert_eq!(format_instant(Millis(t), pattern, UtcOffset::CHINA, "f").unwrap(), chrono);
        }
        let bad = ValueOptions { formats: Formats { time: "%Q".into(), ..Formats::default() }, ..o };
        assert_eq!(render(&ms, Some(KeyType::Time), &bad, "time1").unwrap_err().code(), "ERR_INVALID_ARGUMENT");
    }

    #[test]
    fn amount_phone_car() {
        for v in ["¥100.00", "100元", "$5", "¥1234567890", "￥99.9元"] {
            ok("amount1", v);
        }
        for v in ["¥12345678901", "100块", "¥¥5", "1.2.3", "", "元"] {
            assert!(value("amount1", v, Overflow::Truncate).is_err(), "{v}");
        }
        ok("phone_number1", "+86-13800138000");
        assert_eq!(code("phone_number1", "138001380001380013", Overflow::Truncate), TOO_LONG);
        assert_eq!(code("phone_number1", "call 110", Overflow::Error), BAD);
        ok("car_number1", "粤A12345");
        ok("car_number1", "粤A1234学");
        assert_eq!(code("car_number1", "粤A1234567", Overflow::Truncate), TOO_LONG, "plates are never cut");
        assert_eq!(code("car_number1", "A粤1234", Overflow::Error), BAD);
    }

    #[test]
    fn name_and_phrase() {
        ok("name1", "张三");
        ok("name1", &"a".repeat(20));
        assert_eq!(code("name1", "张三abcdefghij", Overflow::Error), TOO_LONG, "mixed counts as Chinese");
        let cut = value("name1", "欧阳娜娜欧阳娜娜欧阳娜娜", Overflow::Truncate).unwrap();
        assert_eq!(cut.chars().count(), 10);
        ok("phrase1", "已完成");
        assert_eq!(code("phrase1", "已经全部完成了", Overflow::Truncate), TOO_LONG);
        assert_eq!(code("phrase1", "done", Overflow::Error), BAD);
    }

    #[test]
    fn stringified_js_values_are_refused() {
        for v in ["undefined", "null", "NaN", "[object Object]"] {
            assert_eq!(code("thing1", v, Overflow::Error), BAD, "{v}");
        }
        assert_eq!(code("thing1", "", Overflow::Error), BAD);
    }

    #[test]
    fn truncation_always_fits_its_type() {
        for key in ["thing1", "name1", "character_string1"] {
            for len in 1..60 {
                for s in ["a", "中", "👍🏽", "A1-"] {
                    let v = s.repeat(len);
                    let t = KeyType::of_key(key).unwrap();
                    if t.check_shape(&v).is_err() {
                        continue;
                    }
                    let cut = value(key, &v, Overflow::Truncate).unwrap();
                    assert!(value(key, &cut, Overflow::Error).is_ok(), "{key}: {cut:?}");
                }
            }
        }
    }

    #[test]
    fn key_types() {
        assert_eq!(KeyType::of_key("character_string12"), Some(KeyType::CharacterString));
        assert_eq!(KeyType::of_key("thing"), None);
        assert_eq!(KeyType::of_key("shape3"), None);
    }
}
