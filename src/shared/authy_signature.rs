//! The Authy callback signature: `base64(HMAC-SHA256(api_key, NONCE|METHOD|URL|PARAMS))`,
//! where PARAMS is the JSON body flattened to sorted, form-encoded parameters.
//!
//! The body is flattened straight from its JSON text so that numbers keep exactly the
//! digits the sender wrote (a float round-trip would change `1.50` or large integers).

use base64::{engine::general_purpose::STANDARD as BASE64, Engine as _};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// Why a callback's signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the X-Authy-Signature header is missing")]
    MissingSignature,
    #[error("the X-Authy-Signature-Nonce header is missing")]
    MissingNonce,
    #[error("the nonce is not a number")]
    BadNonce,
    #[error("the nonce is outside the accepted time window")]
    StaleNonce,
    #[error("the body is not a JSON object: {0}")]
    BadBody(String),
    #[error("the signature does not match")]
    Mismatch,
}

/// Limits on the work done for a body before its signature is known to be good. A real
/// Authy callback (see the shared vectors) is 3 levels deep, has about 30 leaves and a
/// canonical form of about 2 KB; the caps leave room for ten times more while keeping the
/// cost of a forged body to a few hundred kilobytes and milliseconds, whatever its shape.
///
/// Nesting depth of objects and arrays.
pub const MAX_DEPTH: usize = 32;
/// Number of `key=value` leaves.
pub const MAX_LEAVES: usize = 1_024;
/// Bytes of the canonical (form-encoded) parameters, and separately of the bracketed keys
/// built on the way (a key of `{}` or `[]` makes no leaf but still costs its copy).
pub const MAX_CANONICAL_BYTES: usize = 256 * 1024;

/// Flattens a JSON object into form parameters: nested keys in brackets, array elements
/// by index, `null` as an empty value, numbers and booleans as written, `{}` as nothing.
/// A body past one of the caps above is refused as soon as the cap is reached, before the
/// key or value that would pass it is built.
pub fn flatten_json(body: &str) -> Result<Vec<(String, String)>, SignatureError> {
    let mut parser = Parser {
        bytes: body.as_bytes(),
        text: body,
        pos: 0,
        depth: 0,
        leaves: 0,
        canonical_bytes: 0,
        key_bytes: 0,
    };
    parser.skip_ws();
    if parser.peek() != Some(b'{') {
        return Err(SignatureError::BadBody("expected an object".into()));
    }
    let mut out = Vec::new();
    parser.value(None, &mut out)?;
    parser.skip_ws();
    if parser.pos != parser.bytes.len() {
        return Err(parser.error("trailing characters"));
    }
    Ok(out)
}

/// How `~` is written in the canonical form. Authy's reference implementations disagree:
/// Python 3.7+'s `quote_plus` leaves it as it is, older Python and Java's `URLEncoder`
/// escape it. A callback signed either way is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tilde {
    /// `%7E` (the form this module signs with).
    Escaped,
    /// `~`.
    Kept,
}

/// Encodes one key or value as an HTML form would: `A-Za-z0-9-._` stay, space is `+`,
/// everything else is `%XX` of its UTF-8 bytes.
pub fn form_encode(s: &str) -> String {
    form_encode_with(s, Tilde::Escaped)
}

fn form_encode_with(s: &str, tilde: Tilde) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => out.push(b as char),
            b'~' if tilde == Tilde::Kept => out.push('~'),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The PARAMS part: encoded `key=value` pairs sorted in byte order, array indexes then
/// blanked (`%5B0%5D` becomes `%5B%5D`), joined with `&`.
pub fn canonical_params(pairs: &[(String, String)]) -> String {
    canonical_params_with(pairs, Tilde::Escaped)
}

/// [`canonical_params`] with `~` written as `tilde` says (the pairs sort as written).
fn canonical_params_with(pairs: &[(String, String)], tilde: Tilde) -> String {
    let mut encoded: Vec<String> = pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                form_encode_with(k, tilde),
                form_encode_with(v, tilde)
            )
        })
        .collect();
    encoded.sort_unstable();
    encoded
        .iter()
        .map(|p| blank_array_indexes(p))
        .collect::<Vec<_>>()
        .join("&")
}

