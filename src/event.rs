//! What a verified push says, read liberally: XML or JSON, `List` one object or an array,
//! `CreateTime` a number or a string, fields we do not use ignored. Three events matter to a
//! sender (developers.weixin.qq.com/miniprogram/dev/framework/open-ability/subscribe-message.html,
//! "订阅消息事件推送"):
//! - `subscribe_msg_popup_event`: the user's answer per template, from WeChat, not the client;
//! - `subscribe_msg_change_event`: the user turned templates off in settings (only rejects are pushed);
//! - `subscribe_msg_sent_event`: each sent message's fate, by `MsgID`.
//!
//! Any other push (a user's message, another event) is `other`: not an error, nothing to do.
//! Owns the reading of a push's content; it may not verify one (`push`) or keep state.

use quick_xml::events::Event as Xml;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::credential::grants_a_send;
use crate::error::{Error, Result};

/// The longest body the core reads (here, and in `push` before it verifies one): WeChat's event
/// pushes are a few hundred bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// XML nesting past this is no push of WeChat's (its events are three levels deep).
const MAX_DEPTH: usize = 8;
/// More entries than this in one `List` is no push of WeChat's (a popup shows at most 3 templates).
const MAX_ENTRIES: usize = 64;

#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Push {
    /// "popup", "change", "sent" or "other".
    pub kind: &'static str,
    pub openid: String,
    /// `CreateTime`, in ms.
    pub at: i64,
    /// WeChat's `Event` (or `MsgType` for a message), as sent.
    pub event: String,
    pub entries: Vec<Entry>,
}

#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub template_id: String,
    /// `SubscribeStatusString` (popup, change) or `ErrorStatus` (sent), as sent.
    pub status: String,
    /// Popup: whether the answer grants a send (the same accept rule as the client's result).
    /// Change: false (a reject ends the template's grants). Sent: whether it was delivered.
    pub grants: bool,
    /// Sent: the message's id as its exact digits, and WeChat's `ErrorCode` (0 delivered).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub msgid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<i64>,
}

fn refused(field: &str, reason: impl Into<String>) -> Error {
    Error::PushRefused { field: field.into(), reason: reason.into() }
}

/// A push's body as one JSON object: JSON as it is, XML as an object of its elements (text
/// elements as strings, repeated names as arrays).
pub fn document(body: &str) -> Result<Map<String, Value>> {
    if body.len() > MAX_BODY_BYTES {
        return Err(refused("body", format!("is over {MAX_BODY_BYTES} bytes")));
    }
    let trimmed = body.trim_start();
    let doc = if trimmed.starts_with('<') {
        xml_document(trimmed)?
    } else {
        serde_json::from_str::<Value>(trimmed).map_err(|e| refused("body", format!("is neither XML nor JSON ({e})")))?
    };
    match doc {
        Value::Object(map) => Ok(map),
        _ => Err(refused("body", "is not an object")),
    }
}

fn xml_document(text: &str) -> Result<Value> {
    let mut reader = quick_xml::Reader::from_str(text);
    let bad = |e: &dyn std::fmt::Display| refused("body", format!("is not well-formed XML ({e})"));
    // (name, children, text) per open element; the root's content is what we answer.
    let mut stack: Vec<(String, Map<String, Value>, String)> = vec![];
    loop {
        match reader.read_event().map_err(|e| bad(&e))? {
            Xml::Start(e) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(refused("body", "nests deeper than a push does"));
                }
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                stack.push((name, Map::new(), String::new()));
            }
            Xml::Empty(e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                if let Some((_, children, _)) = stack.last_mut() {
                    add_child(children, name, Value::String(String::new()))?;
                }
            }
            Xml::Text(t) => {
                if let Some((_, _, s)) = stack.last_mut() {
                    s.push_str(&t.unescape().map_err(|e| bad(&e))?);
                }
            }
            Xml::CData(c) => {
                if let Some((_, _, s)) = stack.last_mut() {
                    s.push_str(&String::from_utf8_lossy(&c.into_inner()));
                }
            }
            Xml::End(_) => {
                let (name, children, text) = stack.pop().ok_or_else(|| bad(&"an end with no start"))?;
                let value =
                    if children.is_empty() { Value::String(text.trim().into()) } else { Value::Object(children) };
                match stack.last_mut() {
                    Some((_, parent, _)) => add_child(parent, name, value)?,
                    None => return Ok(value),
                }
            }
            Xml::Eof => return Err(bad(&"it ends inside an element")),
            // Declarations, comments, processing instructions and DOCTYPEs say nothing we read
            // (quick-xml expands no entity a DOCTYPE declares).
            _ => {}
        }
    }
}

