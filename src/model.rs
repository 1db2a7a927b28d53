//! Wire types and domain newtypes shared by the server and the Wasm client.

use serde::{Deserialize, Serialize};

/// The signed-in person, as the pages need to know them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionUser {
    pub email: String,
    /// The phone number in E.164 form (`+15555550123`).
    pub phone: String,
    pub phone_verified: bool,
}

/// How a phone verification code is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Via {
    Sms,
    Call,
}

impl Via {
    /// The value the Authy API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Sms => "sms",
            Via::Call => "call",
        }
    }

    /// Parses the Authy API value (`sms` or `call`).
    pub fn parse(s: &str) -> Option<Via> {
        match s {
            "sms" => Some(Via::Sms),
            "call" => Some(Via::Call),
            _ => None,
        }
    }
}

/// How the owner decided a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DecidedVia {
    /// On the phone, answering the push request.
    Push,
    /// With the SMS code bound to the payment.
    Sms,
}

impl DecidedVia {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            DecidedVia::Push => "push",
            DecidedVia::Sms => "sms",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<DecidedVia> {
        match s {
            "push" => Some(DecidedVia::Push),
            "sms" => Some(DecidedVia::Sms),
            _ => None,
        }
    }
}

/// Countries offered in the phone number form: ISO region code and name.
pub const PHONE_COUNTRIES: &[(&str, &str)] = &[
    ("US", "United States (+1)"),
    ("GB", "United Kingdom (+44)"),
    ("DE", "Germany (+49)"),
    ("FR", "France (+33)"),
    ("NL", "Netherlands (+31)"),
    ("ES", "Spain (+34)"),
    ("IT", "Italy (+39)"),
    ("IE", "Ireland (+353)"),
    ("BE", "Belgium (+32)"),
    ("AT", "Austria (+43)"),
    ("PL", "Poland (+48)"),
    ("SE", "Sweden (+46)"),
    ("PT", "Portugal (+351)"),
    ("CA", "Canada (+1)"),
    ("AU", "Australia (+61)"),
    ("IN", "India (+91)"),
    ("BR", "Brazil (+55)"),
];

/// Why an amount typed by a person is not acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("Enter an amount, like 20 or 20.50.")]
    Empty,
    #[error("Enter the amount as a number, like 20 or 1,000.50.")]
    NotANumber,
    #[error("Use at most two decimals.")]
    TooManyDecimals,
    #[error("The amount must be more than zero.")]
    NotPositive,
    #[error("That amount is too large (at most 1,000,000.00).")]
    TooLarge,
}

/// The largest payment accepted, in minor units.
pub const MAX_AMOUNT_CENTS: i64 = 100_000_000;

/// Parses an amount as people type it (`20`, `20.5`, `1,000.00`) into minor units.
/// Never goes through floating point.
pub fn parse_amount(input: &str) -> Result<i64, AmountError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(AmountError::Empty);
    }
    if s.starts_with('-') {
        return Err(AmountError::NotPositive);
    }
    let s = s.strip_prefix('+').unwrap_or(s);
    let (whole, fraction) = match s.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (s, None),
    };
    // Thousands separators: groups of exactly three digits after the first group.
    let groups: Vec<&str> = whole.split(',').collect();
    let grouped_ok = groups.len() == 1
        || (!groups[0].is_empty()
            && groups[0].len() <= 3
            && groups[1..].iter().all(|g| g.len() == 3));
    let digits: String = groups.concat();
    if !grouped_ok
        || (digits.is_empty() && fraction.is_none_or(str::is_empty))
        || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(AmountError::NotANumber);
    }
    let fraction = fraction.unwrap_or("");
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AmountError::NotANumber);
    }
    if fraction.len() > 2 {
        return Err(AmountError::TooManyDecimals);
    }
    let digits = digits.trim_start_matches('0');
    if digits.len() > 12 {
        return Err(AmountError::TooLarge);
    }
    let whole: i64 = if digits.is_empty() {
        0
    } else {
        digits.parse().map_err(|_| AmountError::NotANumber)?
    };
    let cents: i64 = format!("{fraction:0<2}").parse().unwrap_or(0);
    let total = whole * 100 + cents;
    if total <= 0 {
        Err(AmountError::NotPositive)
    } else if total > MAX_AMOUNT_CENTS {
        Err(AmountError::TooLarge)
    } else {
        Ok(total)
    }
}

/// Formats minor units for people: `$1,000.00`, `€20.50`, `CHF 5.00`.
pub fn format_amount(cents: i64, currency: &str) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    let whole = (abs / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let number = format!("{grouped}.{:02}", abs % 100);
    match currency {
        "USD" => format!("{sign}${number}"),
        "EUR" => format!("{sign}€{number}"),
        "GBP" => format!("{sign}£{number}"),
        other => format!("{sign}{other} {number}"),
    }
}

/// Where a payment is in its life. Only `Pending` ever changes, and only once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PaymentStatus {
    Pending,
    Approved,
    Denied,
    Expired,
    Failed,
}

/// Something that can happen to a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentEvent {
    Approve,
    Deny,
    Expire,
    Fail,
}

