//! Subscribe-message templates, as getTemplateList answers them (GET /wxaapi/newtmpl/gettemplate,
//! https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/mp-message-management/subscribe-message/getTemplateList.html):
//! a template's keyword list read from its `content` (`会议时间:{{date2.DATA}}\n会议地点:{{thing1.DATA}}\n`)
//! with the enum values of its `keywordEnumValueList`, and the check of a message's data keys and
//! enum values against that list.
//!
//! WeChat's answer is read liberally (fields not used here are ignored, `type` a number or a
//! string, a `{{...}}` that is no `key.DATA` skipped); a template the caller hands back to
//! `buildSubscribeMessage` is the caller's input, read strictly.
//!
//! Owns the template's keyword list and that check; it may not build a body (`message`).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::credential::check_id;
use crate::error::{Error, Result};

/// getTemplateList's `type` for a long-term subscription (2 is one-time).
const LONG_TERM_TYPE: i64 = 3;
/// How many enum values an error message shows.
const SHOWN_VALUES: usize = 8;

/// One entry of getTemplateList's `data`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[serde(expecting = "a getTemplateList entry {priTmplId, content, title?, type?, keywordEnumValueList?}")]
pub struct ListedTemplate {
    pri_tmpl_id: Option<String>,
    content: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<TypeCode>,
    #[serde(default)]
    keyword_enum_value_list: Option<Vec<KeywordEnum>>,
}

/// `type`: documented as a number; Tencent Cloud's copy of the API writes it as a string.
#[derive(Debug, Deserialize)]
#[serde(untagged, expecting = "a template type, 2 or 3")]
enum TypeCode {
    Number(i64),
    Text(String),
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", expecting = "an object {keywordCode, enumValueList}")]
struct KeywordEnum {
    keyword_code: String,
    #[serde(default)]
    enum_value_list: Option<Vec<String>>,
}

/// A template as weapp-notify checks a message against it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[serde(expecting = "a template {templateId, keywords, title?, longTerm?} (parseTemplate's answer)")]
pub struct Template {
    pub template_id: String,
    #[serde(default)]
    pub title: Option<String>,
    /// getTemplateList's type 3.
    #[serde(default)]
    pub long_term: bool,
    pub keywords: Vec<Keyword>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, expecting = "a keyword {key, label?, enumValues?}")]
pub struct Keyword {
    /// The data key (`thing1`), its placeholder `{{thing1.DATA}}` without `.DATA`.
    pub key: String,
    /// The text before the placeholder on its line, without the colon (`会议地点`).
    #[serde(default)]
    pub label: Option<String>,
    /// The only values the keyword takes, when the template lists them.
    #[serde(default)]
    pub enum_values: Option<Vec<String>>,
}

/// A getTemplateList entry as a template; refused when it has no id or no keyword at all.
pub fn parse(entry: ListedTemplate) -> Result<Template> {
    let template_id = check_id("priTmplId", entry.pri_tmpl_id.as_deref())?;
    let mut keywords = keywords_of(&entry.content);
    if keywords.is_empty() {
        return Err(Error::invalid("content", "has no keyword placeholder like {{thing1.DATA}}"));
    }
    for e in entry.keyword_enum_value_list.into_iter().flatten() {
        let key = e.keyword_code.trim();
        let key = key.strip_suffix(".DATA").unwrap_or(key);
        // An enum code that names no keyword of the content says nothing to check against.
        let values = e.enum_value_list.filter(|v| !v.is_empty());
        if let Some(k) = keywords.iter_mut().find(|k| k.key == key) {
            k.enum_values = values;
        }
    }
    let long_term = match entry.kind {
        Some(TypeCode::Number(n)) => n == LONG_TERM_TYPE,
        Some(TypeCode::Text(s)) => s.trim() == LONG_TERM_TYPE.to_string(),
        None => false,
    };
    Ok(Template { template_id, title: entry.title, long_term, keywords })
}

/// The `{{key.DATA}}` placeholders of `content` in order, each once, with the label before it.
fn keywords_of(content: &str) -> Vec<Keyword> {
    let mut out: Vec<Keyword> = Vec::new();
    let mut rest = content;
    while let Some(open) = rest.find("{{") {
        let before = &rest[..open];
        let Some(close) = rest[open + 2..].find("}}") else { break };
        let inner = rest[open + 2..open + 2 + close].trim();
        rest = &rest[open + 2 + close + 2..];
        let Some(key) = inner.strip_suffix(".DATA") else { continue };
        let plain = !key.is_empty() && !key.contains(|c: char| c.is_whitespace() || c == '{' || c == '}');
        if plain && !out.iter().any(|k| k.key == key) {
            out.push(Keyword { key: key.to_owned(), label: label_of(before), enum_values: None });
        }
    }
    out
}

