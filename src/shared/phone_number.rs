//! Phone numbers: parsed with libphonenumber's rules, never with a regex.

use crate::error::FormField;
use phonenumber::{country, metadata::DATABASE, Mode, Type};

use crate::{error::AppError, model::Via};

/// A valid phone number, split the way the Authy API wants it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone {
    /// `+15555550123`
    pub e164: String,
    /// Country calling code digits, e.g. `1` or `44`.
    pub country_code: String,
    /// National significant number, leading zeros kept (Italy).
    pub national: String,
    /// The number's country (ISO code such as `US`), when its numbering plan says.
    pub region: Option<String>,
    /// What kind of line it is, by its numbering plan.
    pub line: Line,
}

/// What a number can receive, by the kind of line its numbering plan says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line {
    /// A mobile (or a number that may be one, as in the US, or whose plan does not say:
    /// libphonenumber's data types no Italian landline): SMS and calls.
    Mobile,
    /// A landline: calls only.
    Landline,
    /// Premium-rate, shared-cost, toll-free, VoIP, pager and other service numbers: a code
    /// sent there costs money or reaches no person's phone (SMS pumping's favourites).
    Service,
}

impl Line {
    fn of(kind: Type) -> Line {
        match kind {
            Type::Mobile | Type::FixedLineOrMobile | Type::Unknown => Line::Mobile,
            Type::FixedLine => Line::Landline,
            _ => Line::Service,
        }
    }
}

/// Whether codes may be sent to `phone` by `via`, with the countries `allowed` (empty: all);
/// the registration form's error otherwise.
pub fn check_reachable(phone: &Phone, via: Via, allowed: &[String]) -> Result<(), AppError> {
    if !allowed.is_empty()
        && !phone
            .region
            .as_ref()
            .is_some_and(|region| allowed.iter().any(|a| a == region))
    {
        return Err(AppError::field(
            FormField::Phone,
            "Payfriend cannot send codes to numbers in this country. Use a mobile number from \
             a country it serves.",
        ));
    }
    match (phone.line, via) {
        (Line::Service, _) => Err(AppError::field(
            FormField::Phone,
            "This is a premium-rate, shared-cost or service number, which cannot receive \
             codes. Use your mobile number.",
        )),
        (Line::Landline, Via::Sms) => Err(AppError::field(
            FormField::Phone,
            "This looks like a landline, which cannot receive SMS. Use a mobile number, or \
             choose a voice call.",
        )),
        _ => Ok(()),
    }
}

/// Parses `number` as written in `region` (ISO code such as `US`); a number starting
/// with `+` carries its own country.
pub fn parse(region: &str, number: &str) -> Option<Phone> {
    let number = number.trim();
    if number.is_empty() || number.len() > 32 {
        return None;
    }
    // A number in international form ignores the region: given one, the parser strips that
    // region's national prefix from it ("+49 1512..." read in the US lost its "1").
    let region: Option<country::Id> = if number.starts_with('+') {
        None
    } else {
        region.trim().to_ascii_uppercase().parse().ok()
    };
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
        region: parsed.country().id().map(|id| id.as_ref().to_string()),
        line: Line::of(parsed.number_type(&DATABASE)),
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
    fn an_international_number_keeps_its_digits_whatever_the_region() {
        let phone = parse("US", "+49 1512 3456789").expect("a German mobile");
        assert_eq!(phone.e164, "+4915123456789");
        assert_eq!(phone.national, "15123456789");
        assert_eq!(phone.line, Line::Mobile);
    }

    #[test]
    fn italian_leading_zeros_are_kept() {
        let phone = parse("IT", "06 4547 1234").expect("valid Rome number");
        assert_eq!(phone.country_code, "39");
        assert_eq!(phone.national, "0645471234");
    }

    #[test]
    fn service_numbers_and_sms_to_landlines_are_refused() {
        let premium = parse("US", "+1 900 234 5678").expect("a valid premium-rate number");
        assert_eq!(premium.line, Line::Service);
        let uk_premium = parse("GB", "09098 790000").expect("a valid UK premium-rate number");
        assert_eq!(uk_premium.line, Line::Service);
        let toll_free = parse("US", "+1 800 234 5678").expect("a valid toll-free number");
        assert_eq!(toll_free.line, Line::Service);
        for (phone, via) in [
            (&premium, Via::Sms),
            (&uk_premium, Via::Call),
            (&toll_free, Via::Sms),
        ] {
            assert!(check_reachable(phone, via, &[]).is_err(), "{phone:?}");
        }
        let landline = parse("DE", "030 12345678").expect("a Berlin landline");
        assert_eq!(landline.line, Line::Landline);
        assert!(check_reachable(&landline, Via::Sms, &[]).is_err());
        assert_eq!(check_reachable(&landline, Via::Call, &[]), Ok(()));
        let de_mobile = parse("DE", "01512 3456789").expect("a German mobile");
        assert_eq!(de_mobile.line, Line::Mobile);
        assert_eq!(de_mobile.region.as_deref(), Some("DE"));
        let us = parse("US", "(201) 555-0123").expect("a US number");
        assert_eq!(
            us.line,
            Line::Mobile,
            "fixed line or mobile: it may be a mobile"
        );
        assert_eq!(check_reachable(&us, Via::Sms, &[]), Ok(()));
    }

    #[test]
    fn only_the_allowed_countries_may_register_when_a_list_is_set() {
        let fr_mobile = parse("US", "+33 6 12 34 56 78").expect("a French mobile");
        let us = parse("US", "(201) 555-0123").expect("a US number");
        let allowed = vec!["US".to_string(), "DE".to_string()];
        assert_eq!(check_reachable(&us, Via::Sms, &allowed), Ok(()));
        let refused = check_reachable(&fr_mobile, Via::Sms, &allowed).expect_err("not allowed");
        assert!(refused
            .for_field(FormField::Phone)
            .is_some_and(|m| m.contains("country")));
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