fn blank_array_indexes(param: &str) -> String {
    const OPEN: &str = "%5B";
    const CLOSE: &str = "%5D";
    let mut out = String::with_capacity(param.len());
    let mut rest = param;
    while let Some(i) = rest.find(OPEN) {
        out.push_str(&rest[..i + OPEN.len()]);
        rest = &rest[i + OPEN.len()..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && rest[digits..].starts_with(CLOSE) {
            rest = &rest[digits..];
        }
    }
    out.push_str(rest);
    out
}

/// The exact string that is signed.
pub fn signed_string(
    nonce: &str,
    method: &str,
    url: &str,
    body: &str,
) -> Result<String, SignatureError> {
    signed_string_with(nonce, method, url, &flatten_json(body)?, Tilde::Escaped)
}

fn signed_string_with(
    nonce: &str,
    method: &str,
    url: &str,
    pairs: &[(String, String)],
    tilde: Tilde,
) -> Result<String, SignatureError> {
    let params = canonical_params_with(pairs, tilde);
    Ok(format!(
        "{nonce}|{}|{url}|{params}",
        method.to_ascii_uppercase()
    ))
}

/// The signature Authy sends for this request.
pub fn sign(
    api_key: &str,
    nonce: &str,
    method: &str,
    url: &str,
    body: &str,
) -> Result<String, SignatureError> {
    sign_with(api_key, nonce, method, url, body, Tilde::Escaped)
}

/// [`sign`], with `~` written as `tilde` says (as one or the other reference client does).
fn sign_with(
    api_key: &str,
    nonce: &str,
    method: &str,
    url: &str,
    body: &str,
    tilde: Tilde,
) -> Result<String, SignatureError> {
    let pairs = flatten_json(body)?;
    mac_of(
        api_key,
        &signed_string_with(nonce, method, url, &pairs, tilde)?,
    )
}

fn mac_of(api_key: &str, message: &str) -> Result<String, SignatureError> {
    let mut mac =
        HmacSha256::new_from_slice(api_key.as_bytes()).map_err(|_| SignatureError::Mismatch)?;
    mac.update(message.as_bytes());
    Ok(BASE64.encode(mac.finalize().into_bytes()))
}

/// A callback as received: the two headers (if present), the method and the raw body.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    pub signature: Option<&'a str>,
    pub nonce: Option<&'a str>,
    pub method: &'a str,
    pub body: &'a str,
}

/// Checks a callback against the registered callback `url`: the nonce is a number within
/// `tolerance_secs` of `now` (Unix seconds), and the signature matches, compared in
/// constant time. Replays are the caller's business (it has the storage).
pub fn verify(
    api_key: &str,
    url: &str,
    request: SignedRequest<'_>,
    now: i64,
    tolerance_secs: u64,
) -> Result<(), SignatureError> {
    let signature = request
        .signature
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or(SignatureError::MissingSignature)?;
    let nonce = request
        .nonce
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or(SignatureError::MissingNonce)?;
    let nonce_secs: f64 = nonce.parse().map_err(|_| SignatureError::BadNonce)?;
    if !nonce_secs.is_finite() {
        return Err(SignatureError::BadNonce);
    }
    if (nonce_secs - now as f64).abs() > tolerance_secs as f64 {
        return Err(SignatureError::StaleNonce);
    }
    let pairs = flatten_json(request.body)?;
    let escaped = signed_string_with(nonce, request.method, url, &pairs, Tilde::Escaped)?;
    let mut matches = mac_of(api_key, &escaped)?
        .as_bytes()
        .ct_eq(signature.as_bytes());
    // A `~` anywhere (a public fact of the body): the form that keeps it is checked as
    // well, and both comparisons run whatever the first one found.
    if request.body.contains('~') {
        let kept = signed_string_with(nonce, request.method, url, &pairs, Tilde::Kept)?;
        matches |= mac_of(api_key, &kept)?
            .as_bytes()
            .ct_eq(signature.as_bytes());
    }
    if bool::from(matches) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The length of `form_encode(s)`, without building it.
fn encoded_len(s: &str) -> usize {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b' ' => 1,
            _ => 3,
        })
        .sum()
}

