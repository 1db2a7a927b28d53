//! Property tests: the callback canonicalisation and amount parsing hold for any input.
use std::collections::BTreeMap;

use payfriend::model::{format_amount, parse_amount, MAX_AMOUNT_CENTS};
use payfriend::server::authy::signature::{
    canonical_params, flatten_json, form_encode, sign, verify, SignedRequest,
};
use proptest::prelude::*;

/// Reverses `form_encode`, to show that it loses nothing.
fn form_decode(s: &str) -> String {
    let mut bytes = Vec::new();
    let mut iter = s.bytes();
    while let Some(b) = iter.next() {
        match b {
            b'+' => bytes.push(b' '),
            b'%' => {
                let hi = iter.next().expect("hex digit");
                let lo = iter.next().expect("hex digit");
                let hex = [hi, lo];
                let text = std::str::from_utf8(&hex).expect("ascii");
                bytes.push(u8::from_str_radix(text, 16).expect("hex"));
            }
            other => bytes.push(other),
        }
    }
    String::from_utf8(bytes).expect("utf-8")
}

proptest! {
    #[test]
    fn form_encoding_uses_only_safe_characters_and_round_trips(s in "\\PC*") {
        let encoded = form_encode(&s);
        prop_assert!(encoded
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._+%".contains(&b)));
        prop_assert_eq!(form_decode(&encoded), s);
    }

    #[test]
    fn a_flat_object_flattens_to_its_own_pairs(map in prop::collection::btree_map("[a-zA-Z_ ]{1,12}", "\\PC{0,20}", 0..8)) {
        let body = serde_json::to_string(&map).expect("json");
        let pairs: BTreeMap<String, String> = flatten_json(&body).expect("flattens").into_iter().collect();
        prop_assert_eq!(pairs, map);
    }

    #[test]
    fn the_canonical_string_does_not_depend_on_key_order(map in prop::collection::btree_map("[a-z]{1,8}", "[ -~]{0,12}", 1..8)) {
        let pairs: Vec<(String, String)> = map.into_iter().collect();
        let mut reversed = pairs.clone();
        reversed.reverse();
        prop_assert_eq!(canonical_params(&pairs), canonical_params(&reversed));
    }

    #[test]
    fn a_signed_body_verifies_and_any_changed_value_does_not(
        map in prop::collection::btree_map("[a-z]{1,8}", "[ -~]{1,12}", 1..6),
        key in "[a-zA-Z0-9]{8,32}",
        nonce in 1_000_000_000i64..2_000_000_000,
    ) {
        let body = serde_json::to_string(&map).expect("json");
        let url = "https://pay.example.org/payments/callback";
        let signature = sign(&key, &nonce.to_string(), "POST", url, &body).expect("sign");
        let nonce_text = nonce.to_string();
        let request = SignedRequest { signature: Some(&signature), nonce: Some(&nonce_text), method: "POST", body: &body };
        prop_assert!(verify(&key, url, request, nonce, 300).is_ok());

        let mut changed = map.clone();
        let first = changed.keys().next().cloned().expect("non-empty");
        changed.insert(first.clone(), format!("{}!", changed[&first]));
        let changed_body = serde_json::to_string(&changed).expect("json");
        let tampered = SignedRequest { body: &changed_body, ..request };
        prop_assert!(verify(&key, url, tampered, nonce, 300).is_err());
    }

    #[test]
    fn flattening_never_panics(s in "\\PC{0,200}") {
        let _ = flatten_json(&s);
    }

    #[test]
    fn every_amount_formats_and_parses_back(cents in 1i64..=MAX_AMOUNT_CENTS) {
        let text = format_amount(cents, "USD");
        prop_assert_eq!(parse_amount(text.trim_start_matches('$'), 2), Ok(cents));
        let plain = format!("{}.{:02}", cents / 100, cents % 100);
        prop_assert_eq!(parse_amount(&plain, 2), Ok(cents));
    }

    #[test]
    fn parsing_any_text_never_panics_and_never_accepts_a_bad_amount(s in "\\PC{0,40}") {
        if let Ok(cents) = parse_amount(&s, 2) {
            prop_assert!(cents > 0 && cents <= MAX_AMOUNT_CENTS);
        }
    }

    #[test]
    fn more_than_two_decimals_are_always_refused(whole in 0u32..100_000, frac in "[0-9]{3,6}") {
        let text = format!("{whole}.{frac}");
        prop_assert!(parse_amount(&text, 2).is_err());
    }
}