impl PaymentStatus {
    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Pending => "pending",
            PaymentStatus::Approved => "approved",
            PaymentStatus::Denied => "denied",
            PaymentStatus::Expired => "expired",
            PaymentStatus::Failed => "failed",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => PaymentStatus::Pending,
            "approved" => PaymentStatus::Approved,
            "denied" => PaymentStatus::Denied,
            "expired" => PaymentStatus::Expired,
            "failed" => PaymentStatus::Failed,
            _ => return None,
        })
    }

    /// Whether the status is decided for good.
    pub fn is_final(self) -> bool {
        self != PaymentStatus::Pending
    }

    /// The one transition function: a pending payment moves once; a decided one never
    /// moves again (`None`).
    pub fn apply(self, event: PaymentEvent) -> Option<PaymentStatus> {
        match (self, event) {
            (PaymentStatus::Pending, PaymentEvent::Approve) => Some(PaymentStatus::Approved),
            (PaymentStatus::Pending, PaymentEvent::Deny) => Some(PaymentStatus::Denied),
            (PaymentStatus::Pending, PaymentEvent::Expire) => Some(PaymentStatus::Expired),
            (PaymentStatus::Pending, PaymentEvent::Fail) => Some(PaymentStatus::Failed),
            _ => None,
        }
    }
}

/// A payment as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentView {
    pub id: String,
    pub payee: String,
    /// Formatted for display, e.g. `$20.00`.
    pub amount: String,
    pub status: PaymentStatus,
    /// Unix seconds.
    pub created_at: i64,
    /// `push` or `sms`, once decided by the user.
    pub decided_via: Option<String>,
    pub failure_reason: Option<String>,
    /// Whether an SMS code was sent for it.
    pub sms_sent: bool,
}

/// One event in a payment's audit timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// Unix seconds.
    pub at: i64,
    pub event: String,
    pub outcome: String,
    pub detail: String,
}

/// One page of the payments list, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentList {
    pub items: Vec<PaymentView>,
    pub page: u32,
    pub has_more: bool,
}

/// Wrong SMS codes allowed for one payment before it fails (PSD2 RTS 4(3)(b)).
pub const MAX_SMS_ATTEMPTS: u32 = 5;

/// A date for lists: `2026-11-26 08:55 UTC`, the same text on the server and in the browser.
pub fn format_time(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm), proleptic Gregorian calendar.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        secs / 3600,
        (secs / 60) % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_people_type_are_parsed_to_cents() {
        for (input, cents) in [
            ("20", 2000),
            ("20.5", 2050),
            ("20.50", 2050),
            ("1,000.00", 100_000),
            ("1,234,567", 123_456_700),
            (" 0.01 ", 1),
            (".5", 50),
            ("007", 700),
            ("+3", 300),
            ("1000000", 100_000_000),
        ] {
            let parsed = parse_amount(input);
            if cents > MAX_AMOUNT_CENTS {
                assert_eq!(parsed, Err(AmountError::TooLarge), "{input:?}");
            } else {
                assert_eq!(parsed, Ok(cents), "{input:?}");
            }
        }
    }

    #[test]
    fn bad_amounts_are_refused_with_the_reason() {
        for (input, error) in [
            ("", AmountError::Empty),
            ("   ", AmountError::Empty),
            ("-5", AmountError::NotPositive),
            ("0", AmountError::NotPositive),
            ("0.00", AmountError::NotPositive),
            ("20.555", AmountError::TooManyDecimals),
            ("1000000.01", AmountError::TooLarge),
            ("99999999999999999999999", AmountError::TooLarge),
            ("abc", AmountError::NotANumber),
            ("1e5", AmountError::NotANumber),
            ("1,00", AmountError::NotANumber),
            ("1.2.3", AmountError::NotANumber),
            ("20 USD", AmountError::NotANumber),
            ("NaN", AmountError::NotANumber),
            (".", AmountError::NotANumber),
            ("١٢", AmountError::NotANumber),
        ] {
            assert_eq!(parse_amount(input), Err(error), "{input:?}");
        }
    }

    #[test]
    fn amounts_are_formatted_with_symbol_and_separators() {
        assert_eq!(format_amount(100_000, "USD"), "$1,000.00");
        assert_eq!(format_amount(2050, "EUR"), "€20.50");
        assert_eq!(format_amount(5, "GBP"), "£0.05");
        assert_eq!(format_amount(123_456_789, "CHF"), "CHF 1,234,567.89");
        assert_eq!(format_amount(-2000, "USD"), "-$20.00");
    }

    #[test]
    fn formatting_then_parsing_gives_the_same_cents() {
        for cents in [1, 99, 100, 2050, 100_000, 99_999_999] {
            let text = format_amount(cents, "USD");
            assert_eq!(parse_amount(text.trim_start_matches('$')), Ok(cents));
        }
    }

    #[test]
    fn a_pending_payment_is_decided_once_and_never_again() {
        use PaymentEvent::*;
        use PaymentStatus::*;
        assert_eq!(Pending.apply(Approve), Some(Approved));
        assert_eq!(Pending.apply(Deny), Some(Denied));
        assert_eq!(Pending.apply(Expire), Some(Expired));
        assert_eq!(Pending.apply(Fail), Some(Failed));
        for decided in [Approved, Denied, Expired, Failed] {
            assert!(decided.is_final());
            for event in [Approve, Deny, Expire, Fail] {
                assert_eq!(decided.apply(event), None, "{decided:?} + {event:?}");
            }
        }
        assert!(!Pending.is_final());
    }

    #[test]
    fn statuses_round_trip_through_their_names() {
        use PaymentStatus::*;
        for s in [Pending, Approved, Denied, Expired, Failed] {
            assert_eq!(PaymentStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(PaymentStatus::parse("approved; DROP TABLE"), None);
    }

    #[test]
    fn times_are_shown_as_utc_dates() {
        assert_eq!(format_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_time(1_764_140_001), "2025-11-26 06:53 UTC");
        assert_eq!(format_time(951_782_400), "2000-02-29 00:00 UTC");
    }
}