struct Parser<'a> {
    bytes: &'a [u8],
    text: &'a str,
    pos: usize,
    depth: usize,
    /// Leaves pushed so far.
    leaves: usize,
    /// Canonical bytes of the leaves pushed so far (`key=value&`).
    canonical_bytes: usize,
    /// Bytes of every bracketed key built so far.
    key_bytes: usize,
}

impl Parser<'_> {
    fn error(&self, what: &str) -> SignatureError {
        SignatureError::BadBody(format!("{what} at byte {}", self.pos))
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, b: u8) -> Result<(), SignatureError> {
        self.skip_ws();
        if self.peek() == Some(b) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(&format!("expected '{}'", b as char)))
        }
    }

    fn literal(&mut self, word: &str) -> Result<(), SignatureError> {
        if self.text[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.error("unexpected token"))
        }
    }

    /// Parses one value; scalars are pushed under `key` (a top-level scalar has no key).
    fn value(
        &mut self,
        key: Option<&str>,
        out: &mut Vec<(String, String)>,
    ) -> Result<(), SignatureError> {
        self.skip_ws();
        let scalar = match self.peek() {
            Some(b'{') => return self.nested(key, out, b'}'),
            Some(b'[') => return self.nested(key, out, b']'),
            Some(b'"') => self.string()?,
            Some(b't') => self.literal("true").map(|()| "true".to_string())?,
            Some(b'f') => self.literal("false").map(|()| "false".to_string())?,
            Some(b'n') => self.literal("null").map(|()| String::new())?,
            Some(b'-' | b'0'..=b'9') => self.number()?,
            _ => return Err(self.error("expected a value")),
        };
        let Some(k) = key else {
            return Err(self.error("expected an object"));
        };
        self.leaves += 1;
        if self.leaves > MAX_LEAVES {
            return Err(self.error("too many values"));
        }
        self.canonical_bytes += encoded_len(k) + encoded_len(&scalar) + 2;
        if self.canonical_bytes > MAX_CANONICAL_BYTES {
            return Err(self.error("too long once flattened"));
        }
        out.push((k.to_string(), scalar));
        Ok(())
    }

    /// Charges a key of `len` bytes about to be built; refuses it past the cap.
    fn charge_key(&mut self, len: usize) -> Result<(), SignatureError> {
        self.key_bytes = self.key_bytes.saturating_add(len);
        if self.key_bytes > MAX_CANONICAL_BYTES {
            return Err(self.error("keys too long once flattened"));
        }
        Ok(())
    }

    fn nested(
        &mut self,
        key: Option<&str>,
        out: &mut Vec<(String, String)>,
        close: u8,
    ) -> Result<(), SignatureError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        self.pos += 1;
        self.skip_ws();
        if self.peek() == Some(close) {
            self.pos += 1;
            self.depth -= 1;
            return Ok(());
        }
        let mut index = 0usize;
        loop {
            let child = if close == b'}' {
                self.skip_ws();
                if self.peek() != Some(b'"') {
                    return Err(self.error("expected a key"));
                }
                let name = self.string()?;
                self.expect(b':')?;
                match key {
                    Some(k) => {
                        self.charge_key(k.len() + name.len() + 2)?;
                        format!("{k}[{name}]")
                    }
                    None => {
                        self.charge_key(name.len())?;
                        name
                    }
                }
            } else {
                let k = key.unwrap_or_default();
                self.charge_key(k.len() + 22)?;
                let child = format!("{k}[{index}]");
                index += 1;
                child
            };
            self.value(Some(&child), out)?;
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b) if b == close => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(self.error("expected ',' or a closing bracket")),
            }
        }
        self.depth -= 1;
        Ok(())
    }

    fn number(&mut self) -> Result<String, SignatureError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        let digits = |p: &mut Self| {
            let s = p.pos;
            while matches!(p.peek(), Some(b'0'..=b'9')) {
                p.pos += 1;
            }
            p.pos > s
        };
        if !digits(self) {
            return Err(self.error("expected digits"));
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !digits(self) {
                return Err(self.error("expected digits after '.'"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if !digits(self) {
                return Err(self.error("expected exponent digits"));
            }
        }
        Ok(self.text[start..self.pos].to_string())
    }

    fn hex4(&mut self) -> Result<u32, SignatureError> {
        let hex = self
            .text
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.error("short \\u escape"))?;
        let value = u32::from_str_radix(hex, 16).map_err(|_| self.error("bad \\u escape"))?;
        self.pos += 4;
        Ok(value)
    }

    fn string(&mut self) -> Result<String, SignatureError> {
        self.pos += 1; // opening quote
        let mut out = String::new();
        loop {
            let start = self.pos;
            while !matches!(self.peek(), Some(b'"' | b'\\') | None) {
                if self.bytes[self.pos] < 0x20 {
                    return Err(self.error("control character in string"));
                }
                self.pos += 1;
            }
            out.push_str(&self.text[start..self.pos]);
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let escaped = self.peek().ok_or_else(|| self.error("unfinished escape"))?;
                    self.pos += 1;
                    match escaped {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let first = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&first) {
                                if !self.text[self.pos..].starts_with("\\u") {
                                    return Err(self.error("lone surrogate"));
                                }
                                self.pos += 2;
                                let second = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&second) {
                                    return Err(self.error("bad surrogate pair"));
                                }
                                0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                            } else {
                                first
                            };
                            out.push(
                                char::from_u32(code).ok_or_else(|| self.error("bad code point"))?,
                            );
                        }
                        _ => return Err(self.error("unknown escape")),
                    }
                }
                _ => return Err(self.error("unterminated string")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Vector {
        name: String,
        api_key: String,
        nonce: String,
        method: String,
        url: String,
        body: serde_json::Value,
        signed_string: String,
        signature: String,
    }

    /// The shared vectors, with each body re-serialised as the JSON text a sender writes.
    fn vectors() -> Vec<(Vector, String)> {
        let text = include_str!("../../tests/fixtures/authy-callback-vectors.json");
        let vectors: Vec<Vector> = serde_json::from_str(text).expect("vectors parse");
        vectors
            .into_iter()
            .map(|v| {
                let body = serde_json::to_string(&v.body).expect("body serialises");
                (v, body)
            })
            .collect()
    }

    #[test]
    fn every_shared_vector_produces_its_signed_string_and_signature() {
        for (v, body) in vectors() {
            let signed = signed_string(&v.nonce, &v.method, &v.url, &body).expect(&v.name);
            assert_eq!(signed, v.signed_string, "signed string of {}", v.name);
            let signature = sign(&v.api_key, &v.nonce, &v.method, &v.url, &body).expect(&v.name);
            assert_eq!(signature, v.signature, "signature of {}", v.name);
        }
    }

    #[test]
    fn every_shared_vector_verifies_at_its_own_time() {
        for (v, body) in vectors() {
            let now = v.nonce.parse::<f64>().expect("numeric nonce") as i64;
            let request = SignedRequest {
                signature: Some(&v.signature),
                nonce: Some(&v.nonce),
                method: &v.method,
                body: &body,
            };
            assert_eq!(
                verify(&v.api_key, &v.url, request, now, 300),
                Ok(()),
                "{}",
                v.name
            );
        }
    }

    /// A payee with `~`, signed by Python's own `hmac` over `quote_plus(s, safe='')` (Python
    /// 3.7+: `~` kept) and over the same with `~` escaped (older Python, Java): computed once,
    /// outside this code.
    const TILDE_KEY: &str = "tilde-test-api-key";
    const TILDE_URL: &str = "https://pay.example.org/payments/callback";
    const TILDE_BODY: &str = r#"{"approval_request":{"transaction":{"details":{"Sending to":"Mr~Smith & Co"}}},"status":"approved","uuid":"u-1"}"#;
    const TILDE_KEPT: &str = "eV3lFIwSO8zy4tdlCAzDVtyqzkVZN58C6kCQGhDIXyE=";
    const TILDE_ESCAPED: &str = "wiBIXBgm6KQ6pCAdqsNdK4W9GYQrfHphq9rH9kizjs0=";

    fn tilde_request(signature: &str) -> SignedRequest<'_> {
        SignedRequest {
            signature: Some(signature),
            nonce: Some("1764140001"),
            method: "POST",
            body: TILDE_BODY,
        }
    }

    #[test]
    fn a_payee_with_a_tilde_verifies_signed_either_way() {
        for signature in [TILDE_KEPT, TILDE_ESCAPED] {
            assert_eq!(
                verify(
                    TILDE_KEY,
                    TILDE_URL,
                    tilde_request(signature),
                    1_764_140_001,
                    300
                ),
                Ok(()),
                "{signature}"
            );
        }
        assert_eq!(
            sign_with(
                TILDE_KEY,
                "1764140001",
                "POST",
                TILDE_URL,
                TILDE_BODY,
                Tilde::Kept
            ),
            Ok(TILDE_KEPT.to_string())
        );
        assert_eq!(
            sign(TILDE_KEY, "1764140001", "POST", TILDE_URL, TILDE_BODY),
            Ok(TILDE_ESCAPED.to_string())
        );
        // Either form of a changed body is still refused.
        let changed = TILDE_BODY.replace("approved", "denied");
        for signature in [TILDE_KEPT, TILDE_ESCAPED] {
            let request = SignedRequest {
                body: &changed,
                ..tilde_request(signature)
            };
            assert_eq!(
                verify(TILDE_KEY, TILDE_URL, request, 1_764_140_001, 300),
                Err(SignatureError::Mismatch)
            );
        }
    }

    fn first_vector() -> (Vector, String) {
        vectors().into_iter().next().expect("at least one vector")
    }

    #[test]
    fn callback_with_changed_status_is_rejected() {
        let (v, body) = first_vector();
        let tampered = body.replace("\"approved\"", "\"denied\"");
        assert_ne!(tampered, body);
        let request = SignedRequest {
            signature: Some(&v.signature),
            nonce: Some(&v.nonce),
            method: &v.method,
            body: &tampered,
        };
        assert_eq!(
            verify(&v.api_key, &v.url, request, 1_764_140_001, 300),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn callback_with_changed_nonce_is_rejected() {
        let (v, body) = first_vector();
        let request = SignedRequest {
            signature: Some(&v.signature),
            nonce: Some("1764140002"),
            method: &v.method,
            body: &body,
        };
        assert_eq!(
            verify(&v.api_key, &v.url, request, 1_764_140_001, 300),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn callback_checked_against_another_url_is_rejected() {
        let (v, body) = first_vector();
        let request = SignedRequest {
            signature: Some(&v.signature),
            nonce: Some(&v.nonce),
            method: &v.method,
            body: &body,
        };
        assert_eq!(
            verify(
                &v.api_key,
                "https://127.0.0.1:3000/payments/callback",
                request,
                1_764_140_001,
                300
            ),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn callback_with_another_key_is_rejected() {
        let (v, body) = first_vector();
        let request = SignedRequest {
            signature: Some(&v.signature),
            nonce: Some(&v.nonce),
            method: &v.method,
            body: &body,
        };
        assert_eq!(
            verify("another-key", &v.url, request, 1_764_140_001, 300),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn callback_without_headers_is_rejected() {
        let (v, body) = first_vector();
        let no_signature = SignedRequest {
            signature: None,
            nonce: Some(&v.nonce),
            method: &v.method,
            body: &body,
        };
        let no_nonce = SignedRequest {
            signature: Some(&v.signature),
            nonce: None,
            method: &v.method,
            body: &body,
        };
        assert_eq!(
            verify(&v.api_key, &v.url, no_signature, 1_764_140_001, 300),
            Err(SignatureError::MissingSignature)
        );
        assert_eq!(
            verify(&v.api_key, &v.url, no_nonce, 1_764_140_001, 300),
            Err(SignatureError::MissingNonce)
        );
    }

    #[test]
    fn callback_with_stale_or_non_numeric_nonce_is_rejected() {
        let (v, body) = first_vector();
        let request = SignedRequest {
            signature: Some(&v.signature),
            nonce: Some(&v.nonce),
            method: &v.method,
            body: &body,
        };
        assert_eq!(
            verify(&v.api_key, &v.url, request, 1_764_140_001 + 301, 300),
            Err(SignatureError::StaleNonce)
        );
        let words = SignedRequest {
            nonce: Some("yesterday"),
            ..request
        };
        assert_eq!(
            verify(&v.api_key, &v.url, words, 1_764_140_001, 300),
            Err(SignatureError::BadNonce)
        );
    }

    #[test]
    fn numbers_keep_the_digits_they_were_written_with() {
        let pairs = flatten_json(r#"{"a": 1.50, "b": 12345678901234567890, "c": -0.0e5}"#)
            .expect("valid JSON");
        assert_eq!(
            pairs,
            vec![
                ("a".to_string(), "1.50".to_string()),
                ("b".to_string(), "12345678901234567890".to_string()),
                ("c".to_string(), "-0.0e5".to_string()),
            ]
        );
    }

    #[test]
    fn escapes_and_empty_containers_flatten_as_specified() {
        let pairs = flatten_json(r#"{"s": "a\"b\u00e9\ud83d\ude00", "e": {}, "l": [], "n": null}"#)
            .expect("valid JSON");
        assert_eq!(
            pairs,
            vec![
                ("s".to_string(), "a\"bé😀".to_string()),
                ("n".to_string(), String::new()),
            ]
        );
    }

    #[test]
    fn malformed_bodies_are_errors_not_panics() {
        for body in [
            "",
            "[]",
            "{",
            "{\"a\":}",
            "{\"a\":1,}",
            "{\"a\":\"\\ud800\"}",
            "{\"a\":1} x",
            "\"x\"",
            "{\"a\":tru}",
            "{\"a\":-}",
        ] {
            assert!(flatten_json(body).is_err(), "{body:?} should be refused");
        }
        let deep = format!("{}{}", "{\"a\":".repeat(100), "}".repeat(100));
        assert!(flatten_json(&deep).is_err());
    }

    #[test]
    fn array_indexes_are_blanked_only_inside_brackets() {
        assert_eq!(
            blank_array_indexes("a%5B12%5D%5Bb%5D=%5B3%5D"),
            "a%5B%5D%5Bb%5D=%5B%5D"
        );
        assert_eq!(blank_array_indexes("a%5B1x%5D=1"), "a%5B1x%5D=1");
    }

    /// The body of the issue: one long key over a long array. Uncapped, each leaf carried
    /// the whole key and a 60 KB body flattened to gigabytes.
    fn long_key_over_long_array(body_bytes: usize) -> String {
        let key = "a".repeat(body_bytes / 2);
        let ones = vec!["1"; (body_bytes - key.len()) / 2].join(",");
        format!("{{\"{key}\":[{ones}]}}")
    }

    #[test]
    fn a_key_repeated_over_many_leaves_is_refused_at_the_cap() {
        let body = long_key_over_long_array(60 * 1024);
        match flatten_json(&body) {
            Err(SignatureError::BadBody(message)) => {
                assert!(message.contains("too long"), "{message}")
            }
            other => panic!("expected a refusal, got {:?}", other.map(|p| p.len())),
        }
        let empty_children = format!(
            "{{\"{}\":[{}]}}",
            "k".repeat(30_000),
            vec!["{}"; 10_000].join(",")
        );
        assert!(matches!(
            flatten_json(&empty_children),
            Err(SignatureError::BadBody(_))
        ));
    }

    #[test]
    fn more_leaves_than_the_cap_are_refused_and_the_cap_itself_is_fine() {
        let many = |n: usize| format!("{{\"a\":[{}]}}", vec!["1"; n].join(","));
        assert_eq!(
            flatten_json(&many(MAX_LEAVES)).expect("at the cap").len(),
            MAX_LEAVES
        );
        assert!(matches!(
            flatten_json(&many(MAX_LEAVES + 1)),
            Err(SignatureError::BadBody(_))
        ));
    }

    #[test]
    fn nesting_up_to_the_cap_is_fine() {
        let nested = |n: usize| format!("{}1{}", "{\"a\":".repeat(n), "}".repeat(n));
        assert_eq!(
            flatten_json(&nested(MAX_DEPTH)).expect("at the cap").len(),
            1
        );
        assert!(flatten_json(&nested(MAX_DEPTH + 1)).is_err());
    }
}