/// The last line of `before` (lines end in a newline, or in the two characters `\n` some copies
/// of the API write), without its colon.
fn label_of(before: &str) -> Option<String> {
    let line = before.rsplit('\n').next().unwrap_or(before);
    let line = line.rsplit("\\n").next().unwrap_or(line);
    let label = line.trim().trim_end_matches([':', '：']).trim();
    (!label.is_empty()).then(|| label.to_owned())
}

fn mismatch(field: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::TemplateMismatch { field: field.into(), reason: reason.into() }
}

impl Template {
    /// That the template is one to check against: its id the message's, its keys named once each.
    fn check(&self, template_id: &str) -> Result<()> {
        if self.template_id != template_id {
            return Err(mismatch(
                "template.templateId",
                format!("is {:?}, the message's templateId is {template_id:?}", self.template_id),
            ));
        }
        if self.keywords.is_empty() {
            return Err(Error::invalid("template.keywords", "is empty"));
        }
        let mut seen = BTreeSet::new();
        for (i, k) in self.keywords.iter().enumerate() {
            check_id(&format!("template.keywords[{i}].key"), Some(&k.key))?;
            if !seen.insert(k.key.as_str()) {
                return Err(Error::invalid(
                    format!("template.keywords[{i}].key"),
                    format!("{:?} is listed twice", k.key),
                ));
            }
            if k.enum_values.as_ref().is_some_and(Vec::is_empty) {
                return Err(Error::invalid(format!("template.keywords[{i}].enumValues"), "is empty"));
            }
        }
        Ok(())
    }

    /// The data's keys against the keyword list: the first key the template lacks, then the first
    /// keyword the data lacks, each refused at its `data.<key>`.
    pub fn check_keys<'a>(&self, template_id: &str, keys: impl Iterator<Item = &'a String> + Clone) -> Result<()> {
        self.check(template_id)?;
        let known = || self.keywords.iter().map(|k| k.key.as_str()).collect::<Vec<_>>().join(", ");
        for key in keys.clone() {
            if !self.keywords.iter().any(|k| &k.key == key) {
                return Err(mismatch(
                    format!("data.{key}"),
                    format!("is not a keyword of template {template_id} (its keywords: {})", known()),
                ));
            }
        }
        let given: BTreeSet<&str> = keys.map(String::as_str).collect();
        match self.keywords.iter().find(|k| !given.contains(k.key.as_str())) {
            Some(k) => Err(mismatch(
                format!("data.{}", k.key),
                format!(
                    "is missing: template {template_id} has this keyword{}",
                    k.label.as_ref().map_or(String::new(), |l| format!(" ({l})"))
                ),
            )),
            None => Ok(()),
        }
    }

    /// The values keyword `key` is limited to, if the template lists them.
    pub fn enum_values(&self, key: &str) -> Option<&[String]> {
        self.keywords.iter().find(|k| k.key == key)?.enum_values.as_deref()
    }
}

