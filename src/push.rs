//! WeChat's message push, checked before anything in it is believed: the plain mode's `signature`
//! (sha1 of the sorted token, timestamp and nonce), the safe mode's `msg_signature` (the same with
//! the `Encrypt` text) and its AES-256-CBC body with the appid inside, and the timestamp's age.
//! The pages: developers.weixin.qq.com/miniprogram/dev/framework/server-ability/message-push.html
//! and, for the safe mode's layout, the offiaccount's "消息加解密说明" (WeChat's WXBizMsgCrypt
//! samples). What the push says is `event`'s business; a nonce seen twice is the caller's window's
//! (JS keeps it, since the core keeps no state).
//! Owns the verification; it reads the body only through `event` (its `Encrypt` field), never
//! what the push says.

use aes::cipher::{block_padding::NoPadding, BlockDecryptMut, KeyIvInit};
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};

use crate::clock::Millis;
use crate::error::{Error, Result};
use crate::event::MAX_BODY_BYTES;

/// A push older or newer than this (by its `timestamp`) is refused unless the caller says otherwise.
pub const DEFAULT_MAX_AGE_MS: i64 = 5 * 60 * 1000;
const MAX_CONFIG_CHARS: usize = 128;

/// The app's push settings (the mini program's "消息推送" page) and the request WeChat made.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, expecting = "an object {token, query, body?, now, ...}")]
pub struct PushRequest {
    pub token: String,
    /// Safe mode's 43-character key; without it, an encrypted push is refused.
    #[serde(default)]
    pub encoding_aes_key: Option<String>,
    /// The appid the safe mode's body must name.
    #[serde(default)]
    pub app_id: Option<String>,
    /// The request's query string, as the HTTP framework parsed it: WeChat's own fields, read liberally.
    pub query: Query,
    /// The raw body text (POST); absent for the URL check (GET with `echostr`).
    #[serde(default)]
    pub body: Option<String>,
    pub now: Millis,
    #[serde(default = "default_max_age")]
    pub max_age_ms: i64,
}

fn default_max_age() -> i64 {
    DEFAULT_MAX_AGE_MS
}

/// WeChat's query fields; any others it adds (openid, ...) are ignored.
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct Query {
    pub signature: Option<String>,
    pub timestamp: Option<String>,
    pub nonce: Option<String>,
    pub msg_signature: Option<String>,
    pub encrypt_type: Option<String>,
    pub echostr: Option<String>,
}

#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Verified {
    /// "plain" or "safe".
    pub mode: &'static str,
    /// The push's text (decrypted in safe mode), for `parsePush`; for the URL check, `echostr`.
    pub body: String,
    /// What the URL check answers WeChat with (the `echostr`), when it is one.
    pub echostr: Option<String>,
    /// The push's instant (its `timestamp`, in ms) and nonce, for the caller's replay window.
    pub timestamp: i64,
    pub nonce: String,
}

fn sha1_hex(parts: &mut [&str]) -> String {
    parts.sort_unstable();
    let digest = Sha1::digest(parts.concat().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn config<'a>(field: &str, value: &'a str) -> Result<&'a str> {
    if value.is_empty() || value.chars().count() > MAX_CONFIG_CHARS {
        return Err(Error::invalid(field, format!("is a string of 1 to {MAX_CONFIG_CHARS} characters")));
    }
    Ok(value)
}

fn query_field<'a>(field: &str, value: &'a Option<String>) -> Result<&'a str> {
    value.as_deref().filter(|v| !v.is_empty() && v.len() <= MAX_CONFIG_CHARS).ok_or_else(|| Error::PushRefused {
        field: format!("query.{field}"),
        reason: "is missing or not a short string".into(),
    })
}

