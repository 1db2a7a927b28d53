//! What the audit trail records: one kind per security-relevant action.

use serde::{Deserialize, Serialize};

/// The kind of an audit event, stored (and sent) by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    /// A sign-in attempt (`success`, `failure`, `locked`).
    SignIn,
    /// A phone verification code was sent (or refused by the budget).
    VerificationSent,
    /// A phone verification code was checked.
    VerificationChecked,
    /// A payment was created.
    PaymentCreated,
    /// The push approval request was sent to the phone.
    PushSent,
    /// The SMS code for a payment was sent.
    SmsSent,
    /// An SMS code for a payment was checked.
    Code,
    /// A provider callback arrived.
    Callback,
    /// A payment was decided by its owner.
    Decision,
    /// A payment expired without an answer.
    Expiry,
    /// A passkey was added, removed, used or refused (the outcome says which).
    Passkey,
    /// A phone was added for push approvals, or removed (Verify Push).
    PushDevice,
}

impl AuditKind {
    pub const ALL: [AuditKind; 12] = [
        AuditKind::SignIn,
        AuditKind::VerificationSent,
        AuditKind::VerificationChecked,
        AuditKind::PaymentCreated,
        AuditKind::PushSent,
        AuditKind::SmsSent,
        AuditKind::Code,
        AuditKind::Callback,
        AuditKind::Decision,
        AuditKind::Expiry,
        AuditKind::Passkey,
        AuditKind::PushDevice,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditKind::SignIn => "sign_in",
            AuditKind::VerificationSent => "verification_sent",
            AuditKind::VerificationChecked => "verification_checked",
            AuditKind::PaymentCreated => "payment_created",
            AuditKind::PushSent => "push_sent",
            AuditKind::SmsSent => "sms_sent",
            AuditKind::Code => "code",
            AuditKind::Callback => "callback",
            AuditKind::Decision => "decision",
            AuditKind::Expiry => "expiry",
            AuditKind::Passkey => "passkey",
            AuditKind::PushDevice => "push_device",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<AuditKind> {
        AuditKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_stored_names() {
        for kind in AuditKind::ALL {
            assert_eq!(AuditKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(AuditKind::parse("decision "), None);
    }

    #[test]
    fn kinds_are_sent_by_their_stored_names() {
        for kind in AuditKind::ALL {
            let sent = serde_json::to_string(&kind).expect("json");
            assert_eq!(sent, format!("\"{}\"", kind.as_str()));
        }
    }
}
