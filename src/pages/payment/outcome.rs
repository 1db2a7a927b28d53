//! The payment once decided, and what the live region says at each status.

use leptos::prelude::*;

use crate::components::{links::encode_query_value, local_time::LocalTime};
use crate::model::{DecidedVia, PaymentStatus, PaymentView};

/// What the live region says when the status changes.
pub fn announcement(status: PaymentStatus) -> &'static str {
    match status {
        PaymentStatus::Pending => "Waiting for your approval on your phone.",
        PaymentStatus::Approved => "Payment approved.",
        PaymentStatus::Denied => "Payment denied. Nothing was paid.",
        PaymentStatus::Expired => "The request expired. Nothing was paid.",
        PaymentStatus::Failed => "The payment failed. Nothing was paid.",
        PaymentStatus::Cancelled => "Payment cancelled. Nothing was paid.",
    }
}

/// "Try again with the same details": Send a payment with payee and amount filled in.
fn retry_href(p: &PaymentView) -> String {
    format!(
        "/payments/new?payee={}&amount={}",
        encode_query_value(p.payee.as_str()),
        encode_query_value(&p.amount_typed)
    )
}

/// A decided payment: a receipt, a denial with what to do, or a way to try again.
pub fn outcome_view(status: PaymentStatus, current: Memo<Option<PaymentView>>) -> impl IntoView {
    let Some(p) = current.get_untracked() else {
        return ().into_any();
    };
    let decided_at = p.decided_at.map(|unix| view! { <LocalTime unix/> });
    let try_again = view! {
        <a href=retry_href(&p) class="button primary" data-testid="try-again">
            "Try again with the same details"
        </a>
    };
    match status {
        PaymentStatus::Pending => ().into_any(),
        PaymentStatus::Approved => view! {
            <div class="receipt" data-testid="receipt">
                <h2>"Receipt"</h2>
                <dl>
                    <dt>"Paid to"</dt>
                    <dd>{p.payee.to_string()}</dd>
                    <dt>"Amount"</dt>
                    <dd>{p.amount.clone()}</dd>
                    <dt>"Reference"</dt>
                    <dd class="mono" data-testid="reference">{p.id.to_string()}</dd>
                    <dt>"Approved"</dt>
                    <dd>{decided_at}</dd>
                    <dt>"Approved with"</dt>
                    <dd data-testid="approved-with">
                        {match p.decided_via {
                            Some(DecidedVia::Sms) => "A code sent to your phone by SMS",
                            Some(DecidedVia::Passkey) => "Your passkey",
                            _ => "The approval request on your phone",
                        }}
                    </dd>
                </dl>
            </div>
            <a href="/payments" class="button">"My payments"</a>
        }
        .into_any(),
        PaymentStatus::Denied => view! {
            <p class="notice info">"You denied this payment on your phone. Nothing was paid."</p>
            <div class="guidance" data-testid="not-you">
                <h2>"Didn't ask for this?"</h2>
                <p>
                    "If you did not start this payment, someone else may know your password. "
                    "Your phone stopped it: nothing left your account. Log out, choose a new "
                    "password, and tell your bank."
                </p>
            </div>
        }
        .into_any(),
        PaymentStatus::Expired => view! {
            <p class="notice warn">
                "The approval request expired before it was answered. Nothing was paid."
            </p>
            {try_again}
        }
        .into_any(),
        PaymentStatus::Failed => view! {
            <p class="notice error">
                "This payment failed: "
                {p.failure_reason.clone().unwrap_or_else(|| "no reason recorded.".into())}
                " Nothing was paid."
            </p>
            {try_again}
        }
        .into_any(),
        PaymentStatus::Cancelled => view! {
            <p class="notice info">"You cancelled this payment. Nothing was paid."</p>
            {try_again}
        }
        .into_any(),
    }
}
