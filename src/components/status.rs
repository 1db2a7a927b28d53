//! The payment status as a readable badge.

use leptos::prelude::*;

use crate::model::PaymentStatus;

/// A coloured badge with the status' name.
#[component]
pub fn StatusBadge(status: PaymentStatus) -> impl IntoView {
    let label = match status {
        PaymentStatus::Pending => "Pending",
        PaymentStatus::Approved => "Approved",
        PaymentStatus::Denied => "Denied",
        PaymentStatus::Expired => "Expired",
        PaymentStatus::Failed => "Failed",
    };
    view! {
        <span class=format!("badge {}", status.as_str()) data-testid="status">
            {label}
        </span>
    }
}
