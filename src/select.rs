//! Which credential a send uses.
//! Owns the choice among one user's credentials; it may not know of pages or days (`plan`).

use serde::{Deserialize, Serialize};

use crate::credential::{Credential, CredentialKind};

/// What is being sent: a template message (needs a formId or prepay_id) or a subscribe message for
/// one template (needs a grant or long-term subscription for that template).
/// Read as an object's fields (`RawMessage`): serde's internally tagged enums also take an array
/// with the tag first, so that `message: ["template"]` would be a template message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", try_from = "RawMessage")]
pub enum MessageKind {
    Template,
    Subscribe {
        #[serde(rename = "templateId")]
        template_id: String,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", expecting = "\"template\" or \"subscribe\"")]
enum MessageType {
    Template,
    Subscribe,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[serde(expecting = "a message {type: \"template\"} or {type: \"subscribe\", templateId}")]
struct RawMessage {
    #[serde(rename = "type")]
    kind: MessageType,
    #[serde(default)]
    template_id: Option<String>,
}

impl TryFrom<RawMessage> for MessageKind {
    type Error = String;
    fn try_from(r: RawMessage) -> Result<Self, String> {
        match (r.kind, r.template_id) {
            (MessageType::Template, None) => Ok(MessageKind::Template),
            (MessageType::Template, Some(_)) => Err("templateId: is only for a subscribe message".into()),
            (MessageType::Subscribe, None) => Err("templateId: is missing".into()),
            (MessageType::Subscribe, Some(t)) if t.is_empty() => Err("templateId: is empty".into()),
            (MessageType::Subscribe, Some(template_id)) => Ok(MessageKind::Subscribe { template_id }),
        }
    }
}

impl MessageKind {
    /// Whether a credential of this kind can carry the message (the template is checked apart).
    pub fn fits_kind(&self, kind: CredentialKind) -> bool {
        match self {
            MessageKind::Template => {
                matches!(kind, CredentialKind::FormId | CredentialKind::PrepayId)
            }
            MessageKind::Subscribe { .. } => {
                matches!(kind, CredentialKind::Grant | CredentialKind::LongTerm)
            }
        }
    }

    /// The template a credential must be for, if the message is a subscribe message.
    pub fn template(&self) -> Option<&str> {
        match self {
            MessageKind::Template => None,
            MessageKind::Subscribe { template_id } => Some(template_id),
        }
    }

