//! Phone numbers: parsed with libphonenumber's rules, never with a regex.

use phonenumber::{country, Mode};

/// A valid phone number, split the way the Authy API wants it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone {
    /// `+15555550123`
    pub e164: String,
    /// Country calling code digits, e.g. `1` or `44`.
    pub country_code: String,
    /// National significant number, leading zeros kept (Italy).
    pub national: String,
}

/// Parses `number` as written in `region` (ISO code such as `US`); a number starting
/// with `+` carries its own country.
pub fn parse(region: &str, number: &str) -> Option<Phone> {
    let number = number.trim();
    if number.is_empty() || number.len() > 32 {
        return None;
    }
    let region: Option<country::Id> = region.trim().to_ascii_uppercase().parse().ok();
    let parsed = phonenumber::parse(region, number).ok()?;
    if !phonenumber::is_valid(&parsed) {
        return None;
    }
    let national = parsed.national();
    Some(Phone {
        e164: parsed.format().mode(Mode::E164).to_string(),
        country_code: parsed.code().value().to_string(),
        national: format!(
            "{}{}",
            "0".repeat(usize::from(national.zeros())),
            national.value()
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn national_numbers_are_parsed_in_their_region() {
        let phone = parse("US", "(201) 555-0123").expect("valid US number");
        assert_eq!(phone.e164, "+12015550123");
        assert_eq!(phone.country_code, "1");
        assert_eq!(phone.national, "2015550123");
    }

    #[test]
    fn an_international_number_ignores_the_region() {
        let phone = parse("US", "+44 7911 123456").expect("valid UK mobile");
        assert_eq!(phone.e164, "+447911123456");
        assert_eq!(phone.country_code, "44");
        assert_eq!(phone.national, "7911123456");
    }

    #[test]
    fn italian_leading_zeros_are_kept() {
        let phone = parse("IT", "06 4547 1234").expect("valid Rome number");
        assert_eq!(phone.country_code, "39");
        assert_eq!(phone.national, "0645471234");
    }

    #[test]
    fn nonsense_is_refused() {
        for input in [
            "",
            "12",
            "not a number",
            "+1 000 000 0000",
            "5555555555555555555555555",
        ] {
            assert_eq!(parse("US", input), None, "{input:?}");
        }
    }
}
