//! `X-Twilio-Signature`: how Twilio signs the requests it sends (Verify Push events among
//! them), and how they are checked (spec: verify-v2.md §7.3).
//!
//! The string signed is the full URL as Twilio requested it, then every form parameter's
//! name and value, sorted by name (code-point order; repeated names once per value, the
//! values sorted too), with no separators; HMAC-SHA1 with the account's auth token,
//! base64. Like Twilio's own validator, a signature made over the URL with its default
//! port written out (`:443`, `:80`) or left out is accepted either way.

use base64::{engine::general_purpose::STANDARD as BASE64, Engine as _};
use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;
use url::Url;

/// The string Twilio signs for a form-encoded request to `url` with `params`.
pub fn string_to_sign(url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    let mut s = String::with_capacity(url.len() + params.len() * 48);
    s.push_str(url);
    for (name, value) in sorted {
        s.push_str(name);
        s.push_str(value);
    }
    s
}

/// The signature of a form-encoded request, as Twilio computes it.
pub fn sign(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()) else {
        return String::new();
    };
    mac.update(string_to_sign(url, params).as_bytes());
    BASE64.encode(mac.finalize().into_bytes())
}

/// The URL with its scheme's default port written out, and without any port: Twilio
/// signs one or the other.
fn port_variants(url: &str) -> [Option<String>; 2] {
    let Ok(parsed) = Url::parse(url) else {
        return [None, None];
    };
    let default = match parsed.scheme() {
        "https" => 443,
        "http" => 80,
        _ => return [None, None],
    };
    // `Url` drops a default port when it serialises; the forms are rebuilt by hand so
    // that nothing else of the URL (its query's encoding) changes.
    let host = parsed.host_str().unwrap_or_default();
    let rest_at = url
        .find("://")
        .map(|i| i + 3)
        .and_then(|start| url[start..].find('/').map(|i| start + i))
        .unwrap_or(url.len());
    let prefix = format!("{}://{}", parsed.scheme(), userinfo(&parsed));
    let rest = &url[rest_at..];
    let with_port = format!("{prefix}{host}:{}{rest}", parsed.port().unwrap_or(default));
    let without_port = format!("{prefix}{host}{rest}");
    [Some(with_port), Some(without_port)]
}

fn userinfo(url: &Url) -> String {
    match (url.username(), url.password()) {
        ("", None) => String::new(),
        (user, None) => format!("{user}@"),
        (user, Some(password)) => format!("{user}:{password}@"),
    }
}

/// Whether `signature` is Twilio's for a form-encoded request to `url` with `params`
/// (compared in constant time; either port form of the URL is accepted).
pub fn is_valid(auth_token: &str, url: &str, params: &[(String, String)], signature: &str) -> bool {
    let given = signature.trim().as_bytes();
    let matches = |candidate: &str| -> bool {
        bool::from(sign(auth_token, candidate, params).as_bytes().ct_eq(given))
    };
    let [with_port, without_port] = port_variants(url);
    // Every form is computed, so the time taken does not tell which one matched.
    let exact = matches(url);
    let with = with_port.as_deref().is_some_and(matches);
    let without = without_port.as_deref().is_some_and(matches);
    exact | with | without
}

