//! The token page's "Unlock code for the fob's challenge" form: a helpdesk member types
//! the challenge a locked fob shows and a reason, and the page that answers shows the
//! unlock code once. The same library call as `POST /v1/tokens/{id}/unlock-code`,
//! inside the same `acting_as` and `giving_reason` scopes, so the same audit event.
//!
//! # Security
//!
//! The code is only in the body of the answer to the POST (console pages are never
//! cached), never in a URL, a redirect or a log line; neither it nor the challenge is
//! audited. An unknown token and a token without an unlock key get the same answer.

use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use otpfob::TokenId;
use serde::Deserialize;

use super::{STAFF_PREFIX, STAFF_REFUSED, html, pages, problem_text, reason, render_token};
use super::{refusal, require_post};
use crate::api::unlock::{parse_challenge, unlock_problem};
use crate::app::AppState;
use crate::auth::{Allowed as _, Helpdesk};

/// The form: the session's CSRF token, the challenge as read out, and the reason.
#[derive(Debug, Deserialize)]
pub(super) struct UnlockCodeForm {
    csrf: String,
    challenge: String,
    reason: String,
}

/// `POST /console/tokens/{id}/unlock-code`: the unlock code, on a page of its own, or
/// the token page with why not.
pub(super) async fn token_unlock_code(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<UnlockCodeForm>,
) -> Response {
    let staff = match require_post(&state, &headers, &form.csrf, Helpdesk::ROLES) {
        Ok(staff) => staff,
        Err(response) => return response,
    };
    if id.starts_with(STAFF_PREFIX) {
        return render_token(&state, &staff, &id, 0, Some(STAFF_REFUSED.to_owned())).await;
    }
    let reason = match reason(&form.reason) {
        Ok(reason) => reason,
        Err(message) => return render_token(&state, &staff, &id, 0, Some(message)).await,
    };
    let challenge = match parse_challenge(&form.challenge) {
        Ok(challenge) => challenge,
        Err(problem) => {
            let message = format!("Not done: {}", problem_text(&problem));
            return render_token(&state, &staff, &id, 0, Some(message)).await;
        }
    };
    let Ok(token) = TokenId::new(id.as_str()) else {
        return refusal(StatusCode::BAD_REQUEST, "Invalid token id.");
    };
    let actor = staff.actor();
    let answered = crate::actor::giving_reason(
        reason,
        state.blocking(move |validator| {
            crate::actor::acting_as(&actor, || validator.unlock_code(&token, &challenge))
        }),
    )
    .await;
    match answered {
        Ok(Ok(code)) => html(
            StatusCode::OK,
            pages::unlock_code(&staff.view(), &id, &code.to_string()),
        ),
        Ok(Err(error)) => {
            let message = format!("Not done: {}", problem_text(&unlock_problem(&error)));
            render_token(&state, &staff, &id, 0, Some(message)).await
        }
        Err(_) => refusal(StatusCode::INTERNAL_SERVER_ERROR, "Internal error."),
    }
}
