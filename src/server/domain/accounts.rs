//! Registration, phone verification and sign-in.

use crate::error::FormField;
use crate::model::AuditOutcome;
use crate::server::db::users::CodePurpose;
use crate::server::OrInternal;
use crate::server::{
    db::{self, users::Taken},
    domain::audit,
    domain::sessions::{self, Caller, CookieJar},
    internal,
    limits::code_limits::{self, CodeSend},
    provider_error,
    providers::{Person, Phone, ProviderError},
    AppState,
};
use crate::shared::{clock, phone_number};
use crate::{
    error::AppError,
    model::{AuditKind, Email, UserId, Via},
};

/// What the registration form sends.
#[derive(Debug, Clone)]
pub struct Registration {
    pub email: String,
    pub password: String,
    pub country: String,
    pub phone: String,
    pub via: String,
}

/// Normalises an email address, or says what is wrong with it.
pub fn parse_email(input: &str) -> Result<Email, AppError> {
    Email::parse(input).map_err(|e| AppError::field(FormField::Email, e.to_string()))
}

/// Checks the password rules: at least 8 characters (and not absurdly long).
pub fn check_password(password: &str) -> Result<(), AppError> {
    match password.chars().count() {
        0..=7 => Err(AppError::field(
            FormField::Password,
            "Use at least 8 characters for your password.",
        )),
        8..=1024 => Ok(()),
        _ => Err(AppError::field(
            FormField::Password,
            "That password is too long (1024 characters at most).",
        )),
    }
}

/// The form error for an email or phone that belongs to another account.
fn already_used(taken: Taken) -> AppError {
    match taken {
        Taken::Email => AppError::field(
            FormField::Email,
            "An account with this email already exists. Log in instead.",
        ),
        Taken::Phone => AppError::field(
            FormField::Phone,
            "This phone number is already used by another account.",
        ),
    }
}

/// Creates the account, sends the phone verification code and signs the person in.
/// Nothing is stored unless the code could be sent.
pub async fn register(
    state: &AppState,
    caller: &Caller,
    jar: &mut CookieJar,
    form: Registration,
) -> Result<(), AppError> {
    let email = parse_email(&form.email)?;
    check_password(&form.password)?;
    let phone = phone_number::parse(&form.country, &form.phone).ok_or_else(|| {
        AppError::field(
            FormField::Phone,
            "Enter a valid mobile number for the selected country.",
        )
    })?;
    let via = Via::parse(&form.via)
        .ok_or_else(|| AppError::field(FormField::Via, "Choose SMS or voice call."))?;
    phone_number::check_reachable(&phone, via, &state.config.sms_countries)?;

    if let Some(taken) = db::users::taken(&state.db, &email, &phone.e164)
        .await
        .or_internal("check duplicates")?
    {
        return Err(already_used(taken));
    }
    // Hashed first: a busy server refuses before any code is sent.
    let password_hash = state.passwords.hash(form.password).await?;
    let provider = state.providers.for_new()?;

    let handle = code_limits::send_code(
        state,
        CodeSend {
            client: caller.client,
            user_id: None,
            phone_e164: &phone.e164,
            payment_id: None,
            via,
            verified: false,
            event: AuditKind::VerificationSent,
            detail: format!("registration code by {} to {}", via.as_str(), phone.e164),
        },
        provider.start_verification(
            Phone {
                e164: &phone.e164,
                country_code: &phone.country_code,
                national: &phone.national,
            },
            via,
        ),
        |e| phone_refused(e, "start phone verification"),
    )
    .await?;

    let user_id = UserId::random();
    let inserted = db::users::insert(
        &state.db,
        &db::users::NewUser {
            id: &user_id,
            email: &email,
            password_hash: &password_hash,
            phone_e164: &phone.e164,
            country_code: &phone.country_code,
            national_number: &phone.national,
            verify_via: via.as_str(),
            provider: provider.kind(),
            verification_sid: handle.as_ref(),
        },
        clock::now(),
    )
    .await;
    if let Err(e) = inserted {
        // Lost a race with an identical registration: report it like the check above.
        return match db::users::taken(&state.db, &email, &phone.e164).await {
            Ok(Some(taken)) => Err(already_used(taken)),
            _ => Err(internal("insert user", e)),
        };
    }
    sessions::start_session(state, caller, jar, &user_id).await
}

/// A refusal to send a phone verification code, as a sentence the person can act on.
fn phone_refused(e: ProviderError, context: &str) -> AppError {
    match e {
        ProviderError::InvalidPhone => AppError::field(
            FormField::Phone,
            "The phone service says this number is invalid.",
        ),
        ProviderError::Landline => AppError::field(
            FormField::Phone,
            "This number is a landline, which cannot receive text messages. Choose a voice \
             call, or use a mobile number.",
        ),
        ProviderError::BlockedCountry => AppError::field(
            FormField::Phone,
            "Codes cannot be sent to numbers of this country. Use a number of another country.",
        ),
        ProviderError::TooManySends => AppError::field(
            FormField::Phone,
            "Too many codes were sent to this number. Wait 10 minutes, then ask again.",
        ),
        e => provider_error(context, e),
    }
}

