//! Payments: who is paid, the life of a payment and how its owner sees it.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{AuditKind, AuditOutcome, PaymentId};

/// Who is paid: 1 to 100 characters, trimmed, nothing invisible or unprintable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "ssr", derive(sqlx::Type), sqlx(transparent))]
pub struct Payee(String);

/// Why a typed payee name is not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PayeeError {
    #[error("Enter who you are paying.")]
    Empty,
    #[error("Keep the payee's name to 100 characters.")]
    TooLong,
    #[error("The payee's name has characters that cannot be shown.")]
    Control,
    #[error(
        "The payee's name has invisible formatting characters (such as text-direction \
         overrides); type the name again without them."
    )]
    Invisible,
}

impl Payee {
    /// Checks a payee name as typed.
    pub fn parse(input: &str) -> Result<Payee, PayeeError> {
        let payee = input.trim();
        if payee.is_empty() {
            Err(PayeeError::Empty)
        } else if payee.chars().count() > 100 {
            Err(PayeeError::TooLong)
        } else if payee.chars().any(char::is_control) {
            Err(PayeeError::Control)
        } else if payee.chars().any(is_format_char) {
            Err(PayeeError::Invisible)
        } else {
            Ok(Payee(payee.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Payee {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Unicode's format characters (general category Cf, Unicode 15): invisible, and some
/// (bidi overrides) reorder the text around them, so a name could read as another.
pub fn is_format_char(c: char) -> bool {
    const CF: &[(u32, u32)] = &[
        (0x00AD, 0x00AD),
        (0x0600, 0x0605),
        (0x061C, 0x061C),
        (0x06DD, 0x06DD),
        (0x070F, 0x070F),
        (0x0890, 0x0891),
        (0x08E2, 0x08E2),
        (0x180E, 0x180E),
        (0x200B, 0x200F),
        (0x202A, 0x202E),
        (0x2060, 0x2064),
        (0x2066, 0x206F),
        (0xFEFF, 0xFEFF),
        (0xFFF9, 0xFFFB),
        (0x110BD, 0x110BD),
        (0x110CD, 0x110CD),
        (0x13430, 0x1343F),
        (0x1BCA0, 0x1BCA3),
        (0x1D173, 0x1D17A),
        (0xE0001, 0xE0001),
        (0xE0020, 0xE007F),
    ];
    let c = u32::from(c);
    CF.iter().any(|&(lo, hi)| (lo..=hi).contains(&c))
}

/// How the owner decided a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecidedVia {
    /// On the phone, answering the push request.
    Push,
    /// With the SMS code bound to the payment.
    Sms,
    /// By its owner on the payment page (cancelling it).
    Owner,
    /// With one of the owner's passkeys, on the payment page.
    Passkey,
}

impl DecidedVia {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            DecidedVia::Push => "push",
            DecidedVia::Sms => "sms",
            DecidedVia::Owner => "owner",
            DecidedVia::Passkey => "passkey",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<DecidedVia> {
        match s {
            "push" => Some(DecidedVia::Push),
            "sms" => Some(DecidedVia::Sms),
            "owner" => Some(DecidedVia::Owner),
            "passkey" => Some(DecidedVia::Passkey),
            _ => None,
        }
    }
}

/// Where a payment is in its life. Only `Pending` ever changes, and only once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    Pending,
    Approved,
    Denied,
    Expired,
    Failed,
    /// Withdrawn by its owner before anyone answered.
    Cancelled,
}

/// Something that can happen to a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentEvent {
    Approve,
    Deny,
    Expire,
    Fail,
    Cancel,
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
            PaymentStatus::Cancelled => "cancelled",
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
            "cancelled" => PaymentStatus::Cancelled,
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
            (PaymentStatus::Pending, PaymentEvent::Cancel) => Some(PaymentStatus::Cancelled),
            _ => None,
        }
    }
}

/// A payment as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentView {
    pub id: PaymentId,
    pub payee: Payee,
    /// Formatted for display, e.g. `$20.00`.
    pub amount: String,
    /// As a person would type it (`1000.00`), to fill the form again.
    pub amount_typed: String,
    pub status: PaymentStatus,
    /// Unix seconds.
    pub created_at: i64,
    /// Until when (Unix seconds) the approval request can be answered.
    pub expires_at: i64,
    /// When it was decided (Unix seconds): for an expired payment, when it expired.
    pub decided_at: Option<i64>,
    /// How the owner decided it, once they did.
    pub decided_via: Option<DecidedVia>,
    pub failure_reason: Option<String>,
    /// When the last SMS code was sent for it (Unix seconds), if one was.
    pub sms_sent_at: Option<i64>,
    /// Wrong SMS codes the payment can still take before it fails.
    pub sms_tries_left: u32,
    /// Push requests that can still be sent again for it.
    pub resends_left: u32,
    /// The server's clock (Unix seconds) when this view was made: a countdown runs on it,
    /// not on the browser's clock.
    pub server_time: i64,
}

impl PaymentView {
    /// Seconds left to answer at `now` (server time); zero once it is over.
    pub fn seconds_left(&self, now: i64) -> i64 {
        (self.expires_at - now).max(0)
    }

