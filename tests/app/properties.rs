//! Property tests: the callback canonicalisation and amount parsing hold for any input.
use std::collections::BTreeMap;

use payfriend::model::{format_amount, parse_amount, MAX_AMOUNT_CENTS};
use payfriend::shared::authy_signature::{
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

/// Any JSON value, nested a few levels: scalars, arrays and objects (empty ones too).
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1_000_000i64..1_000_000, 0u32..1000)
            .prop_map(|(w, f)| serde_json::from_str(&format!("{w}.{f}")).expect("a number")),
        "\\PC{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z_ ]{1,8}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// What flattening `value` under `key` must give, as the reference clients do it: nested keys
/// in brackets, array elements by index, `null` as empty, empty containers as nothing.
fn expected_pairs(key: &str, value: &serde_json::Value, out: &mut Vec<(String, String)>) {
    use serde_json::Value;
    match value {
        Value::Null => out.push((key.to_string(), String::new())),
        Value::Bool(b) => out.push((key.to_string(), b.to_string())),
        Value::Number(n) => out.push((key.to_string(), n.to_string())),
        Value::String(s) => out.push((key.to_string(), s.clone())),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                expected_pairs(&format!("{key}[{i}]"), item, out);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                expected_pairs(&format!("{key}[{k}]"), item, out);
            }
        }
    }
}

proptest! {
    #[test]
    fn any_json_object_flattens_to_the_reference_pairs(
        top in prop::collection::btree_map("[a-z]{1,6}", json_value(), 1..5)
    ) {
        let body = serde_json::to_string(&top).expect("json");
        let mut expected = Vec::new();
        for (key, value) in &top {
            expected_pairs(key, value, &mut expected);
        }
        let mut pairs = flatten_json(&body).expect("valid JSON flattens");
        pairs.sort();
        expected.sort();
        prop_assert_eq!(pairs, expected);
    }

    #[test]
    fn amounts_as_people_type_them_parse_to_their_minor_units(
        whole in 0u64..2_000_000_000,
        decimals in prop::option::of("[0-9]{1,2}"),
        grouped in any::<bool>(),
    ) {
        let digits = whole.to_string();
        let whole_text = if grouped {
            let mut groups = Vec::new();
            let mut rest = digits.as_str();
            while rest.len() > 3 {
                let (head, tail) = rest.split_at(rest.len() - 3);
                groups.insert(0, tail);
                rest = head;
            }
            groups.insert(0, rest);
            groups.join(",")
        } else {
            digits.clone()
        };
        let text = match &decimals {
            Some(d) => format!("{whole_text}.{d}"),
            None => whole_text,
        };
        let fraction = decimals.as_deref().map_or(0, |d| {
            let d = format!("{d:0<2}");
            d.parse::<i64>().expect("two digits")
        });
        let cents = i64::try_from(whole).expect("small") * 100 + fraction;
        match parse_amount(&text, 2) {
            Ok(parsed) => prop_assert_eq!(parsed, cents, "{}", text),
            Err(_) => prop_assert!(cents == 0 || cents > MAX_AMOUNT_CENTS, "{} refused", text),
        }
    }


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
        let text = format_amount(cents, payfriend::model::Currency::parse("USD").expect("USD"));
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