fn add_child(parent: &mut Map<String, Value>, name: String, value: Value) -> Result<()> {
    match parent.get_mut(&name) {
        None => {
            parent.insert(name, value);
        }
        Some(Value::Array(list)) => {
            if list.len() >= MAX_ENTRIES {
                return Err(refused("body", format!("repeats {name} more than {MAX_ENTRIES} times")));
            }
            list.push(value)
        }
        Some(first) => {
            let first = first.take();
            parent.insert(name, Value::Array(vec![first, value]));
        }
    }
    Ok(())
}

/// The safe mode's `Encrypt` text, from an XML or JSON envelope.
pub fn encrypted_field(body: &str) -> Result<String> {
    text_of(&document(body)?, "Encrypt")?.ok_or_else(|| refused("Encrypt", "is missing from a safe-mode push"))
}

/// A field as text: WeChat writes numbers as strings in some pushes and as numbers in others.
fn text_of(map: &Map<String, Value>, key: &str) -> Result<Option<String>> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        // serde_json keeps an integer below 2^64 exact, so a MsgID sent as a bare number keeps its digits.
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(refused(key, "is not text or a number")),
    }
}

fn required(map: &Map<String, Value>, key: &str) -> Result<String> {
    text_of(map, key)?.filter(|s| !s.is_empty()).ok_or_else(|| refused(key, "is missing"))
}

/// Reads a verified push's text.
pub fn parse(body: &str) -> Result<Push> {
    let doc = document(body)?;
    let openid = required(&doc, "FromUserName")?;
    let created = required(&doc, "CreateTime")?;
    let at = crate::clock::ms_of_epoch_seconds(&created)
        .ok_or_else(|| refused("CreateTime", "is not whole seconds since 1970"))?;
    let event = text_of(&doc, "Event")?.or(text_of(&doc, "MsgType")?).unwrap_or_default();
    let (kind, wrapper) = match event.as_str() {
        "subscribe_msg_popup_event" => ("popup", "SubscribeMsgPopupEvent"),
        "subscribe_msg_change_event" => ("change", "SubscribeMsgChangeEvent"),
        "subscribe_msg_sent_event" => ("sent", "SubscribeMsgSentEvent"),
        _ => return Ok(Push { kind: "other", openid, at, event, entries: vec![] }),
    };
    // XML wraps the list in an element named for the event; JSON puts `List` at the top.
    let list = match doc.get(wrapper) {
        Some(Value::Object(w)) => w.get("List"),
        _ => doc.get("List"),
    };
    let items: Vec<&Value> = match list {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(v @ Value::Object(_)) => vec![v],
        _ => return Err(refused("List", "is missing")),
    };
    if items.len() > MAX_ENTRIES {
        return Err(refused("List", format!("has more than {MAX_ENTRIES} entries")));
    }
    let entries = items.into_iter().enumerate().map(|(i, item)| entry(kind, i, item)).collect::<Result<_>>()?;
    Ok(Push { kind, openid, at, event, entries })
}

