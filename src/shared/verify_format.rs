//! Verify v2's wire formats, as Twilio writes them and twilio-python sends them:
//! datetimes, JSON strings inside form fields, and the `Details.Fields` items. The client
//! writes and reads them; the sandbox, the other end, too.

use std::collections::BTreeMap;

/// A random SID with this prefix, as Twilio makes them.
pub fn random_sid(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

/// Unix seconds as Twilio writes datetimes: `YYYY-MM-DDTHH:MM:SSZ`.
pub fn iso8601(t: i64) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Parses `YYYY-MM-DDTHH:MM:SSZ` into Unix seconds.
pub fn parse_iso8601(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[19] != b'Z' {
        return None;
    }
    let n = |from: usize, to: usize| s.get(from..to)?.parse::<i64>().ok();
    let (y, m, d) = (n(0, 4)?, n(5, 7)?, n(8, 10)?);
    let (hh, mm, ss) = (n(11, 13)?, n(14, 16)?, n(17, 19)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    Some(days_from_civil(y, m, d) * 86_400 + hh * 3600 + mm * 60 + ss)
}

// Howard Hinnant's civil-calendar algorithms.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A flat object of strings as Python's `json.dumps` writes it (what Twilio's official
/// client sends): `", "` and `": "` separators, non-ASCII as `\uXXXX` escapes.
pub fn python_json(pairs: &[(&str, &str)]) -> String {
    let mut out = String::from("{");
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        push_json_string(&mut out, k);
        out.push_str(": ");
        push_json_string(&mut out, v);
    }
    out.push('}');
    out
}

fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The parameters of a challenge as Verify would read them (for the sandbox and tests):
/// `Details.Fields` decoded from their JSON strings, in order.
pub fn decode_fields(values: &[String]) -> Vec<(String, String)> {
    values
        .iter()
        .filter_map(|v| serde_json::from_str::<BTreeMap<String, String>>(v).ok())
        .filter_map(|mut m| Some((m.remove("label")?, m.remove("value")?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_are_written_as_pythons_json_dumps_writes_them() {
        // The spec's capture of twilio-python: `{"label": "Amount", "value": "\u20ac39.99"}`.
        assert_eq!(
            python_json(&[("label", "Amount"), ("value", "€39.99")]),
            r#"{"label": "Amount", "value": "\u20ac39.99"}"#
        );
        assert_eq!(
            python_json(&[("payment_id", "a\"b\\c\n😀")]),
            r#"{"payment_id": "a\"b\\c\n\ud83d\ude00"}"#
        );
        assert_eq!(python_json(&[]), "{}");
    }

    #[test]
    fn fields_decode_back_from_their_json() {
        let sent = vec![python_json(&[("label", "Payee"), ("value", "Zoë")])];
        assert_eq!(
            decode_fields(&sent),
            vec![("Payee".to_string(), "Zoë".to_string())]
        );
    }

    #[test]
    fn datetimes_are_written_and_read_as_twilio_writes_them() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(1_893_499_500), "2030-01-01T12:05:00Z");
        assert_eq!(parse_iso8601("2030-01-01T12:05:00Z"), Some(1_893_499_500));
        assert_eq!(parse_iso8601("2024-02-29T23:59:59Z"), Some(1_709_251_199));
        for t in [0, 951_782_400, 1_709_251_199, 4_102_444_800] {
            assert_eq!(parse_iso8601(&iso8601(t)), Some(t));
        }
        assert_eq!(parse_iso8601("2030-13-01T00:00:00Z"), None);
        assert_eq!(parse_iso8601("tomorrow"), None);
    }
}
