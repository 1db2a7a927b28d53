//! Identifiers: a UUID in its canonical text form, one type per kind of thing.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        #[cfg_attr(feature = "ssr", derive(sqlx::Type), sqlx(transparent))]
        pub struct $name(String);

        impl $name {
            /// A new random id.
            pub fn random() -> Self {
                Self(uuid::Uuid::new_v4().to_string())
            }

            /// Parses an id from outside (a URL, a form, a callback): any UUID spelling,
            /// stored in the canonical lower-case hyphenated form.
            pub fn parse(s: &str) -> Option<Self> {
                uuid::Uuid::parse_str(s.trim())
                    .ok()
                    .map(|u| Self(u.hyphenated().to_string()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        /// Read from the wire (a form, JSON) like [`Self::parse`]: a value that is not a
        /// UUID is refused there, before any server function sees it.
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = std::borrow::Cow::<str>::deserialize(d)?;
                Self::parse(&text).ok_or_else(|| {
                    serde::de::Error::custom(concat!("not a ", stringify!($name)))
                })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

uuid_id!(
    /// A payment's id (also its reference shown to the owner).
    PaymentId
);
uuid_id!(
    /// A user's id.
    UserId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_parsed_into_one_canonical_form() {
        let id = PaymentId::parse(" {936DA01F-9ABD-4D9D-80C7-02AF85C822A8} ").expect("a uuid");
        assert_eq!(id.as_str(), "936da01f-9abd-4d9d-80c7-02af85c822a8");
        assert_eq!(PaymentId::parse(id.as_str()), Some(id.clone()));
        assert_eq!(id.to_string(), id.as_str());
        assert_eq!(PaymentId::parse("936da01f"), None);
        assert_eq!(UserId::parse("../etc/passwd"), None);
        assert_ne!(UserId::random(), UserId::random());
    }

    #[test]
    fn ids_from_the_wire_are_parsed_or_refused() {
        let id: PaymentId =
            serde_json::from_str(r#"" 936DA01F-9ABD-4D9D-80C7-02AF85C822A8""#).expect("an id");
        assert_eq!(id.as_str(), "936da01f-9abd-4d9d-80c7-02af85c822a8");
        assert!(serde_json::from_str::<PaymentId>(r#""x""#).is_err());
        assert!(serde_json::from_str::<UserId>(r#""../etc/passwd""#).is_err());
    }
}
