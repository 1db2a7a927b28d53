//! Passkeys: what their owner sees of them, and what a page needs to ask the browser for
//! one.

use serde::{Deserialize, Serialize};

/// One of the user's passkeys, as the account page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyView {
    pub id: String,
    pub name: String,
    /// Unix seconds.
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// A WebAuthn ceremony the server started: the browser passes `options` (the
/// `publicKey` member, as WebAuthn's JSON form) to the authenticator and sends the answer
/// back with `challenge_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyCeremony {
    pub challenge_id: String,
    pub options: String,
    /// For an approval: who is paid and how much, shown beside the prompt.
    pub payee: Option<String>,
    pub amount: Option<String>,
}

/// A passkey's name: 1 to 60 characters, trimmed, nothing invisible or unprintable.
pub fn parse_passkey_name(input: &str) -> Result<String, &'static str> {
    let name = input.trim();
    if name.is_empty() {
        Err("Give the passkey a name, such as the device it is on.")
    } else if name.chars().count() > 60 {
        Err("Keep the name to 60 characters.")
    } else if name
        .chars()
        .any(|c| c.is_control() || super::is_format_char(c))
    {
        Err("The name has characters that cannot be shown.")
    } else {
        Ok(name.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_checked() {
        assert_eq!(
            parse_passkey_name("  My phone "),
            Ok("My phone".to_string())
        );
        assert!(parse_passkey_name("   ").is_err());
        assert!(parse_passkey_name(&"x".repeat(61)).is_err());
        assert!(parse_passkey_name("a\u{202E}b").is_err());
        assert!(parse_passkey_name("a\nb").is_err());
    }
}
