//! The token life cycle from the console: a lost token's temporary replacement (a
//! list of emergency codes or a soft token, shown once) for the helpdesk; a token's
//! customer, its revocation and its replacement for administrators. Each handler makes
//! the validator calls the life-cycle API makes, with the staff member's reason; the
//! rules (who may have a replacement, for how long, what ends it) are the library's.

use std::num::NonZeroU32;
use std::time::Duration;

use axum::extract::{Form, Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use otpfob::validator::{CustomerRef, MAX_EMERGENCY_CODES, Status};
use otpfob::{Enrolment, TokenId};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::{
    factory_enrolment, pages, problem_text, render_token, render_token_with, shown_once,
    soft_parameters, token_post,
};
use crate::api::lifecycle::{MAX_TEMPORARY_LIFETIME, MAX_TEMPORARY_USES};
use crate::app::AppState;
use crate::auth::{Administrator, Allowed as _, Helpdesk};

/// The temporary-replacement form of a token's page.
#[derive(Debug, Deserialize)]
pub(super) struct TemporaryForm {
    csrf: String,
    /// `codes` (single-use emergency codes) or `soft` (a temporary soft token).
    kind: String,
    /// The replacement's token id.
    replacement: String,
    #[serde(default)]
    count: String,
    #[serde(default)]
    days: String,
    #[serde(default)]
    uses: String,
    reason: String,
}

/// What a temporary replacement is, checked before anything is changed.
enum Temporary {
    Codes(NonZeroU32),
    Soft(Option<NonZeroU32>),
}

/// A whole number from a form field, `default` when it is empty, within `range`.
fn number(
    text: &str,
    default: u32,
    range: core::ops::RangeInclusive<u32>,
    what: &str,
) -> Result<u32, String> {
    let value = match text.trim() {
        "" => default,
        text => text
            .parse::<u32>()
            .map_err(|_| format!("{what} is a whole number, not {text:?}."))?,
    };
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(format!(
            "{what} is {} to {}, not {value}.",
            range.start(),
            range.end()
        ))
    }
}

/// The days a temporary replacement lives: 1 to the API's longest lifetime.
fn lifetime(days: &str) -> Result<Duration, String> {
    let longest = u32::try_from(MAX_TEMPORARY_LIFETIME.as_secs() / 86_400).unwrap_or(31);
    let days = number(days, 7, 1..=longest, "The number of days")?;
    Ok(Duration::from_secs(u64::from(days) * 86_400))
}