/// The form parameters of a body, in order, with repeated names kept.
pub fn form_params(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Twilio's own vector (twilio-python's tests, spec §7.3).
    fn official() -> Vec<(String, String)> {
        params(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675309"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
        ])
    }

    /// The spec's worked example (§7.4).
    fn event() -> Vec<(String, String)> {
        params(&[
            ("uuid", "9f1c2d3e-4b5a-6c7d-8e9f-0a1b2c3d4e5f"),
            ("type", "challenge.approved"),
            ("account_sid", "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
            ("service_sid", "VAbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"),
            ("entity_identity", "user-0001-abcd"),
            ("factor_sid", "YFcccccccccccccccccccccccccccccccc"),
            ("challenge_sid", "YCdddddddddddddddddddddddddddddddd"),
        ])
    }

    const EVENT_URL: &str = "https://pay.example.com/twilio/verify-events?tenant=eu";
    const EVENT_KEY: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn twilio_official_vector() {
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        assert_eq!(
            sign("12345", url, &official()),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        );
        assert_eq!(
            sign(
                "12345",
                "https://mycompany.com:443/myapp.php?foo=1&bar=2",
                &official()
            ),
            "kvajT1Ptam85bY51eRf/AJRuM3w="
        );
        assert!(is_valid(
            "12345",
            url,
            &official(),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
    }

    #[test]
    fn spec_worked_example_string_and_signature() {
        assert_eq!(
            string_to_sign(EVENT_URL, &event()),
            "https://pay.example.com/twilio/verify-events?tenant=euaccount_sidACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaachallenge_sidYCddddddddddddddddddddddddddddddddentity_identityuser-0001-abcdfactor_sidYFccccccccccccccccccccccccccccccccservice_sidVAbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbtypechallenge.approveduuid9f1c2d3e-4b5a-6c7d-8e9f-0a1b2c3d4e5f"
        );
        assert_eq!(
            sign(EVENT_KEY, EVENT_URL, &event()),
            "in6fwXX+DD65IGbTqrlWfdld7VY="
        );
        assert_eq!(
            sign(
                EVENT_KEY,
                "https://pay.example.com:443/twilio/verify-events?tenant=eu",
                &event()
            ),
            "YuCRqy2c/3XZyLIH/Aqih9FNxcI="
        );
    }

    #[test]
    fn either_port_form_is_accepted_like_twilios_validator() {
        // Signed without the port, received with it; and the other way round.
        assert!(is_valid(
            EVENT_KEY,
            "https://pay.example.com:443/twilio/verify-events?tenant=eu",
            &event(),
            "in6fwXX+DD65IGbTqrlWfdld7VY="
        ));
        assert!(is_valid(
            EVENT_KEY,
            EVENT_URL,
            &event(),
            "YuCRqy2c/3XZyLIH/Aqih9FNxcI="
        ));
        assert!(is_valid(
            "12345",
            "https://mycompany.com:443/myapp.php?foo=1&bar=2",
            &official(),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
    }

    #[test]
    fn anything_changed_is_refused() {
        let mut changed = event();
        changed[1].1 = "challenge.denied".into();
        assert!(!is_valid(
            EVENT_KEY,
            EVENT_URL,
            &changed,
            "in6fwXX+DD65IGbTqrlWfdld7VY="
        ));
        assert!(!is_valid(
            "another key",
            EVENT_URL,
            &event(),
            "in6fwXX+DD65IGbTqrlWfdld7VY="
        ));
        assert!(!is_valid(
            EVENT_KEY,
            "https://pay.example.com/twilio/verify-events?tenant=us",
            &event(),
            "in6fwXX+DD65IGbTqrlWfdld7VY="
        ));
        assert!(!is_valid(EVENT_KEY, EVENT_URL, &event(), ""));
    }

    #[test]
    fn any_port_is_also_tried_without_as_twilios_validator_does() {
        // "a request received at https://host:1234/... still validates against a signature
        // computed on https://host/..." (spec §7.3).
        assert!(is_valid(
            EVENT_KEY,
            "https://pay.example.com:8443/twilio/verify-events?tenant=eu",
            &event(),
            "in6fwXX+DD65IGbTqrlWfdld7VY="
        ));
        let [with, without] = port_variants("http://127.0.0.1:3000/payments/verify-events");
        assert_eq!(
            with.as_deref(),
            Some("http://127.0.0.1:3000/payments/verify-events")
        );
        assert_eq!(
            without.as_deref(),
            Some("http://127.0.0.1/payments/verify-events")
        );
    }

    #[test]
    fn repeated_names_sign_each_value_sorted() {
        let a = params(&[("Digits", "5678"), ("Digits", "1234"), ("A", "x")]);
        assert_eq!(
            string_to_sign("https://h/p", &a),
            "https://h/pAxDigits1234Digits5678"
        );
    }

    #[test]
    fn form_bodies_are_decoded_with_plus_as_space() {
        assert_eq!(
            form_params(b"type=challenge.approved&Details.Message=Pay+%E2%82%AC5&x=1&x=2"),
            params(&[
                ("type", "challenge.approved"),
                ("Details.Message", "Pay €5"),
                ("x", "1"),
                ("x", "2"),
            ])
        );
    }
}