    /// Seconds until another SMS code may be sent at `now` (server time); zero when it may.
    pub fn next_code_in(&self, now: i64) -> i64 {
        self.sms_sent_at
            .map_or(0, |sent| (sent + SMS_RESEND_AFTER_SECS - now).max(0))
    }
}

/// One event in a payment's audit timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// Unix seconds.
    pub at: i64,
    pub event: AuditKind,
    pub outcome: AuditOutcome,
    pub detail: String,
}

/// A payment as a row of My payments shows it: only what the row needs, since a page of
/// rows is also written into the page for the browser to hydrate from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentListItem {
    pub id: PaymentId,
    pub payee: Payee,
    /// Formatted for display, e.g. `$20.00`.
    pub amount: String,
    /// As it is at the time of the list (`expired` once past its expiry).
    pub status: PaymentStatus,
    /// Unix seconds.
    pub created_at: i64,
}

/// One page of the payments list, newest first, with where the pages beside it start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentList {
    pub items: Vec<PaymentListItem>,
    /// The cursor of the page of newer payments, if there are any.
    pub newer: Option<String>,
    /// The cursor of the page of older payments, if there are any.
    pub older: Option<String>,
}

/// A place in the payments list: a payment's creation time and id (`1764140001.<uuid>`).
pub fn list_cursor(p: &PaymentListItem) -> String {
    format!("{}.{}", p.created_at, p.id)
}

/// Parses a cursor made by [`list_cursor`].
pub fn parse_list_cursor(s: &str) -> Option<(i64, PaymentId)> {
    let (at, id) = s.split_once('.')?;
    Some((at.parse().ok()?, PaymentId::parse(id)?))
}

/// Wrong SMS codes allowed for one payment before it fails (PSD2 RTS 4(3)(b)).
pub const MAX_SMS_ATTEMPTS: u32 = 5;

/// Push approval requests one payment may have: the first and two more ("Resend").
pub const MAX_PUSH_REQUESTS: u32 = 3;

/// Seconds between two SMS codes for the same payment.
pub const SMS_RESEND_AFTER_SECS: i64 = 30;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_cursors_round_trip_and_refuse_garbage() {
        let view = PaymentListItem {
            id: PaymentId::random(),
            payee: Payee::parse("Neville").expect("payee"),
            amount: "$1.00".into(),
            status: PaymentStatus::Pending,
            created_at: 1_764_140_001,
        };
        assert_eq!(
            parse_list_cursor(&list_cursor(&view)),
            Some((view.created_at, view.id.clone()))
        );
        for bad in ["", "1", "x.y", "1.not-a-uuid", "-.-"] {
            assert_eq!(parse_list_cursor(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn payee_names_are_trimmed_and_limited() {
        assert_eq!(
            Payee::parse("  Neville ").expect("valid").as_str(),
            "Neville"
        );
        assert_eq!(
            Payee::parse("<img src=x onerror=alert(1)>")
                .expect("text is text")
                .as_str(),
            "<img src=x onerror=alert(1)>"
        );
        assert_eq!(Payee::parse("   "), Err(PayeeError::Empty));
        assert_eq!(Payee::parse(&"x".repeat(101)), Err(PayeeError::TooLong));
        assert_eq!(Payee::parse("line\nbreak"), Err(PayeeError::Control));
    }

    #[test]
    fn payee_names_with_format_characters_are_refused() {
        for sneaky in [
            "Neville\u{202E}moc.live",
            "Nev\u{200B}ille",
            "\u{2066}Neville\u{2069}",
            "Neville\u{FEFF}",
            "tag\u{E0041}",
        ] {
            assert_eq!(
                Payee::parse(sneaky),
                Err(PayeeError::Invisible),
                "{sneaky:?}"
            );
        }
        assert_eq!(
            Payee::parse("Zoë Łukasz 王").expect("letters").as_str(),
            "Zoë Łukasz 王"
        );
    }

    #[test]
    fn a_pending_payment_is_decided_once_and_never_again() {
        use PaymentEvent::*;
        use PaymentStatus::*;
        assert_eq!(Pending.apply(Approve), Some(Approved));
        assert_eq!(Pending.apply(Deny), Some(Denied));
        assert_eq!(Pending.apply(Expire), Some(Expired));
        assert_eq!(Pending.apply(Fail), Some(Failed));
        assert_eq!(Pending.apply(Cancel), Some(Cancelled));
        for decided in [Approved, Denied, Expired, Failed, Cancelled] {
            assert!(decided.is_final());
            for event in [Approve, Deny, Expire, Fail, Cancel] {
                assert_eq!(decided.apply(event), None, "{decided:?} + {event:?}");
            }
        }
        assert!(!Pending.is_final());
    }

    #[test]
    fn statuses_round_trip_through_their_names() {
        use PaymentStatus::*;
        for s in [Pending, Approved, Denied, Expired, Failed, Cancelled] {
            assert_eq!(PaymentStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(PaymentStatus::parse("approved; DROP TABLE"), None);
    }
}