fn entry(kind: &str, i: usize, item: &Value) -> Result<Entry> {
    let item = item.as_object().ok_or_else(|| refused(&format!("List[{i}]"), "is not an object"))?;
    let at = |e: Error| match e {
        Error::PushRefused { field, reason } => Error::PushRefused { field: format!("List[{i}].{field}"), reason },
        e => e,
    };
    let template_id = required(item, "TemplateId").map_err(at)?;
    if kind != "sent" {
        let status = required(item, "SubscribeStatusString").map_err(at)?;
        let grants = kind == "popup" && grants_a_send(&status);
        return Ok(Entry { template_id, status, grants, msgid: None, error_code: None });
    }
    let msgid = required(item, "MsgID").map_err(at)?;
    if !msgid.bytes().all(|b| b.is_ascii_digit()) || msgid.len() > 20 {
        return Err(at(refused("MsgID", "is not a message id's digits")));
    }
    let error_code = required(item, "ErrorCode")
        .map_err(at)?
        .parse::<i64>()
        .map_err(|_| at(refused("ErrorCode", "is not a whole number")))?;
    let status = text_of(item, "ErrorStatus").map_err(at)?.unwrap_or_default();
    Ok(Entry { template_id, status, grants: error_code == 0, msgid: Some(msgid), error_code: Some(error_code) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pages_popup_xml_gives_one_entry_per_list() {
        // The XML sample of the page's 订阅消息事件推送 section.
        let xml = r#"<xml><ToUserName><![CDATA[gh_123456789abc]]></ToUserName>
<FromUserName><![CDATA[otFpruAK8D-E6EfStSYonYSBZ8_4]]></FromUserName><CreateTime>1610969440</CreateTime>
<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe_msg_popup_event]]></Event>
<SubscribeMsgPopupEvent><List><TemplateId><![CDATA[VRR0UEO9VJOLs0MHlU0OilqX6MVFDwH3_3gz3Oc0NIc]]></TemplateId>
<SubscribeStatusString><![CDATA[accept]]></SubscribeStatusString><PopupScene>2</PopupScene></List>
<List><TemplateId><![CDATA[9nLIlbOQZC5Y89AZteFEux3WCXRRRG5Wfzkpssu4bLI]]></TemplateId>
<SubscribeStatusString><![CDATA[reject]]></SubscribeStatusString><PopupScene>2</PopupScene></List>
</SubscribeMsgPopupEvent></xml>"#;
        let p = parse(xml).unwrap();
        assert_eq!((p.kind, p.openid.as_str(), p.at), ("popup", "otFpruAK8D-E6EfStSYonYSBZ8_4", 1_610_969_440_000));
        let got: Vec<_> = p.entries.iter().map(|e| (e.template_id.as_str(), e.grants)).collect();
        assert_eq!(
            got,
            [
                ("VRR0UEO9VJOLs0MHlU0OilqX6MVFDwH3_3gz3Oc0NIc", true),
                ("9nLIlbOQZC5Y89AZteFEux3WCXRRRG5Wfzkpssu4bLI", false)
            ]
        );
    }

    #[test]
    fn json_list_is_one_object_or_an_array_and_create_time_a_number_or_a_string() {
        // The page: "若 List 只有一个对象,则只返回对象本身"; a community report shows CreateTime as a number.
        let one = r#"{"CreateTime":1688953684,"Event":"subscribe_msg_popup_event","FromUserName":"o8d",
            "List":{"PopupScene":"0","SubscribeStatusString":"acceptWithAlert","TemplateId":"BDc"},"MsgType":"event","ToUserName":"gh_x","New":1}"#;
        let p = parse(one).unwrap();
        assert_eq!((p.at, p.entries.len(), p.entries[0].grants), (1_688_953_684_000, 1, true));
        let many = r#"{"CreateTime":"1620973045","Event":"subscribe_msg_popup_event","FromUserName":"o7e",
            "List":[{"TemplateId":"a","SubscribeStatusString":"accept","PopupScene":"0"},{"TemplateId":"b","SubscribeStatusString":"reject"}]}"#;
        assert_eq!(parse(many).unwrap().entries.len(), 2);
    }

    #[test]
    fn sent_events_keep_the_msgid_digits_and_the_error_code() {
        let xml = "<xml><FromUserName>oX</FromUserName><CreateTime>1620963428</CreateTime><Event>subscribe_msg_sent_event</Event>\
            <SubscribeMsgSentEvent><List><TemplateId>T</TemplateId><MsgID>1700827132819554304</MsgID><ErrorCode>0</ErrorCode>\
            <ErrorStatus>success</ErrorStatus></List></SubscribeMsgSentEvent></xml>";
        let e = &parse(xml).unwrap().entries[0];
        assert_eq!((e.msgid.as_deref(), e.error_code, e.grants), (Some("1700827132819554304"), Some(0), true));
        // A bare JSON number past 2^53 keeps its digits.
        let json = r#"{"FromUserName":"oX","CreateTime":"1620963428","Event":"subscribe_msg_sent_event",
            "List":{"TemplateId":"T","MsgID":3121587219413188609,"ErrorCode":"10005","ErrorStatus":"fail"}}"#;
        let e = &parse(json).unwrap().entries[0];
        assert_eq!((e.msgid.as_deref(), e.error_code, e.grants), (Some("3121587219413188609"), Some(10005), false));
    }

    #[test]
    fn other_pushes_are_other_and_broken_ones_are_refused() {
        let text = "<xml><FromUserName>o</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content>hi</Content></xml>";
        assert_eq!(parse(text).unwrap().kind, "other");
        for bad in [
            "",
            "<xml>",
            "<xml><a></b></xml>",
            "[1]",
            "{\"CreateTime\":1}",
            "<xml><FromUserName>o</FromUserName><CreateTime>x</CreateTime></xml>",
            "{\"FromUserName\":\"o\",\"CreateTime\":1,\"Event\":\"subscribe_msg_sent_event\",\"List\":{\"TemplateId\":\"T\",\"MsgID\":\"1e5\",\"ErrorCode\":0}}",
            "{\"FromUserName\":\"o\",\"CreateTime\":1,\"Event\":\"subscribe_msg_change_event\"}",
        ] {
            assert_eq!(parse(bad).unwrap_err().code(), "ERR_PUSH_REFUSED", "{bad}");
        }
        let deep = format!("<xml>{}</xml>", "<a>".repeat(100));
        assert_eq!(parse(&deep).unwrap_err().code(), "ERR_PUSH_REFUSED");
        let wide = format!("<xml>{}</xml>", "<a>1</a>".repeat(100));
        assert_eq!(parse(&wide).unwrap_err().code(), "ERR_PUSH_REFUSED");
    }
}
