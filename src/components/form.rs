//! Form pieces: a labelled field with its error, and the form-wide error line.

use leptos::prelude::*;

use crate::error::{AppError, FormField};

/// The error of `field` out of a form's last error.
pub fn field_error(error: Signal<Option<AppError>>, field: FormField) -> Signal<Option<String>> {
    Signal::derive(move || error.get().and_then(|e| e.for_field(field)))
}

/// A labelled input with its hint and its error shown right below it.
#[component]
pub fn Field(
    #[prop(into)] label: String,
    name: FormField,
    #[prop(default = "text")] input_type: &'static str,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(optional)] inputmode: Option<&'static str>,
    #[prop(optional, into)] hint: Option<String>,
    /// What the field starts with (a form filled in again).
    #[prop(default = None)]
    value: Option<String>,
    #[prop(into)] error: Signal<Option<String>>,
) -> impl IntoView {
    let name = name.name();
    let error_id = format!("{name}-error");
    let hint_id = format!("{name}-hint");
    // The hint and the error (when there is one) are read with the field.
    let described_by = match hint {
        Some(_) => format!("{hint_id} {error_id}"),
        None => error_id.clone(),
    };
    view! {
        <div class="field">
            <label for=name>{label}</label>
            <input
                id=name
                name=name
                type=input_type
                autocomplete=autocomplete
                inputmode=inputmode
                required=true
                value=value
                aria-invalid=move || error.get().is_some().to_string()
                aria-describedby=described_by
            />
            {hint.map(|h| view! { <span class="hint" id=hint_id>{h}</span> })}
            {move || {
                error
                    .get()
                    .map(|e| {
                        view! {
                            <p class="field-error" id=error_id.clone() role="alert">
                                {e}
                            </p>
                        }
                    })
            }}
        </div>
    }
}

/// The form's error when it is not about one field (wrong credentials, provider down).
#[component]
pub fn FormError(#[prop(into)] error: Signal<Option<AppError>>) -> impl IntoView {
    move || {
        error
            .get()
            .filter(|e| !matches!(e, AppError::Field { .. }))
            .map(|e| view! { <p class="notice error" role="alert">{e.to_string()}</p> })
    }
}
