//! The payment status as a readable badge.

use leptos::prelude::*;

use crate::model::PaymentStatus;

/// The status' name for people.
pub fn status_label(status: PaymentStatus) -> &'static str {
    match status {
        PaymentStatus::Pending => "Pending",
        PaymentStatus::Approved => "Approved",
        PaymentStatus::Denied => "Denied",
        PaymentStatus::Expired => "Expired",
        PaymentStatus::Failed => "Failed",
        PaymentStatus::Cancelled => "Cancelled",
    }
}

/// A coloured badge with the status' name.
#[component]
pub fn StatusBadge(status: PaymentStatus) -> impl IntoView {
    let label = status_label(status);
    view! {
        <span class=format!("badge {}", status.as_str()) data-testid="status">
            {label}
        </span>
    }
}