/// Sends a new phone verification code to the signed-in user.
pub async fn resend_code(state: &AppState, caller: &Caller) -> Result<(), AppError> {
    let user = sessions::require_user(state, caller).await?;
    let via = user.verify_via;
    // An account not verified yet is verified with today's provider.
    let provider = if user.is_verified() {
        state.providers.for_user(&user)?
    } else {
        state.providers.for_new()?
    };
    let handle = code_limits::send_code(
        state,
        CodeSend {
            client: caller.client,
            user_id: Some(&user.id),
            phone_e164: &user.phone.e164,
            payment_id: None,
            via,
            verified: user.is_verified(),
            event: AuditKind::VerificationSent,
            detail: format!("new code by {}", via.as_str()),
        },
        async {
            // Once the limits allow a send: a new code, not the pending one sent again
            // (Verify counts checks per verification, and the person asks for a new code
            // when those of the old one are spent, or it never arrived).
            if let Some(previous) = user.verification_sid() {
                if let Err(e) = provider.cancel_code(previous).await {
                    tracing::warn!(error = %e, "cannot withdraw the earlier verification");
                }
            }
            provider
                .start_verification(Person::of(&user).phone, via)
                .await
        },
        |e| phone_refused(e, "resend phone verification"),
    )
    .await?;
    if handle.is_some() || user.verification_sid().is_some() {
        db::users::set_verification_sid(&state.db, &user.id, handle.as_ref())
            .await
            .or_internal("store verification")?;
    }
    db::users::reset_code_attempts(&state.db, &user.id, CodePurpose::PhoneVerification)
        .await
        .or_internal("reset verification checks")
}

/// Checks of one phone verification code before a new code must be asked for.
pub const MAX_VERIFY_ATTEMPTS: i64 = 5;

/// Deletes accounts whose phone was not verified within a day, freeing email and phone.
pub async fn forget_unverified(state: &AppState, now: i64) {
    match db::users::delete_unverified_before(&state.db, now - 86_400).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(accounts = n, "removed accounts never verified within a day"),
        Err(e) => tracing::warn!(error = %e, "cannot remove unverified accounts"),
    }
}

/// Checks the phone verification code; on success registers the user with the provider.
pub async fn verify_phone(state: &AppState, caller: &Caller, code: &str) -> Result<(), AppError> {
    let user = sessions::require_user(state, caller).await?;
    if user.is_verified() {
        return Ok(());
    }
    // Another account verified this number meanwhile: no check is spent on it.
    if db::users::phone_held_by_another(&state.db, &user.id, &user.phone.e164)
        .await
        .or_internal("look for the phone's owner")?
    {
        return Err(phone_verified_elsewhere());
    }
    let code = code.trim();
    if !(4..=10).contains(&code.len()) || !code.chars().all(|c| c.is_ascii_digit()) {
        return Err(AppError::field(
            FormField::Code,
            "Enter the digits of the code you received.",
        ));
    }
    // Not verified yet: checked by the provider of today, which sent the code.
    let provider = state.providers.for_new()?;
    let checked = code_limits::check_code(
        state,
        &user.id,
        CodePurpose::PhoneVerification,
        MAX_VERIFY_ATTEMPTS,
        provider.check_verification(Person::of(&user).phone, user.verification_sid(), code),
    )
    .await?;
    audit::log(
        state,
        caller.client,
        Some(&user.id),
        None,
        AuditKind::VerificationChecked,
        if checked.is_ok() {
            AuditOutcome::Accepted
        } else {
            AuditOutcome::Rejected
        },
        checked
            .as_ref()
            .err()
            .map(ToString::to_string)
            .unwrap_or_default(),
    )
    .await;
    checked.map_err(|e| match e {
        ProviderError::WrongCode => AppError::field(
            FormField::Code,
            "That code is not correct. Check the message and try again.",
        ),
        ProviderError::CodeExpired => AppError::field(
            FormField::Code,
            "This code has expired or was never sent. Send a new code.",
        ),
        ProviderError::TooManyChecks => AppError::field(
            FormField::Code,
            "Too many wrong codes. Send a new code and enter that one.",
        ),
        e => provider_error("check phone verification", e),
    })?;
    let authy_id = provider
        .register_user(user.email.as_str(), Person::of(&user).phone)
        .await
        .map_err(|e| provider_error("register user with provider", e))?;
    let marked =
        db::users::mark_verified(&state.db, &user.id, provider.kind(), authy_id, clock::now())
            .await;
    if let Err(e) = marked {
        // Lost the race for the number: the first account to verify it keeps it.
        return match db::users::phone_held_by_another(&state.db, &user.id, &user.phone.e164).await {
            Ok(true) => Err(phone_verified_elsewhere()),
            _ => Err(internal("mark phone verified", e)),
        };
    }
    Ok(())
}