    pub fn accepts(&self, c: &Credential) -> bool {
        self.fits_kind(c.kind) && self.template().is_none_or(|t| c.template_id.as_deref() == Some(t))
    }
}

/// The credential to send with, as an index into `creds`: usable at `now` with `margin_ms` to spare,
/// of the right kind, first in spend order (`CredState::spend_key`). Ties after that go by
/// credential id, so the order of the input never matters.
pub fn select(creds: &[Credential], kind: &MessageKind, now: i64, margin_ms: i64) -> Option<usize> {
    creds
        .iter()
        .enumerate()
        .filter(|(_, c)| kind.accepts(c) && c.usable(now, margin_ms))
        .min_by_key(|(_, c)| (c.state().spend_key(), c.id.as_str()))
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_message_is_an_object_of_its_fields() {
        #[derive(Debug, Deserialize)]
        struct Input {
            message: MessageKind,
        }
        let read = |json: &str| {
            crate::wire::parse::<Input>(&format!(r#"{{"message":{json}}}"#))
                .map(|i| i.message)
                .map_err(|e| e.to_string())
        };
        assert_eq!(read(r#"{"type":"template"}"#), Ok(MessageKind::Template));
        assert_eq!(
            read(r#"{"type":"subscribe","templateId":"T"}"#),
            Ok(MessageKind::Subscribe { template_id: "T".into() })
        );
        for bad in [r#"["template"]"#, r#"["subscribe","T"]"#, r#"{"type":["template"]}"#, r#""template""#] {
            assert!(read(bad).is_err(), "{bad} is no message");
        }
        assert_eq!(
            read(r#"{"type":"template","templateId":"T"}"#),
            Err("message.templateId: is only for a subscribe message".into())
        );
        assert_eq!(read(r#"{"type":"subscribe"}"#), Err("message.templateId: is missing".into()));
        assert_eq!(read(r#"{"type":"subscribe","templateId":""}"#), Err("message.templateId: is empty".into()));
        assert!(read(r#"{"type":"subscribe","templateId":"T","x":1}"#).unwrap_err().contains("unknown field"));
    }

    use super::*;
    use crate::credential::SendEffect;

    fn cred(j: &str) -> Credential {
        serde_json::from_str(j).unwrap()
    }

    /// One user's credentials, each `(kind, id, usesLeft, expireAt)`.
    fn creds(rows: &[(&str, &str, u32, i64)]) -> Vec<Credential> {
        rows.iter()
            .map(|(kind, id, uses, expire)| {
                cred(&format!(r#"{{"kind":"{kind}","id":"{id}","userId":"u","usesLeft":{uses},"expireAt":{expire}}}"#))
            })
            .collect()
    }

    #[test]
    fn earliest_expiry_first_ties_by_kind_then_id() {
        let creds = creds(&[
            ("formId", "b", 1, 2000000),
            ("prepayId", "a", 3, 1000000),
            ("formId", "z", 1, 1000000),
            ("formId", "c", 1, 1000000),
        ]);
        assert_eq!(select(&creds, &MessageKind::Template, 0, 0), Some(3));
        let mut rev = creds.clone();
        rev.reverse();
        assert_eq!(rev[select(&rev, &MessageKind::Template, 0, 0).unwrap()].id, "c", "input order does not matter");
    }

    #[test]
    fn margin_and_uses_are_respected() {
        let creds = creds(&[("formId", "soon", 1, 1000), ("formId", "spent", 0, 5000), ("formId", "late", 1, 9000)]);
        assert_eq!(select(&creds, &MessageKind::Template, 0, 999), Some(0));
        assert_eq!(select(&creds, &MessageKind::Template, 0, 1000), Some(2), "dies within the margin");
        assert_eq!(select(&creds, &MessageKind::Template, 8000, 1000), None);
    }

    #[test]
    fn prepay_serves_three_sends_then_stops() {
        let mut creds = vec![cred(r#"{"kind":"prepayId","id":"p","userId":"u","usesLeft":3,"expireAt":9000}"#)];
        for _ in 0..3 {
            let i = select(&creds, &MessageKind::Template, 0, 0).expect("a use left");
            creds[i] = creds[i].after(SendEffect::Consume);
        }
        assert_eq!(select(&creds, &MessageKind::Template, 0, 0), None, "no fourth send");
    }

    #[test]
    fn subscribe_needs_a_grant_for_its_template() {
        let creds = [
            cred(r#"{"kind":"formId","id":"f","userId":"u","usesLeft":1,"expireAt":9000}"#),
            cred(r#"{"kind":"grant","id":"T1","templateId":"T1","userId":"u","usesLeft":2}"#),
            cred(r#"{"kind":"longTerm","id":"T2","templateId":"T2","userId":"u","usesLeft":null}"#),
            cred(r#"{"kind":"grant","id":"T2","templateId":"T2","userId":"u","usesLeft":1}"#),
        ];
        let sub = |t: &str| MessageKind::Subscribe { template_id: t.into() };
        assert_eq!(select(&creds, &sub("T1"), 0, 0), Some(1));
        assert_eq!(select(&creds, &sub("T2"), 0, 0), Some(2), "long-term first: it costs nothing");
        assert_eq!(select(&creds, &sub("T3"), 0, 0), None);
        assert_eq!(select(&creds, &MessageKind::Template, 0, 0), Some(0));
    }
}