/// Checks a push and answers its trusted text; every refusal is `ERR_PUSH_REFUSED` naming what failed.
pub fn verify(r: &PushRequest) -> Result<Verified> {
    let token = config("token", &r.token)?;
    let key = r.encoding_aes_key.as_deref().map(AesKey::parse).transpose()?;
    let app_id = r.app_id.as_deref().map(|a| config("appId", a)).transpose()?;
    if r.max_age_ms < 1_000 || r.max_age_ms > 24 * 3_600_000 {
        return Err(Error::invalid("maxAgeMs", "is a whole number of ms from 1000 to 86400000"));
    }
    let q = &r.query;
    let timestamp = query_field("timestamp", &q.timestamp)?;
    let nonce = query_field("nonce", &q.nonce)?;
    let at = fresh(timestamp, r.now, r.max_age_ms)?;
    let body = r.body.as_deref();
    if body.is_some_and(|b| b.len() > MAX_BODY_BYTES) {
        return Err(Error::PushRefused { field: "body".into(), reason: format!("is over {MAX_BODY_BYTES} bytes") });
    }
    let safe = q.encrypt_type.as_deref() == Some("aes");
    let verified = |mode, body: String, echostr| Verified { mode, body, echostr, timestamp: at, nonce: nonce.into() };
    match (body, safe) {
        (None, _) => {
            let signature = query_field("signature", &q.signature)?;
            check_signature("signature", signature, &mut [token, timestamp, nonce])?;
            let echostr = query_field("echostr", &q.echostr)?.to_string();
            Ok(verified("plain", echostr.clone(), Some(echostr)))
        }
        (Some(body), false) => {
            let signature = query_field("signature", &q.signature)?;
            check_signature("signature", signature, &mut [token, timestamp, nonce])?;
            Ok(verified("plain", body.to_string(), None))
        }
        (Some(body), true) => {
            let key = key.ok_or_else(|| Error::invalid("encodingAesKey", "is needed for a safe-mode push"))?;
            let encrypted = crate::event::encrypted_field(body)?;
            let signature = query_field("msg_signature", &q.msg_signature)?;
            check_signature("msg_signature", signature, &mut [token, timestamp, nonce, &encrypted])?;
            let (text, inner_app) = key.decrypt(&encrypted)?;
            if let Some(app) = app_id {
                if inner_app != app {
                    return Err(Error::PushRefused { field: "Encrypt".into(), reason: "names another appid".into() });
                }
            }
            Ok(verified("safe", text, None))
        }
    }
}

fn check_signature(field: &str, given: &str, parts: &mut [&str]) -> Result<()> {
    // Not secret-dependent timing worth hiding: the signature is public once sent.
    if !given.eq_ignore_ascii_case(&sha1_hex(parts)) {
        return Err(Error::PushRefused { field: format!("query.{field}"), reason: "does not match".into() });
    }
    Ok(())
}

/// The push's instant, if within `max_age` of now (either side: clocks differ).
fn fresh(timestamp: &str, now: Millis, max_age: i64) -> Result<i64> {
    let refused = |reason: String| Error::PushRefused { field: "query.timestamp".into(), reason };
    let at = crate::clock::ms_of_epoch_seconds(timestamp)
        .ok_or_else(|| refused("is not whole seconds since 1970".into()))?;
    if (now.0 - at).abs() > max_age {
        return Err(refused(format!("is {} s from now, the window is {} s", (now.0 - at) / 1000, max_age / 1000)));
    }
    Ok(at)
}

/// The safe mode's key: base64 of the 43-character EncodingAESKey plus "=", 32 bytes; its first
/// 16 are the IV.
pub struct AesKey([u8; 32]);