/// The refusal for an account whose number another account verified first.
fn phone_verified_elsewhere() -> AppError {
    AppError::field(
        FormField::Code,
        "Another account has verified this phone number. Log in to that account, or \
         register again with a different number.",
    )
}

/// Signs a person in. Attempts are counted per email, whether or not an account has it,
/// so neither the message nor the lock tells whether the email exists, and each attempt is
/// counted before its password is checked: however many arrive at once, at most
/// `LOGIN_MAX_FAILURES` in a row are evaluated before sign-in locks.
pub async fn log_in(
    state: &AppState,
    caller: &Caller,
    jar: &mut CookieJar,
    email: &str,
    password: &str,
) -> Result<bool, AppError> {
    // No account has an address that is not one: nothing to count or check.
    let Ok(email) = Email::parse(email) else {
        return Err(AppError::BadCredentials {
            attempts_left: None,
        });
    };
    let config = &state.config;
    let max = config.login_max_failures as i64;
    let lock = config.login_lock_secs;
    let now = clock::now();
    let Some(attempt) =
        db::throttle::take_login_attempt(&state.db, &email, max, now, now + lock as i64)
            .await
            .or_internal("count sign-in attempt")?
    else {
        return Err(locked(state, caller, &email, now).await);
    };
    let slot = match state.passwords.reserve().await {
        Ok(slot) => slot,
        Err(e) => {
            // Not evaluated: the attempt does not count against the person.
            if let Err(e) = db::throttle::return_login_attempt(&state.db, &email, max).await {
                tracing::warn!(error = %e, "cannot give back a sign-in attempt");
            }
            return Err(e);
        }
    };
    let user = db::users::by_email(&state.db, &email)
        .await
        .or_internal("find user")?;
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    let verified = slot.verify(password.to_string(), hash).await?;
    let Some(user) = user.filter(|_| verified) else {
        return Err(failed_sign_in(state, caller, &email, attempt).await);
    };

    db::throttle::clear_login_failures(&state.db, &email)
        .await
        .or_internal("clear sign-in failures")?;
    sessions::start_session(state, caller, jar, &user.id).await?;
    audit::log(
        state,
        caller.client,
        Some(&user.id),
        None,
        AuditKind::SignIn,
        AuditOutcome::Success,
        "",
    )
    .await;
    Ok(user.is_verified())
}

/// The answer while sign-in for `email` is locked (nothing was evaluated).
async fn locked(state: &AppState, caller: &Caller, email: &Email, now: i64) -> AppError {
    let until = match db::throttle::login_state(&state.db, email).await {
        Ok(Some((_, Some(until)))) => until,
        Ok(_) => now + state.config.login_lock_secs as i64,
        Err(e) => return internal("read sign-in lock", e),
    };
    audit::log(
        state,
        caller.client,
        None,
        None,
        AuditKind::SignIn,
        AuditOutcome::Locked,
        format!("refused for {email}"),
    )
    .await;
    AppError::AccountLocked {
        retry_after_secs: u64::try_from(until - now).unwrap_or(1).max(1),
    }
}

/// The answer to a wrong password, the `attempt`-th in a row.
async fn failed_sign_in(
    state: &AppState,
    caller: &Caller,
    email: &Email,
    attempt: i64,
) -> AppError {
    let max = state.config.login_max_failures as i64;
    if attempt >= max {
        audit::log(
            state,
            caller.client,
            None,
            None,
            AuditKind::SignIn,
            AuditOutcome::Locked,
            format!("{attempt} failures for {email}"),
        )
        .await;
        return AppError::AccountLocked {
            retry_after_secs: state.config.login_lock_secs,
        };
    }
    audit::log(
        state,
        caller.client,
        None,
        None,
        AuditKind::SignIn,
        AuditOutcome::Failure,
        format!("for {email}"),
    )
    .await;
    AppError::BadCredentials {
        attempts_left: u32::try_from(max - attempt).ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            parse_email("  Ada@Example.COM ").expect("valid").as_str(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a da@example.com",
            "ada@.com",
            "a@b@c.com",
        ] {
            assert!(parse_email(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn passwords_need_eight_characters() {
        assert!(check_password("1234567").is_err());
        assert!(check_password("12345678").is_ok());
        assert!(check_password(&"x".repeat(2000)).is_err());
    }
}
