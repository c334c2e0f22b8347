//! HMAC-SHA256 request signing for webhooks, and constant-time verification for receivers.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Header carrying `sha256=<hex HMAC-SHA256 of the body>`.
pub const SIGNATURE_HEADER: &str = "X-Prescale-Signature";
/// Header carrying the send time as Unix seconds.
pub const TIMESTAMP_HEADER: &str = "X-Prescale-Timestamp";

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this never fails; fall back to an empty key defensively.
    match HmacSha256::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => <HmacSha256 as Mac>::new(&Default::default()),
    }
}

/// The signature header value for `body`: `sha256=<lowercase hex>`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut m = mac(secret);
    m.update(body);
    let tag = m.finalize().into_bytes();
    let mut out = String::with_capacity(7 + tag.len() * 2);
    out.push_str("sha256=");
    for b in tag {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn unhex(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    bytes
        .chunks(2)
        .map(|p| Some(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}

/// Whether `header` (`sha256=<hex>`) is the HMAC-SHA256 of `body` under `secret`.
/// The comparison is constant-time.
pub fn verify_signature(secret: &[u8], body: &[u8], header: &str) -> bool {
    let Some(hex) = header.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Some(tag) = unhex(hex) else {
        return false;
    };
    let mut m = mac(secret);
    m.update(body);
    m.verify_slice(&tag).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4231_case_2() {
        let sig = sign(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            sig,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(verify_signature(
            b"Jefe",
            b"what do ya want for nothing?",
            &sig
        ));
        assert!(verify_signature(
            b"Jefe",
            b"what do ya want for nothing?",
            &sig.to_uppercase().replace("SHA256=", "sha256=")
        ));
    }

    #[test]
    fn rejects_wrong_secret_body_or_format() {
        let sig = sign(b"k", b"body");
        assert!(!verify_signature(b"other", b"body", &sig));
        assert!(!verify_signature(b"k", b"body2", &sig));
        assert!(!verify_signature(b"k", b"body", &sig[7..]));
        assert!(!verify_signature(b"k", b"body", "sha256=zz"));
        assert!(!verify_signature(b"k", b"body", "sha256=abc"));
        assert!(!verify_signature(b"k", b"body", &sig[..sig.len() - 2]));
    }
}