impl AesKey {
    pub fn parse(text: &str) -> Result<Self> {
        let bad = || Error::invalid("encodingAesKey", "is the 43-character EncodingAESKey (letters and digits)");
        if text.len() != 43 || !text.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(bad());
        }
        // WeChat's keys need not end on a zero bit: decode leniently, as its own samples do.
        let engine = base64::engine::GeneralPurpose::new(
            &base64::alphabet::STANDARD,
            base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
        );
        let bytes = engine.decode(format!("{text}=")).map_err(|_| bad())?;
        Ok(AesKey(bytes.try_into().map_err(|_| bad())?))
    }

    /// The message and the appid from an `Encrypt` text: 16 random bytes, the message's length
    /// (4 bytes, big-endian), the message, the appid; PKCS#7 padded to 32-byte blocks.
    pub fn decrypt(&self, encrypted: &str) -> Result<(String, String)> {
        let refused = |reason: &str| Error::PushRefused { field: "Encrypt".into(), reason: reason.into() };
        let mut buf =
            base64::engine::general_purpose::STANDARD.decode(encrypted).map_err(|_| refused("is not base64"))?;
        if buf.is_empty() || buf.len() % 16 != 0 {
            return Err(refused("is not whole AES blocks"));
        }
        let iv: [u8; 16] = self.0[..16].try_into().map_err(|_| refused("key"))?;
        let plain = cbc::Decryptor::<aes::Aes256>::new(&self.0.into(), &iv.into())
            .decrypt_padded_mut::<NoPadding>(&mut buf)
            .map_err(|_| refused("does not decrypt"))?;
        let pad = *plain.last().unwrap_or(&0) as usize;
        if !(1..=32).contains(&pad) || pad > plain.len() {
            return Err(refused("does not decrypt with this key (bad padding)"));
        }
        let content = &plain[..plain.len() - pad];
        let len_bytes: [u8; 4] =
            content.get(16..20).and_then(|b| b.try_into().ok()).ok_or_else(|| refused("is too short"))?;
        let len = u32::from_be_bytes(len_bytes) as usize;
        let msg = content.get(20..20 + len).ok_or_else(|| refused("names a length past its end"))?;
        let app = &content[20 + len..];
        let text = |b: &[u8]| String::from_utf8(b.to_vec()).map_err(|_| refused("is not UTF-8 inside"));
        Ok((text(msg)?, text(app)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // WeChat's own WXBizMsgCrypt sample (its Node and Java samples carry the same values; the Java
    // one as WXBizMsgCryptTest.java): token "spamtest", key "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG".
    const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

    #[test]
    fn the_samples_encrypted_reply_decrypts_to_its_text_and_appid() {
        // WXBizMsgCryptTest.java: random "aaaabbbbccccdddd", reply "我是中文abcd123", appid wxb11529c136998cb6.
        let enc = "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg==";
        let (msg, app) = AesKey::parse(KEY).unwrap().decrypt(enc).unwrap();
        assert_eq!((msg.as_str(), app.as_str()), ("我是中文abcd123", "wxb11529c136998cb6"));
    }

    #[test]
    fn a_key_of_another_shape_or_a_broken_text_is_refused_with_a_code() {
        assert_eq!(AesKey::parse("short").err().unwrap().code(), "ERR_INVALID_ARGUMENT");
        assert_eq!(AesKey::parse(&"+".repeat(43)).err().unwrap().code(), "ERR_INVALID_ARGUMENT");
        let key = AesKey::parse(KEY).unwrap();
        for enc in ["", "not base64!", "AAAA", "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmk="] {
            assert_eq!(key.decrypt(enc).unwrap_err().code(), "ERR_PUSH_REFUSED", "{enc}");
        }
        let other = AesKey::parse("bbcdefghijklmnopqrstuvwxyz0123456789ABCDEFG").unwrap();
        let enc = "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg==";
        assert_eq!(other.decrypt(enc).unwrap_err().code(), "ERR_PUSH_REFUSED");
    }

    #[test]
    fn the_timestamp_window_is_either_side_of_now() {
        let now = Millis(1_409_735_669_000);
        assert_eq!(fresh("1409735669", now, 300_000).unwrap(), 1_409_735_669_000);
        assert!(fresh("1409735369", now, 300_000).is_ok());
        assert!(fresh("1409735368", now, 300_000).is_err());
        assert!(fresh("1409735970", now, 300_000).is_err());
        for bad in ["", "-1", "+1409735669", "1e9", "99999999999999999999", " 1409735669"] {
            assert_eq!(fresh(bad, now, 300_000).unwrap_err().code(), "ERR_PUSH_REFUSED", "{bad:?}");
        }
    }
}
