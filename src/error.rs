//! The one error type that crosses the wire between server functions and the browser.

use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

use crate::model::PaymentStatus;

/// What went wrong, in terms a user can act on. Internal causes are logged on the server
/// and never sent to the browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// The request needs a signed-in user.
    #[error("Please sign in to continue.")]
    NotSignedIn,
    /// The signed-in user still has to verify their phone number.
    #[error("Please verify your phone number first.")]
    PhoneNotVerified,
    /// One form field is not acceptable; the message is shown beside it.
    #[error("{message}")]
    Field { field: FormField, message: String },
    /// Sign-in failed; deliberately does not say which part was wrong.
    #[error("Email or password is incorrect.{}", lock_hint(*attempts_left))]
    BadCredentials { attempts_left: Option<u32> },
    /// Too many failed sign-ins in a row: sign-in is locked for a while.
    #[error("Too many failed sign-ins. Sign-in is locked; try again in {}.", wait(*retry_after_secs))]
    AccountLocked { retry_after_secs: u64 },
    /// Too many codes were sent recently.
    #[error("Too many codes were sent. You can ask for another one in {}.", wait(*retry_after_secs))]
    RateLimited { retry_after_secs: u64 },
    /// Too many requests of this kind from the client's address.
    #[error("Too many attempts from your network. Please try again in {}.", wait(*retry_after_secs))]
    TooManyRequests { retry_after_secs: u64 },
    /// The app as a whole sent as many codes this hour as it may (SMS pumping guard).
    #[error("We cannot send more codes right now. Please try again in {}.", wait(*retry_after_secs))]
    SendingPaused { retry_after_secs: u64 },
    /// The server is too busy to take this request now (for example, every password-
    /// hashing slot is taken).
    #[error("The server is busy. Please try again in {}.", wait(*retry_after_secs))]
    Busy { retry_after_secs: u64 },
    /// The session ended after a period without activity.
    #[error("Your session expired after a period of inactivity. Please log in again.")]
    SessionExpired,
    /// A one-time code was wrong.
    #[error("That code is not correct.{}", attempts_hint(*attempts_left))]
    InvalidCode { attempts_left: Option<u32> },
    /// Too many wrong codes: the payment failed for good.
    #[error("Too many wrong codes. This payment has failed; please start a new payment.")]
    TooManyAttempts,
    /// The thing asked for does not exist or does not belong to the caller.
    #[error("Not found.")]
    NotFound,
    /// The payment was decided before this request could change it.
    #[error("This payment is already {}; nothing changed.", status.as_str())]
    AlreadyDecided { status: PaymentStatus },
    /// The payment's push request was sent as many times as it may be.
    #[error("The request was sent to your phone {max} times, as often as it can be. Answer it there, or use a code by SMS.")]
    PushLimit { max: u32 },
    /// The person has no phone that takes push requests (a Verify account without a push
    /// factor): approve with a passkey or a code by SMS.
    #[error("Your phone is not set up for push approvals. Use a code by SMS or a passkey, or add your phone for push approvals on your account page.")]
    NoPushDevice,
    /// The user has this many payments waiting for approval already.
    #[error("You have {max} payments waiting for approval. Answer or cancel one of them before you send another.")]
    TooManyPending { max: u32 },
    /// The user's phone got as many approval requests this hour as it may.
    #[error("Your phone got as many approval requests as it can this hour. You can send another payment in {}.", wait(*retry_after_secs))]
    PushBudgetSpent { retry_after_secs: u64 },
    /// A payment was denied on the phone since this session signed in: someone else may
    /// know the password, so the next payment needs a fresh sign-in.
    #[error("You denied a payment on your phone. For your safety, log out and log in again before you send another payment.")]
    SignInAgain,
    /// The approval window passed before the user answered.
    #[error("The approval request expired. Please start again.")]
    ApprovalExpired,

    /// A passkey answer that approves or adds nothing; the reason says why.
    #[error("{0}")]
    PasskeyRefused(PasskeyRefusal),

    /// Passkeys cannot be used with this server's address (`PUBLIC_URL` has no host name).
    #[error("Passkeys are not available on this server.")]
    PasskeysUnavailable,

    /// The second-factor provider failed, refused or could not be reached.
    #[error("The phone service is not answering right now: {0}")]
    ProviderUnavailable(ProviderTrouble),
    /// Something failed on our side; the details are in the server log.
    #[error("Something went wrong on our side. Please try again.")]
    Internal,
    /// The request never reached the server function, or its answer was unreadable.
    #[error("Could not reach the server: {0}")]
    Transport(ServerFnErrorErr),
}