/// `text` if it is one of the keyword's values; its type's rules are WeChat's list's to keep.
pub fn check_enum(values: &[String], text: String, field: &str) -> Result<String> {
    if values.contains(&text) {
        return Ok(text);
    }
    let mut shown: Vec<String> = values.iter().take(SHOWN_VALUES).map(|v| format!("{v:?}")).collect();
    if values.len() > SHOWN_VALUES {
        shown.push(format!("and {} more", values.len() - SHOWN_VALUES));
    }
    let got: String = text.chars().take(40).collect();
    Err(mismatch(field, format!("{got:?} is not one of the template's values ({})", shown.join(", "))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(json: &str) -> Result<Template> {
        parse(crate::wire::parse(json)?)
    }

    /// The second entry of getTemplateList's documented answer (getTemplateList.html, cited above),
    /// its enum list cut to three rooms.
    const WASHER: &str = r#"{"priTmplId":"cy_DfOZL7lypxHh3ja3DyAUbn1GYQRGwezuy5LBTFME","title":"洗衣机故障提醒",
        "content":"完成时间:{{time1.DATA}}\n所在位置:{{enum_string2.DATA}}\n提示说明:{{enum_string3.DATA}}\n",
        "example":"完成时间:2021年10月21日 12:00:00\n所在位置:客厅\n","type":3,
        "keywordEnumValueList":[{"enumValueList":["客厅","餐厅","厨房"],"keywordCode":"enum_string2.DATA"},
        {"enumValueList":["设备发生故障，导致工作异常，请及时查看"],"keywordCode":"enum_string3.DATA"}]}"#;

    #[test]
    fn the_documented_entries_give_their_keywords_labels_and_enum_values() {
        let t = listed(WASHER).unwrap();
        assert_eq!((t.template_id.as_str(), t.long_term), ("cy_DfOZL7lypxHh3ja3DyAUbn1GYQRGwezuy5LBTFME", true));
        let keys: Vec<_> = t.keywords.iter().map(|k| (k.key.as_str(), k.label.as_deref())).collect();
        assert_eq!(
            keys,
            [("time1", Some("完成时间")), ("enum_string2", Some("所在位置")), ("enum_string3", Some("提示说明"))]
        );
        assert_eq!(t.enum_values("enum_string2").unwrap(), ["客厅", "餐厅", "厨房"]);
        assert_eq!(t.enum_values("time1"), None);
        let first = r#"{"priTmplId":"9Aw5ZV1j9xdWTFEkqCpZ7mIBbSC34khK55OtzUPl0rU","title":"报名结果通知",
            "content":"会议时间:{{date2.DATA}}\n会议地点:{{thing1.DATA}}\n","example":"x","type":2}"#;
        let t = listed(first).unwrap();
        assert!(!t.long_term);
        assert_eq!(t.keywords.iter().map(|k| k.key.as_str()).collect::<Vec<_>>(), ["date2", "thing1"]);
    }

    #[test]
    fn wechat_is_read_liberally() {
        // Tencent Cloud's copy: `type` a string, lines ending in the two characters \n, keys
        // without digits, an enum code naming no keyword, and a field unknown here.
        let t = listed(
            r#"{"priTmplId":"T","content":"下单时间：{{date.DATA}}\\n状态: {{ phrase.DATA }}{{oops}}{{phrase.DATA}}",
            "type":"3","keywordEnumValueList":[{"keywordCode":"enum.DATA","enumValueList":["x"]},
            {"keywordCode":"phrase","enumValueList":[]}],"future":{"a":1}}"#,
        )
        .unwrap();
        assert!(t.long_term);
        let keys: Vec<_> =
            t.keywords.iter().map(|k| (k.key.as_str(), k.label.as_deref(), k.enum_values.is_some())).collect();
        assert_eq!(keys, [("date", Some("下单时间"), false), ("phrase", Some("状态"), false)]);
        let e = listed(r#"{"priTmplId":"T","content":"no keywords {{here}} {{"}"#).unwrap_err();
        assert_eq!(e.to_string(), "content: has no keyword placeholder like {{thing1.DATA}}");
        assert_eq!(listed(r#"{"content":"{{thing1.DATA}}"}"#).unwrap_err().code(), "ERR_EMPTY_VALUE");
        assert_eq!(listed(r#"{"priTmplId":"T"}"#).unwrap_err().to_string(), "content: is missing");
        let e = listed(r#"{"priTmplId":"T","content":"{{thing1.DATA}}","keywordEnumValueList":{}}"#).unwrap_err();
        assert!(e.to_string().starts_with("keywordEnumValueList: "), "{e}");
    }

    #[test]
    fn keys_are_checked_extra_first_then_missing() {
        let t = listed(WASHER).unwrap();
        let id = t.template_id.clone();
        let keys = |ks: &[&str]| ks.iter().map(|k| k.to_string()).collect::<Vec<_>>();
        let all = keys(&["enum_string2", "enum_string3", "time1"]);
        assert!(t.check_keys(&id, all.iter()).is_ok());
        let e = t.check_keys(&id, keys(&["time1", "thing9"]).iter()).unwrap_err();
        assert_eq!(
            (e.code(), e.to_string().starts_with("data.thing9: is not a keyword")),
            ("ERR_TEMPLATE_MISMATCH", true)
        );
        let e = t.check_keys(&id, keys(&["time1", "enum_string3"]).iter()).unwrap_err();
        assert_eq!(e.to_string(), format!("data.enum_string2: is missing: template {id} has this keyword (所在位置)"));
        let e = t.check_keys("other", all.iter()).unwrap_err();
        assert!(e.to_string().starts_with("template.templateId: "), "{e}");
        let twice = Template { keywords: [t.keywords.clone(), t.keywords.clone()].concat(), ..t.clone() };
        assert_eq!(
            twice.check_keys(&id, all.iter()).unwrap_err().to_string(),
            "template.keywords[3].key: \"time1\" is listed twice"
        );
    }

    #[test]
    fn enum_values_are_matched_exactly_and_shown_when_refused() {
        let values: Vec<String> = (0..10).map(|i| format!("v{i}")).collect();
        assert_eq!(check_enum(&values, "v3".into(), "data.phrase2").unwrap(), "v3");
        let e = check_enum(&values, "v3 ".into(), "data.phrase2").unwrap_err();
        assert_eq!(e.code(), "ERR_TEMPLATE_MISMATCH");
        assert!(e.to_string().starts_with("data.phrase2: \"v3 \" is not one of the template's values (\"v0\""), "{e}");
        assert!(e.to_string().ends_with("\"v7\", and 2 more)"), "{e}");
    }
}
