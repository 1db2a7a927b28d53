//! Money: amounts in minor units with their currency, parsed and shown as people write
//! them, never through floating point.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An amount in a currency's minor units (cents), with its currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    pub minor_units: i64,
    pub currency: Currency,
}

/// A currency payments can be made in: an ISO 4217 currency with a minor unit (not gold,
/// not the "no currency" code). Parsed once from its code; stored and sent as the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(iso_currency::Currency);

impl Currency {
    /// The currency of this code (`USD`, `EUR`, `JPY`; upper case, as ISO 4217 writes it).
    pub fn parse(code: &str) -> Option<Currency> {
        iso_currency::Currency::from_code(code)
            .filter(|c| c.exponent().is_some())
            .map(Currency)
    }

    /// Its ISO 4217 code.
    pub fn code(self) -> &'static str {
        self.0.code()
    }

    /// Digits after the decimal point (ISO 4217): 2 for USD, 0 for JPY, 3 for KWD.
    pub fn exponent(self) -> u32 {
        self.0.exponent().map_or(2, u32::from)
    }

    /// What comes before an amount: the symbol for the currencies people know by theirs,
    /// otherwise the code and a space (`$`, `€`, `£`, `¥`, `CHF `, `KWD `). Many currencies
    /// share a symbol (`$`, `kr`), so the code is the safe default.
    fn prefix(self) -> String {
        const BY_SYMBOL: [&str; 4] = ["USD", "EUR", "GBP", "JPY"];
        if BY_SYMBOL.contains(&self.code()) {
            self.0.symbol().symbol
        } else {
            format!("{} ", self.code())
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl TryFrom<String> for Currency {
    type Error = String;

    fn try_from(code: String) -> Result<Self, Self::Error> {
        Currency::parse(&code)
            .ok_or_else(|| format!("not a currency payments are made in: {code:?}"))
    }
}

impl From<Currency> for String {
    fn from(currency: Currency) -> Self {
        currency.code().to_string()
    }
}

impl Money {
    /// Parses an amount as a person typed it, in `currency` (with its number of decimals).
    pub fn parse(input: &str, currency: Currency) -> Result<Money, AmountError> {
        Ok(Money {
            minor_units: parse_amount(input, currency.exponent())?,
            currency,
        })
    }

    /// The amount as a person would type it, without symbol or separators (`1000.00`,
    /// `1500` in yen).
    pub fn typed(&self) -> String {
        let sign = if self.minor_units < 0 { "-" } else { "" };
        let (whole, fraction) = split(self.minor_units.unsigned_abs(), self.currency.exponent());
        format!("{sign}{whole}{fraction}")
    }
}

/// The whole units and the fraction with its point (`".50"`, or `""` without decimals).
fn split(abs: u64, exponent: u32) -> (u64, String) {
    let scale = 10u64.pow(exponent);
    let fraction = match exponent {
        0 => String::new(),
        digits => format!(".{:0width$}", abs % scale, width = digits as usize),
    };
    (abs / scale, fraction)
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_amount(self.minor_units, self.currency))
    }
}

/// Why an amount typed by a person is not acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("Enter an amount, like 20 or 20.50.")]
    Empty,
    #[error("Enter the amount as a number, like 20 or 1,000.50.")]
    NotANumber,
    #[error("{}", decimals_hint(*max))]
    TooManyDecimals { max: u32 },
    #[error("The amount must be more than zero.")]
    NotPositive,
    #[error("That amount is too large (at most 1,000,000).")]
    TooLarge,
}

fn decimals_hint(max: u32) -> String {
    match max {
        0 => "Enter a whole amount, without decimals.".to_string(),
        1 => "Use at most one decimal.".to_string(),
        2 => "Use at most two decimals.".to_string(),
        3 => "Use at most three decimals.".to_string(),
        n => format!("Use at most {n} decimals."),
    }
}

/// The largest payment accepted, in whole units of its currency.
pub const MAX_AMOUNT_UNITS: i64 = 1_000_000;

/// The largest payment accepted in minor units of a currency with two decimals.
pub const MAX_AMOUNT_CENTS: i64 = MAX_AMOUNT_UNITS * 100;