/// The fields of the app's forms: each is an input's `name` and the server function
/// argument it fills, and the field an `AppError::Field` is shown beside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FormField {
    Email,
    Password,
    Country,
    Phone,
    Via,
    Code,
    Payee,
    Amount,
    Name,
    Token,
    Fault,
}

impl FormField {
    /// The input's `name` (and the server function's argument).
    pub fn name(self) -> &'static str {
        match self {
            FormField::Email => "email",
            FormField::Password => "password",
            FormField::Country => "country",
            FormField::Phone => "phone",
            FormField::Via => "via",
            FormField::Code => "code",
            FormField::Payee => "payee",
            FormField::Amount => "amount",
            FormField::Name => "name",
            FormField::Token => "token",
            FormField::Fault => "fault",
        }
    }
}

/// Why a passkey answer approved or added nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum PasskeyRefusal {
    /// Adding: the ceremony's challenge was taken already or timed out.
    #[error("This request to add a passkey was used or has expired. Start again.")]
    AddRequestGone,
    /// Adding: the browser's answer is not a WebAuthn registration.
    #[error("The browser's answer could not be read. Try again.")]
    AddAnswerUnreadable,
    /// Adding: the registration did not verify.
    #[error("The new passkey was not accepted. Try again, or use another device.")]
    NotAccepted,
    /// Adding: the credential is registered already.
    #[error("This passkey is already on an account.")]
    AlreadyOnAnAccount,
    /// Approving: the person has no passkey.
    #[error("Add a passkey on your account page first.")]
    NoPasskey,
    /// Approving: the challenge was taken already.
    #[error("This passkey request was already used. Nothing was approved; ask for a new one.")]
    RequestUsed,
    /// Approving: the challenge was made for another payment.
    #[error("This passkey answer was for another payment. Nothing was approved.")]
    OtherPayment,
    /// Approving: the payment's payee or amount are not those the challenge was made for.
    #[error("The payee or amount differ from what your passkey confirmed. Nothing was approved.")]
    DetailsDiffer,
    /// Approving: the challenge timed out.
    #[error("This passkey request expired. Nothing was approved; ask for a new one.")]
    RequestExpired,
    /// Approving: the browser's answer is not a WebAuthn assertion.
    #[error("The browser's answer could not be read. Nothing was approved.")]
    AnswerUnreadable,
    /// Approving: the assertion does not verify against the challenge.
    #[error("The passkey's answer does not match this payment's request. Nothing was approved.")]
    AnswerMismatch,
    /// Approving: the authenticator did not verify the user (PIN, biometric).
    #[error("Your passkey did not check it was you (PIN or biometric). Nothing was approved.")]
    UserNotVerified,
    /// Approving: the passkey was removed from the account.
    #[error("That passkey is no longer on your account. Nothing was approved.")]
    PasskeyRemoved,
    /// Approving: the signature counter went backwards (a cloned authenticator).
    #[error(
        "This passkey's signature counter went backwards, so it may have been copied. \
         Nothing was approved: approve on your phone instead, and remove the passkey."
    )]
    CounterWentBack,
}

/// What went wrong with the second-factor provider, as the person is told it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ProviderTrouble {
    /// It asks us to slow down, without saying for how long.
    #[error("too many requests, please wait a minute and try again")]
    Busy,
    /// It sent this phone as many codes as it sends for now.
    #[error("too many codes were sent to this phone, please wait 10 minutes")]
    TooManySends,
    /// It failed or did not answer.
    #[error("please try again in a minute")]
    Down,
    /// It refused the request.
    #[error("the request was refused, please try again")]
    Refused,
    /// The account belongs to a provider this server is not configured for.
    #[error("the phone service of this account is not available, please try again later")]
    NotConfigured,
}

fn lock_hint(attempts_left: Option<u32>) -> String {
    match attempts_left {
        Some(1) => " 1 attempt left before sign-in is locked.".to_string(),
        Some(n) => format!(" {n} attempts left before sign-in is locked."),
        None => String::new(),
    }
}

fn wait(seconds: u64) -> String {
    match seconds {
        0..=1 => "a second".to_string(),
        2..=90 => format!("{seconds} seconds"),
        _ => format!("{} minutes", seconds.div_ceil(60)),
    }
}

fn attempts_hint(attempts_left: Option<u32>) -> String {
    match attempts_left {
        Some(1) => " 1 attempt left.".to_string(),
        Some(n) => format!(" {n} attempts left."),
        None => String::new(),
    }
}

