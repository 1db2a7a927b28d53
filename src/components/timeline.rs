//! A payment's audit trail in words its owner understands.

use crate::model::{AuditKind, AuditOutcome, TimelineEntry};

/// One timeline entry as a sentence ("Approval request sent to your phone").
pub fn timeline_sentence(e: &TimelineEntry) -> String {
    use AuditOutcome as O;
    let outcome = &e.outcome;
    let detail = e.detail.as_str();
    match e.event {
        AuditKind::PaymentCreated => match detail {
            "" => "Payment created".to_string(),
            what => format!("Payment created: {what}"),
        },
        AuditKind::PushSent if *outcome == O::Ok && detail.starts_with("sent again") => {
            "Approval request sent to your phone again".into()
        }
        AuditKind::PushSent if *outcome == O::Ok => "Approval request sent to your phone".into(),
        AuditKind::PushSent => "The approval request could not be sent to your phone".into(),
        AuditKind::SmsSent if *outcome == O::Ok => "Code sent to your phone by SMS".into(),
        AuditKind::SmsSent if *outcome == O::Refused => {
            "No SMS code sent: too many codes were asked for".into()
        }
        AuditKind::SmsSent => "The SMS code could not be sent".into(),
        AuditKind::Code if *outcome == O::Accepted => "Correct SMS code entered".into(),
        AuditKind::Code => "Wrong SMS code entered".into(),
        AuditKind::Callback if *outcome == O::Accepted => "Your phone answered the request".into(),
        AuditKind::Callback => "A message claiming to be from your phone was refused".into(),
        AuditKind::Decision => decision(outcome, detail),
        AuditKind::Expiry => "The request expired without an answer".into(),
        AuditKind::Passkey if *outcome == O::Used => "Your passkey confirmed the payment".into(),
        AuditKind::Passkey => match detail {
            "" => "A passkey answer was refused".into(),
            why => format!("A passkey answer was refused: {why}"),
        },
        AuditKind::SignIn
        | AuditKind::VerificationSent
        | AuditKind::VerificationChecked
        | AuditKind::PushDevice => {
            format!(
                "{} ({})",
                e.event.as_str().replace('_', " "),
                outcome.as_str()
            )
        }
    }
}

fn decision(status: &AuditOutcome, detail: &str) -> String {
    use AuditOutcome as O;
    match (status, detail) {
        (O::Approved, "by push") => "Approved on your phone".into(),
        (O::Approved, "by sms") => "Approved with the SMS code".into(),
        (O::Approved, "by passkey") => "Approved with your passkey".into(),
        (O::Approved, _) => "Approved".into(),
        (O::Denied, _) => "Denied on your phone".into(),
        (O::Cancelled, _) => "Cancelled by you".into(),
        (O::Failed, "too many wrong SMS codes") => "Failed: too many wrong SMS codes".into(),
        (O::Failed, "") => "Failed".into(),
        (O::Failed, why) => format!("Failed: {why}"),
        (other, _) => format!("Decided: {}", other.as_str()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(event: AuditKind, outcome: &str, detail: &str) -> TimelineEntry {
        TimelineEntry {
            at: 0,
            event,
            outcome: AuditOutcome::from(outcome.to_string()),
            detail: detail.into(),
        }
    }

    #[test]
    fn events_read_as_sentences() {
        for (event, outcome, detail, sentence) in [
            (
                AuditKind::PushSent,
                "ok",
                "",
                "Approval request sent to your phone",
            ),
            (
                AuditKind::PushSent,
                "ok",
                "sent again (2 of 3)",
                "Approval request sent to your phone again",
            ),
            (
                AuditKind::Decision,
                "approved",
                "by push",
                "Approved on your phone",
            ),
            (
                AuditKind::Decision,
                "approved",
                "by sms",
                "Approved with the SMS code",
            ),
            (
                AuditKind::Decision,
                "approved",
                "by passkey",
                "Approved with your passkey",
            ),
            (
                AuditKind::Passkey,
                "used",
                "Laptop",
                "Your passkey confirmed the payment",
            ),
            (
                AuditKind::Passkey,
                "refused",
                "signature counter went backwards",
                "A passkey answer was refused: signature counter went backwards",
            ),
            (
                AuditKind::Decision,
                "cancelled",
                "by owner",
                "Cancelled by you",
            ),
            (AuditKind::Code, "rejected", "", "Wrong SMS code entered"),
            (
                AuditKind::Expiry,
                "expired",
                "no answer in time",
                "The request expired without an answer",
            ),
        ] {
            assert_eq!(timeline_sentence(&entry(event, outcome, detail)), sentence);
        }
    }

    #[test]
    fn no_sentence_shows_a_stored_event_name() {
        for event in AuditKind::ALL {
            for outcome in ["ok", "failed", "accepted", "rejected", "approved", "denied"] {
                let sentence = timeline_sentence(&entry(event, outcome, ""));
                if !matches!(
                    event,
                    AuditKind::SignIn
                        | AuditKind::VerificationSent
                        | AuditKind::VerificationChecked
                        | AuditKind::PushDevice
                ) {
                    assert!(!sentence.contains('_'), "{sentence}");
                    assert!(sentence.starts_with(char::is_uppercase), "{sentence}");
                }
            }
        }
    }
}
