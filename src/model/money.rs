//! Money: amounts in minor units with their currency, parsed and shown as people write
//! them, never through floating point.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An amount in a currency's minor units (cents), with the currency's ISO 4217 code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    pub minor_units: i64,
    pub currency: String,
}

impl Money {
    /// Parses an amount as a person typed it, in `currency`.
    pub fn parse(input: &str, currency: &str) -> Result<Money, AmountError> {
        Ok(Money {
            minor_units: parse_amount(input)?,
            currency: currency.to_string(),
        })
    }
}

impl Money {
    /// The amount as a person would type it, without symbol or separators (`1000.00`).
    pub fn typed(&self) -> String {
        let sign = if self.minor_units < 0 { "-" } else { "" };
        let abs = self.minor_units.unsigned_abs();
        format!("{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_amount(self.minor_units, &self.currency))
    }
}

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
            let money = Money {
                minor_units: cents,
                currency: "USD".into(),
            };
            assert_eq!(parse_amount(&money.typed()), Ok(cents));
        }
    }
}