impl AppError {
    /// A field error for the form input named `field`.
    pub fn field(field: FormField, message: impl Into<String>) -> Self {
        AppError::Field {
            field,
            message: message.into(),
        }
    }

    /// Whether the caller has no session (any more): the page signs in again rather than
    /// showing an error.
    pub fn signed_out(&self) -> bool {
        matches!(self, AppError::SessionExpired | AppError::NotSignedIn)
    }

    /// The HTTP status this error is answered with.
    pub fn status_code(&self) -> u16 {
        match self {
            AppError::NotSignedIn
            | AppError::BadCredentials { .. }
            | AppError::SessionExpired
            | AppError::SignInAgain => 401,
            AppError::AccountLocked { .. }
            | AppError::RateLimited { .. }
            | AppError::TooManyRequests { .. }
            | AppError::SendingPaused { .. }
            | AppError::PushLimit { .. }
            | AppError::TooManyPending { .. }
            | AppError::PushBudgetSpent { .. } => 429,
            AppError::Busy { .. } => 503,
            AppError::PhoneNotVerified | AppError::NoPushDevice => 403,
            AppError::Field { .. } | AppError::InvalidCode { .. } | AppError::Transport(_) => 400,
            AppError::NotFound => 404,
            AppError::AlreadyDecided { .. } => 409,
            AppError::ApprovalExpired | AppError::TooManyAttempts => 410,
            AppError::PasskeyRefused(_) => 403,
            AppError::PasskeysUnavailable => 501,
            AppError::ProviderUnavailable(_) => 503,
            AppError::Internal => 500,
        }
    }

    /// How long the client should wait before trying again, for the `Retry-After` header.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            AppError::AccountLocked { retry_after_secs }
            | AppError::RateLimited { retry_after_secs }
            | AppError::TooManyRequests { retry_after_secs }
            | AppError::SendingPaused { retry_after_secs }
            | AppError::PushBudgetSpent { retry_after_secs }
            | AppError::Busy { retry_after_secs } => Some((*retry_after_secs).max(1)),
            _ => None,
        }
    }

    /// The message for `field`, if this error is about that field.
    pub fn for_field(&self, name: FormField) -> Option<String> {
        match self {
            AppError::Field { field, message } if *field == name => Some(message.clone()),
            _ => None,
        }
    }
}

/// Logs an internal failure with its context and returns the error the browser may see.
#[cfg(feature = "ssr")]
pub fn internal(context: &str, error: impl std::fmt::Display) -> AppError {
    tracing::error!(context, error = %error, "internal error");
    AppError::Internal
}

/// `result.or_internal("what was being done")`: a failure nobody can act on (the
/// database, a task) is logged with what was being done and becomes `AppError::Internal`.
#[cfg(feature = "ssr")]
pub trait OrInternal<T> {
    fn or_internal(self, context: &str) -> Result<T, AppError>;
}

#[cfg(feature = "ssr")]
impl<T, E: std::fmt::Display> OrInternal<T> for Result<T, E> {
    fn or_internal(self, context: &str) -> Result<T, AppError> {
        self.map_err(|e| internal(context, e))
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Transport(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_code_message_counts_attempts_left() {
        let one = AppError::InvalidCode {
            attempts_left: Some(1),
        };
        let three = AppError::InvalidCode {
            attempts_left: Some(3),
        };
        assert_eq!(one.to_string(), "That code is not correct. 1 attempt left.");
        assert_eq!(
            three.to_string(),
            "That code is not correct. 3 attempts left."
        );
    }

    #[test]
    fn lock_and_rate_limit_messages_say_how_long_to_wait() {
        let locked = AppError::AccountLocked {
            retry_after_secs: 900,
        };
        let limited = AppError::RateLimited {
            retry_after_secs: 42,
        };
        let bad = AppError::BadCredentials {
            attempts_left: Some(2),
        };
        assert!(locked.to_string().ends_with("try again in 15 minutes."));
        assert!(limited.to_string().ends_with("in 42 seconds."));
        assert_eq!(
            bad.to_string(),
            "Email or password is incorrect. 2 attempts left before sign-in is locked."
        );
    }

    #[test]
    fn field_error_belongs_only_to_its_field() {
        let e = AppError::field(FormField::Email, "Enter a valid email address.");
        assert_eq!(
            e.for_field(FormField::Email).as_deref(),
            Some("Enter a valid email address.")
        );
        assert_eq!(e.for_field(FormField::Password), None);
    }
}
