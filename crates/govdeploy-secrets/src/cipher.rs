//! The SOPS value cipher: AES-256-GCM with the 32-byte data key and a random 32-byte IV
//! (SOPS uses Go's `NewGCMWithNonceSize(…, 32)`, so the GCM counter block is derived from
//! the IV by GHASH rather than the usual 12-byte shortcut), the key path as additional data,
//! written as `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` with standard base64.

use aes_gcm::aead::consts::U32;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::aes::Aes256;
use aes_gcm::{AesGcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;
use zeroize::Zeroizing;

use crate::tree::Scalar;

/// AES-GCM as SOPS instantiates it.
type SopsGcm = AesGcm<Aes256, U32>;

const TAG_LEN: usize = 16;
pub const IV_LEN: usize = 32;
pub const DATA_KEY_LEN: usize = 32;

/// The data key every value of a file is encrypted with.
pub type DataKey = Zeroizing<[u8; DATA_KEY_LEN]>;

/// Why one value could not be decrypted (never carrying the value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueError {
    /// Not of the form `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`.
    Format(&'static str),
    /// Authentication failed: wrong data key, a changed value, or a value moved to another key.
    Authentication,
    /// Decrypted, but the text does not parse as its declared type.
    Type(String),
}

impl std::fmt::Display for ValueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ValueError::Format(what) => write!(f, "not a SOPS encrypted value ({what})"),
            ValueError::Authentication => write!(
                f,
                "AES-GCM authentication failed (the value, its key path or the data key changed)"
            ),
            ValueError::Type(t) => write!(f, "the decrypted value is not a valid `{t}`"),
        }
    }
}

/// Whether a scalar looks like a SOPS encrypted value.
pub fn is_encrypted(text: &str) -> bool {
    text.starts_with("ENC[AES256_GCM,")
}

pub fn random_data_key() -> DataKey {
    let mut key = Zeroizing::new([0u8; DATA_KEY_LEN]);
    rand::rngs::OsRng.fill_bytes(key.as_mut());
    key
}

/// Encrypts one value; `aad` is the key path joined with `:` plus a trailing `:` (or the
/// `lastmodified` timestamp for the MAC).
pub fn encrypt(value: &Scalar, key: &DataKey, aad: &str) -> String {
    let mut iv = [0u8; IV_LEN];
    rand::rngs::OsRng.fill_bytes(&mut iv);
    encrypt_with_iv(value, key, aad, &iv)
}

fn encrypt_with_iv(value: &Scalar, key: &DataKey, aad: &str, iv: &[u8; IV_LEN]) -> String {
    let cipher = SopsGcm::new(key.as_ref().into());
    let plain = value.to_bytes();
    // Encryption with a valid key and nonce size cannot fail in aes-gcm (only buffers
    // beyond 64 GiB can); an empty output would then fail authentication on reading.
    let sealed = cipher
        .encrypt(
            Nonce::<U32>::from_slice(iv),
            Payload {
                msg: &plain,
                aad: aad.as_bytes(),
            },
        )
        .unwrap_or_default();
    let split = sealed.len().saturating_sub(TAG_LEN);
    format!(
        "ENC[AES256_GCM,data:{},iv:{},tag:{},type:{}]",
        STANDARD.encode(&sealed[..split]),
        STANDARD.encode(iv),
        STANDARD.encode(&sealed[split..]),
        value.type_name()
    )
}

struct Parts {
    data: Vec<u8>,
    iv: Vec<u8>,
    tag: Vec<u8>,
    kind: String,
}

fn parse(text: &str) -> Result<Parts, ValueError> {
    let inner = text
        .strip_prefix("ENC[AES256_GCM,")
        .and_then(|t| t.strip_suffix(']'))
        .ok_or(ValueError::Format("no ENC[AES256_GCM,…] wrapper"))?;
    let mut data = None;
    let mut iv = None;
    let mut tag = None;
    let mut kind = None;
    for field in inner.split(',') {
        let (name, value) = field
            .split_once(':')
            .ok_or(ValueError::Format("a field without `name:`"))?;
        let slot = match name {
            "data" => &mut data,
            "iv" => &mut iv,
            "tag" => &mut tag,
            "type" => &mut kind,
            _ => return Err(ValueError::Format("an unknown field")),
        };
        *slot = Some(value);
    }
    let decode = |v: Option<&str>, what: &'static str| {
        STANDARD
            .decode(v.ok_or(ValueError::Format(what))?)
            .map_err(|_| ValueError::Format(what))
    };
    Ok(Parts {
        data: decode(data, "data is missing or not base64")?,
        iv: decode(iv, "iv is missing or not base64")?,
        tag: decode(tag, "tag is missing or not base64")?,
        kind: kind
            .ok_or(ValueError::Format("type is missing"))?
            .to_string(),
    })
}

/// Decrypts one value and checks it against its key path.
pub fn decrypt(text: &str, key: &DataKey, aad: &str) -> Result<Scalar, ValueError> {
    let parts = parse(text)?;
    if parts.iv.len() != IV_LEN || parts.tag.len() != TAG_LEN {
        return Err(ValueError::Format("iv or tag has the wrong length"));
    }
    let cipher = SopsGcm::new(key.as_ref().into());
    let mut sealed = parts.data;
    sealed.extend_from_slice(&parts.tag);
    let plain = Zeroizing::new(
        cipher
            .decrypt(
                Nonce::<U32>::from_slice(&parts.iv),
                Payload {
                    msg: &sealed,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| ValueError::Authentication)?,
    );
    let text = Zeroizing::new(
        String::from_utf8(plain.to_vec()).map_err(|_| ValueError::Type(parts.kind.clone()))?,
    );
    let bad_type = || ValueError::Type(parts.kind.clone());
    Ok(match parts.kind.as_str() {
        "str" => Scalar::str(text.as_str()),
        "int" | "int64" => Scalar::Int(text.parse().map_err(|_| bad_type())?),
        "float" => Scalar::Float(text.parse().map_err(|_| bad_type())?),
        // Go's strconv.ParseBool, which SOPS uses.
        "bool" => Scalar::Bool(match text.as_str() {
            "1" | "t" | "T" | "true" | "TRUE" | "True" => true,
            "0" | "f" | "F" | "false" | "FALSE" | "False" => false,
            _ => return Err(bad_type()),
        }),
        _ => return Err(ValueError::Format("an unsupported type")),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    fn key() -> DataKey {
        Zeroizing::new([7u8; DATA_KEY_LEN])
    }

    #[test]
    fn round_trip_keeps_type_and_checks_path() {
        for value in [
            Scalar::str("s3cret"),
            Scalar::Int(5432),
            Scalar::Float(1.5),
            Scalar::Bool(true),
        ] {
            let enc = encrypt(&value, &key(), "db:password:");
            assert!(
                enc.ends_with(&format!("type:{}]", value.type_name())),
                "{enc}"
            );
            assert_eq!(decrypt(&enc, &key(), "db:password:").unwrap(), value);
            assert_eq!(
                decrypt(&enc, &key(), "db:username:"),
                Err(ValueError::Authentication)
            );
        }
    }

    #[test]
    fn malformed_values_are_format_errors() {
        assert!(matches!(
            decrypt("ENC[AES256_GCM,data:!!,iv:x,tag:y,type:str]", &key(), ""),
            Err(ValueError::Format(_))
        ));
        assert!(matches!(
            decrypt("plain", &key(), ""),
            Err(ValueError::Format(_))
        ));
    }
}
