//! What the audit trail records: one kind per security-relevant action.

use serde::{Deserialize, Serialize};

use super::PaymentStatus;

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

/// How an audited action went, stored (and sent) by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", from = "String")]
pub enum AuditOutcome {
    /// Done: a code or a request sent, a payment created (`ok`).
    Ok,
    /// Could not be done: a send the provider refused, a payment that failed (`failed`).
    Failed,
    /// A sign-in that succeeded (`success`) or failed (`failure`).
    Success,
    Failure,
    /// Sign-in is locked after too many failures (`locked`).
    Locked,
    /// A code, a callback or an event taken as the phone's answer (`accepted`); a code or a
    /// callback that was not (`rejected`).
    Accepted,
    Rejected,
    /// Not done, by a limit or a check of ours (`refused`).
    Refused,
    /// A passkey or a push device added (`added`), removed (`removed`); a passkey that
    /// confirmed a payment (`used`); a push device's enrolment code issued (`enrolment`).
    Added,
    Removed,
    Used,
    Enrolment,
    /// A decision: the status the payment ended in (`approved`, `denied`, `cancelled`; an
    /// expiry is `expired`, a failure `failed`).
    Approved,
    Denied,
    Cancelled,
    Expired,
    /// A name this version does not write, kept as stored (the trail is history).
    Other(String),
}

impl AuditOutcome {
    const NAMED: [AuditOutcome; 16] = [
        AuditOutcome::Ok,
        AuditOutcome::Failed,
        AuditOutcome::Success,
        AuditOutcome::Failure,
        AuditOutcome::Locked,
        AuditOutcome::Accepted,
        AuditOutcome::Rejected,
        AuditOutcome::Refused,
        AuditOutcome::Added,
        AuditOutcome::Removed,
        AuditOutcome::Used,
        AuditOutcome::Enrolment,
        AuditOutcome::Approved,
        AuditOutcome::Denied,
        AuditOutcome::Cancelled,
        AuditOutcome::Expired,
    ];

    /// The stored name.
    pub fn as_str(&self) -> &str {
        match self {
            AuditOutcome::Ok => "ok",
            AuditOutcome::Failed => "failed",
            AuditOutcome::Success => "success",
            AuditOutcome::Failure => "failure",
            AuditOutcome::Locked => "locked",
            AuditOutcome::Accepted => "accepted",
            AuditOutcome::Rejected => "rejected",
            AuditOutcome::Refused => "refused",
            AuditOutcome::Added => "added",
            AuditOutcome::Removed => "removed",
            AuditOutcome::Used => "used",
            AuditOutcome::Enrolment => "enrolment",
            AuditOutcome::Approved => "approved",
            AuditOutcome::Denied => "denied",
            AuditOutcome::Cancelled => "cancelled",
            AuditOutcome::Expired => "expired",
            AuditOutcome::Other(name) => name,
        }
    }

    /// The outcome a decision to `status` is recorded with.
    pub fn decided(status: PaymentStatus) -> AuditOutcome {
        match status {
            PaymentStatus::Approved => AuditOutcome::Approved,
            PaymentStatus::Denied => AuditOutcome::Denied,
            PaymentStatus::Cancelled => AuditOutcome::Cancelled,
            PaymentStatus::Expired => AuditOutcome::Expired,
            PaymentStatus::Failed => AuditOutcome::Failed,
            PaymentStatus::Pending => AuditOutcome::Other(status.as_str().into()),
        }
    }
}

impl From<String> for AuditOutcome {
    fn from(name: String) -> Self {
        AuditOutcome::NAMED
            .into_iter()
            .find(|o| o.as_str() == name)
            .unwrap_or(AuditOutcome::Other(name))
    }
}

impl From<AuditOutcome> for String {
    fn from(outcome: AuditOutcome) -> Self {
        outcome.as_str().to_string()
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
    fn outcomes_round_trip_through_their_stored_names() {
        for outcome in AuditOutcome::NAMED {
            assert_eq!(AuditOutcome::from(outcome.as_str().to_string()), outcome);
            let sent = serde_json::to_string(&outcome).expect("json");
            assert_eq!(sent, format!("\"{}\"", outcome.as_str()));
        }
        let old = AuditOutcome::from("a name from long ago".to_string());
        assert_eq!(old.as_str(), "a name from long ago");
        assert_eq!(
            AuditOutcome::decided(PaymentStatus::Cancelled),
            AuditOutcome::Cancelled
        );
    }

    #[test]
    fn kinds_are_sent_by_their_stored_names() {
        for kind in AuditKind::ALL {
            let sent = serde_json::to_string(&kind).expect("json");
            assert_eq!(sent, format!("\"{}\"", kind.as_str()));
        }
    }
}
