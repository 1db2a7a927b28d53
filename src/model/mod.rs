//! Wire types and domain newtypes shared by the server and the Wasm client.
//!
//! Text from outside (forms, URLs, the database) is parsed into these types once, at the
//! edge; past it the compiler refuses a user id where a payment id belongs.

mod account;
mod audit;
mod ids;
mod money;
mod passkey;
mod payment;
mod time;

pub use account::{Email, InvalidEmail, SessionUser, Via, PHONE_COUNTRIES};
pub use audit::{AuditKind, AuditOutcome};
pub use ids::{PaymentId, UserId};
pub use money::{
    format_amount, parse_amount, AmountError, Currency, Money, MAX_AMOUNT_CENTS, MAX_AMOUNT_UNITS,
};
pub use passkey::{parse_passkey_name, PasskeyCeremony, PasskeyView};
pub use payment::{
    is_format_char, list_cursor, parse_list_cursor, DecidedVia, Payee, PayeeError, PaymentEvent,
    PaymentList, PaymentListItem, PaymentStatus, PaymentView, TimelineEntry, MAX_PUSH_REQUESTS,
    MAX_SMS_ATTEMPTS, SMS_RESEND_AFTER_SECS,
};
pub use time::{format_time, iso_time};