/// Reports the token lost (if it is not yet) and issues its customer a temporary
/// replacement: emergency codes or a soft token, shown on this answer only.
pub(super) async fn token_temporary(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<TemporaryForm>,
) -> Response {
    let (staff, token, reason) = match token_post(
        &state,
        &headers,
        &form.csrf,
        Helpdesk::ROLES,
        &id,
        &form.reason,
    )
    .await
    {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    let checked = (|| {
        let replacement = TokenId::new(form.replacement.trim())
            .map_err(|error| format!("Invalid id of the replacement: {error}"))?;
        let lifetime = lifetime(&form.days)?;
        let kind = match form.kind.as_str() {
            "codes" => Temporary::Codes(
                NonZeroU32::new(number(
                    &form.count,
                    5,
                    1..=MAX_EMERGENCY_CODES,
                    "The number of codes",
                )?)
                .ok_or("The number of codes is at least 1.")?,
            ),
            "soft" => Temporary::Soft(match form.uses.trim() {
                "" => None,
                uses => NonZeroU32::new(number(
                    uses,
                    1,
                    1..=MAX_TEMPORARY_USES,
                    "The number of uses",
                )?),
            }),
            other => return Err(format!("The replacement is codes or soft, not {other:?}.")),
        };
        Ok::<_, String>((replacement, lifetime, kind))
    })();
    let (replacement, lifetime, kind) = match checked {
        Ok(checked) => checked,
        Err(message) => return render_token(&state, &staff, &id, 0, Some(message)).await,
    };
    // Lost first, as the API does: if the replacement cannot be issued, the token
    // stays lost (the safe side) and the form can be sent again.
    let lost = token.clone();
    let report_lost = move |validator: &crate::app::ServerValidator| {
        if validator
            .state(&lost)?
            .is_some_and(|token| token.status != Status::Lost)
        {
            validator.report_lost(&lost)?;
        }
        Ok::<_, otpfob::ValidatorError>(())
    };
    let (notice, shown) = match kind {
        Temporary::Codes(count) => {
            let issued = crate::actor::giving_reason(
                reason,
                state.administer(staff.actor(), move |validator| {
                    report_lost(validator)?;
                    let list =
                        validator.issue_emergency_codes(&token, replacement, count, lifetime)?;
                    let expires_at = validator
                        .store()
                        .load(list.token())?
                        .and_then(|record| record.state.validity.not_after)
                        .map_or(0, |at| at.as_secs());
                    Ok((list, expires_at))
                }),
            )
            .await;
            match issued {
                Ok((list, expires_at)) => (
                    format!(
                        "Reported lost; emergency codes {} issued to its customer.",
                        list.token()
                    ),
                    Some(pages::emergency_codes(
                        list.token().as_str(),
                        list.codes(),
                        expires_at,
                    )),
                ),
                Err(problem) => (no_replacement(&problem), None),
            }
        }
        Temporary::Soft(uses) => {
            let parameters = otpfob::OtpParameters::Totp(otpfob::TotpParameters::default());
            let (enrolment, secret) = match Enrolment::generate(replacement.clone(), parameters) {
                Ok(generated) => generated,
                Err(error) => {
                    let message = format!("Not done: {error}");
                    return render_token(&state, &staff, &id, 0, Some(message)).await;
                }
            };
            let enrolment = match uses {
                Some(uses) => enrolment.with_use_limit(uses),
                None => enrolment,
            };
            let issued = crate::actor::giving_reason(
                reason,
                state.administer(staff.actor(), move |validator| {
                    report_lost(validator)?;
                    validator.issue_temporary_replacement(&token, enrolment, lifetime)
                }),
            )
            .await;
            match issued {
                Ok(new) => match shown_once(&state, &new, secret, parameters) {
                    Ok(markup) => (
                        format!(
                            "Reported lost; temporary soft token {new} issued to its customer."
                        ),
                        Some(markup),
                    ),
                    Err(error) => (
                        format!("Issued {new}, but its key URI could not be made: {error}"),
                        None,
                    ),
                },
                Err(problem) => (no_replacement(&problem), None),
            }
        }
    };
    render_token_with(&state, &staff, &id, 0, Some(notice), shown).await
}

/// Why no replacement was issued; the token may be reported lost all the same (the
/// report comes first), as its status on the page shows.
fn no_replacement(problem: &crate::problem::Problem) -> String {
    format!("No replacement issued: {}", problem_text(problem))
}

/// The customer form of a token's page.
#[derive(Debug, Deserialize)]
pub(super) struct OwnerForm {
    csrf: String,
    /// The customer reference; empty takes the token from its customer.
    #[serde(default)]
    customer: String,
    reason: String,
}

/// Assigns the token to a customer, or takes it from its customer.
pub(super) async fn token_owner(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<OwnerForm>,
) -> Response {
    let (staff, token, reason) = match token_post(
        &state,
        &headers,
        &form.csrf,
        Administrator::ROLES,
        &id,
        &form.reason,
    )
    .await
    {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    let customer = match form.customer.trim() {
        "" => None,
        text => match CustomerRef::new(text) {
            Ok(customer) => Some(customer),
            Err(error) => {
                let message = format!("Invalid customer reference: {error}");
                return render_token(&state, &staff, &id, 0, Some(message)).await;
            }
        },
    };
    let done = crate::actor::giving_reason(
        reason,
        state.administer(staff.actor(), move |validator| match &customer {
            Some(customer) => validator.assign_owner(&token, customer),
            None => validator.unassign_owner(&token),
        }),
    )
    .await;
    let notice = match done {
        Ok(()) => "Done: the customer is set.".to_owned(),
        Err(problem) => format!("Not done: {}", problem_text(&problem)),
    };
    render_token(&state, &staff, &id, 0, Some(notice)).await
}

/// The revocation form of a token's page.
#[derive(Debug, Deserialize)]
pub(super) struct RevokeForm {
    csrf: String,
    /// The token's id typed again: revocation is final.
    confirm: String,
    reason: String,
}

/// Revokes the token, once its id is typed again.
pub(super) async fn token_revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<RevokeForm>,
) -> Response {
    let (staff, token, reason) = match token_post(
        &state,
        &headers,
        &form.csrf,
        Administrator::ROLES,
        &id,
        &form.reason,
    )
    .await
    {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    if form.confirm.trim() != token.as_str() {
        let message = "Not revoked: the id typed to confirm is not this token's.".to_owned();
        return render_token(&state, &staff, &id, 0, Some(message)).await;
    }
    let done = crate::actor::giving_reason(
        reason,
        state.administer(staff.actor(), move |validator| validator.revoke(&token)),
    )
    .await;
    let notice = match done {
        Ok(()) => "Revoked: the token is never usable again.".to_owned(),
        Err(problem) => format!("Not revoked: {}", problem_text(&problem)),
    };
    render_token(&state, &staff, &id, 0, Some(notice)).await
}

/// The replacement form of a token's page.
#[derive(Debug, Deserialize)]
pub(super) struct ReplaceForm {
    csrf: String,
    /// `totp` or `hotp` (a fresh soft token), or `factory-totp` or `factory-hotp` (a
    /// fob from its factory record).
    kind: String,
    new_id: String,
    #[serde(default)]
    secret_hex: Zeroizing<String>,
    #[serde(default)]
    counter: String,
    reason: String,
}

/// Revokes the token and enrols its replacement for the same customer: a fresh soft
/// token (its QR code shown on this answer only) or a fob from its factory record.
pub(super) async fn token_replace(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<ReplaceForm>,
) -> Response {
    let (staff, token, reason) = match token_post(
        &state,
        &headers,
        &form.csrf,
        Administrator::ROLES,
        &id,
        &form.reason,
    )
    .await
    {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    let made = if let Some(fob_kind) = form.kind.strip_prefix("factory-") {
        factory_enrolment(&form.new_id, &form.secret_hex, fob_kind, &form.counter)
            .map(|enrolment| (enrolment, None))
    } else {
        soft_parameters(&form.kind).and_then(|parameters| {
            let id = TokenId::new(form.new_id.trim())
                .map_err(|error| format!("Invalid id of the new token: {error}"))?;
            let (enrolment, secret) =
                Enrolment::generate(id, parameters).map_err(|error| error.to_string())?;
            Ok((enrolment, Some((secret, parameters))))
        })
    };
    let (enrolment, provisioning) = match made {
        Ok(made) => made,
        Err(message) => {
            let message = format!("Not replaced: {message}");
            return render_token(&state, &staff, &id, 0, Some(message)).await;
        }
    };
    if enrolment.id() == &token {
        let message =
            "Not replaced: the new token needs an id of its own; this one stays, revoked."
                .to_owned();
        return render_token(&state, &staff, &id, 0, Some(message)).await;
    }
    let replaced = crate::actor::giving_reason(
        reason,
        state.administer(staff.actor(), move |validator| {
            validator.replace(&token, enrolment)
        }),
    )
    .await;
    let (notice, shown) = match (replaced, provisioning) {
        (Ok(new), None) => (
            format!("Replaced by {new}, enrolled from its factory record."),
            None,
        ),
        (Ok(new), Some((secret, parameters))) => match shown_once(&state, &new, secret, parameters)
        {
            Ok(markup) => (format!("Replaced by {new}."), Some(markup)),
            Err(error) => (
                format!("Replaced by {new}, but its key URI could not be made: {error}"),
                None,
            ),
        },
        (Err(problem), _) => (format!("Not replaced: {}", problem_text(&problem)), None),
    };
    render_token_with(&state, &staff, &id, 0, Some(notice), shown).await
}
