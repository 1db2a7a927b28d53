//! Twilio's identifiers (SIDs): two letters that say what kind of thing it is and 32
//! hexadecimal digits. One type per kind, checked where it arrives (configuration, a
//! provider's answer, a webhook, a stored row), so a verification's SID can never be
//! sent where a factor's is expected. Authy's id of a user is here too: every id a
//! provider gives is typed in one place.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! sid {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The two letters every SID of this kind starts with.
            pub const PREFIX: &'static str = $prefix;

            /// `value` if it is a SID of this kind: the prefix and 32 hex digits.
            pub fn parse(value: &str) -> Option<Self> {
                is_sid(Self::PREFIX, value).then(|| Self(value.to_string()))
            }

            /// A new random SID of this kind, as Twilio makes them (the sandbox's).
            pub fn random() -> Self {
                Self(format!("{}{}", Self::PREFIX, uuid::Uuid::new_v4().simple()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = std::borrow::Cow::<str>::deserialize(d)?;
                Self::parse(&text).ok_or_else(|| {
                    serde::de::Error::custom(concat!("not a ", stringify!($name), " (", $prefix, " and 32 hex digits)"))
                })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl sqlx::Type<sqlx::Any> for $name {
            fn type_info() -> sqlx::any::AnyTypeInfo {
                <String as sqlx::Type<sqlx::Any>>::type_info()
            }

            fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
                <String as sqlx::Type<sqlx::Any>>::compatible(ty)
            }
        }

        impl<'q> sqlx::Encode<'q, sqlx::Any> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut <sqlx::Any as sqlx::Database>::ArgumentBuffer<'q>,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <String as sqlx::Encode<'q, sqlx::Any>>::encode_by_ref(&self.0, buf)
            }
        }

        /// A stored SID that is not of this kind is a decoding error, never passed on.
        impl<'r> sqlx::Decode<'r, sqlx::Any> for $name {
            fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <String as sqlx::Decode<'r, sqlx::Any>>::decode(value)?;
                Self::parse(&text).ok_or_else(|| format!("not a {}: {text:?}", stringify!($name)).into())
            }
        }
    };
}

/// Whether `value` is a Twilio SID of this prefix: the two letters and 32 hex digits.
pub fn is_sid(prefix: &str, value: &str) -> bool {
    value.len() == 34
        && value.starts_with(prefix)
        && value[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

sid!(
    /// A Twilio account (`AC…`).
    AccountSid, "AC"
);
sid!(
    /// An API key of the account (`SK…`), an alternative to the account's own credentials.
    ApiKeySid, "SK"
);
sid!(
    /// A Verify service (`VA…`).
    ServiceSid, "VA"
);
sid!(
    /// One verification: a code sent by SMS (`VE…`).
    VerificationSid, "VE"
);
sid!(
    /// A push factor: one phone's app registered for one identity (`YF…`).
    FactorSid, "YF"
);
sid!(
    /// A push challenge: one approval request sent to a factor (`YC…`).
    ChallengeSid, "YC"
);

/// Authy's id of a user (`authy_id`), given when the user is registered with Authy and
/// named in every call about them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
#[derive(sqlx::Type)]
#[sqlx(transparent)]
pub struct AuthyId(pub i64);

impl fmt::Display for AuthyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sid_is_its_kind_s_two_letters_and_32_hex_digits() {
        let made = VerificationSid::random();
        assert_eq!(VerificationSid::parse(made.as_str()), Some(made.clone()));
        assert_eq!(made.as_str().len(), 34);
        assert!(
            FactorSid::parse(made.as_str()).is_none(),
            "a VE is not a YF"
        );
        assert!(VerificationSid::parse("VE123").is_none());
        assert!(VerificationSid::parse(&format!("VE{}", "g".repeat(32))).is_none());
        let json = serde_json::to_string(&made).expect("json");
        assert_eq!(
            serde_json::from_str::<VerificationSid>(&json).ok(),
            Some(made)
        );
        assert!(serde_json::from_str::<ChallengeSid>(&json).is_err());
    }
}