/// Parses an amount as people type it (`20`, `20.5`, `1,000.00`) into minor units of a
/// currency with `exponent` decimals. Never goes through floating point.
pub fn parse_amount(input: &str, exponent: u32) -> Result<i64, AmountError> {
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
    if fraction.len() > exponent as usize {
        return Err(AmountError::TooManyDecimals { max: exponent });
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
    let scale = 10i64.pow(exponent);
    let minor: i64 = if exponent == 0 {
        0
    } else {
        format!("{fraction:0<width$}", width = exponent as usize)
            .parse()
            .unwrap_or(0)
    };
    let total = whole * scale + minor;
    if total <= 0 {
        Err(AmountError::NotPositive)
    } else if total > MAX_AMOUNT_UNITS * scale {
        Err(AmountError::TooLarge)
    } else {
        Ok(total)
    }
}

/// Formats minor units for people: `$1,000.00`, `€20.50`, `¥1,500`, `KWD 1.234`.
pub fn format_amount(minor: i64, currency: Currency) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let prefix = currency.prefix();
    let (whole, fraction) = split(minor.unsigned_abs(), currency.exponent());
    let whole = whole.to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}{prefix}{grouped}{fraction}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(code: &str) -> Currency {
        Currency::parse(code).expect("a currency")
    }

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
            let parsed = parse_amount(input, 2);
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
            ("20.555", AmountError::TooManyDecimals { max: 2 }),
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
            assert_eq!(parse_amount(input, 2), Err(error), "{input:?}");
        }
    }

    #[test]
    fn amounts_are_formatted_with_symbol_and_separators() {
        assert_eq!(format_amount(100_000, c("USD")), "$1,000.00");
        assert_eq!(format_amount(2050, c("EUR")), "€20.50");
        assert_eq!(format_amount(5, c("GBP")), "£0.05");
        assert_eq!(format_amount(123_456_789, c("CHF")), "CHF 1,234,567.89");
        assert_eq!(format_amount(-2000, c("USD")), "-$20.00");
    }

    #[test]
    fn formatting_then_parsing_gives_the_same_cents() {
        for cents in [1, 99, 100, 2050, 100_000, 99_999_999] {
            let text = format_amount(cents, c("USD"));
            assert_eq!(parse_amount(text.trim_start_matches('$'), 2), Ok(cents));
            let money = Money {
                minor_units: cents,
                currency: c("USD"),
            };
            assert_eq!(parse_amount(&money.typed(), 2), Ok(cents));
        }
    }

    #[test]
    fn amounts_follow_the_currency_s_decimals() {
        assert_eq!(c("JPY").exponent(), 0);
        assert_eq!(c("KWD").exponent(), 3);
        assert_eq!(c("USD").exponent(), 2);
        assert_eq!(parse_amount("1,500", 0), Ok(1500));
        assert_eq!(
            parse_amount("1500.00", 0),
            Err(AmountError::TooManyDecimals { max: 0 })
        );
        assert_eq!(
            parse_amount("1500.5", 0),
            Err(AmountError::TooManyDecimals { max: 0 })
        );
        assert_eq!(parse_amount("1.234", 3), Ok(1234));
        assert_eq!(
            parse_amount("1.2345", 3),
            Err(AmountError::TooManyDecimals { max: 3 })
        );
        assert_eq!(parse_amount("1000000", 0), Ok(1_000_000));
        assert_eq!(parse_amount("1000001", 0), Err(AmountError::TooLarge));
        assert_eq!(format_amount(1500, c("JPY")), "¥1,500");
        assert_eq!(format_amount(1234, c("KWD")), "KWD 1.234");
        let yen = Money::parse("1,500", c("JPY")).expect("yen");
        assert_eq!((yen.minor_units, yen.typed()), (1500, "1500".to_string()));
        assert_eq!(
            AmountError::TooManyDecimals { max: 0 }.to_string(),
            "Enter a whole amount, without decimals."
        );
    }

    #[test]
    fn only_currencies_with_a_minor_unit_are_known() {
        assert!(Currency::parse("EUR").is_some());
        assert!(Currency::parse("JPY").is_some());
        assert!(Currency::parse("XAU").is_none());
        assert!(Currency::parse("ABC").is_none());
        assert!(Currency::parse("usd").is_none());
    }
}
