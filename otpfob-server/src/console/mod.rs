//! The helpdesk and administration console: server-rendered pages under `/console/`.
//!
//! One more client of the library, on the API's rules: every change is the same
//! validator call the administration API makes, inside the same `acting_as` scope, so
//! it writes the same audit event (naming `console:<staff member>`, with the reason
//! typed in the event's own field). The console adds only what a browser needs: staff
//! accounts with a password and a TOTP second factor (a token in the validator),
//! sessions in cookies, a CSRF token and an `Origin` check on every POST, and strict
//! headers (no script at all, no framing). Pages are [`maud`] templates; the one style
//! sheet is served from here.

mod lifecycle;
pub mod pages;
pub mod pending;
pub mod session;
pub mod staff;
mod unlock;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::multipart::{Field, Multipart, MultipartRejection};
use axum::extract::{DefaultBodyLimit, Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use otpfob::validator::{AuditReason, CustomerRef, Status};
use otpfob::{Enrolment, KeyUri, Secret, TokenId, TotpParameters, provision::QrCode};
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::api::admin::{TokenFilter, TokenPage};
use crate::app::AppState;
use crate::auth::{Administrator, Allowed, AuditReader, Helpdesk, Role, StateReader};
use crate::config::Config;
use pending::ActionKind;
use session::{Session, Sessions, Stage};
use staff::{StaffError, StaffStore};

/// The prefix of staff members' own TOTP tokens in the validator.
const STAFF_PREFIX: &str = "staff.";

/// Why the console does not change a staff member's token: a helpdesk member could
/// otherwise unlock their own (or a colleague's) locked second factor.
const STAFF_REFUSED: &str = "Not done: this is a staff member's second factor; it is reset with `otpfob-server staff reset-factor`, not from the console.";

/// The session cookie's name.
pub const COOKIE: &str = "otpfob_console";

/// The console's state: staff accounts and sessions.
#[derive(Debug)]
pub struct Console {
    staff: StaffStore,
    sessions: Sessions,
    secure_cookies: bool,
}

impl Console {
    /// Opens the staff database the configuration names (blocking).
    ///
    /// # Errors
    ///
    /// [`StaffError::Database`].
    pub fn open(config: &Config) -> Result<Self, StaffError> {
        let staff = StaffStore::open(&config.console.staff_database_path(config))?;
        Ok(Self {
            staff,
            sessions: Sessions::new(
                Duration::from_secs(config.console.idle_timeout_seconds.max(1)),
                Duration::from_secs(config.console.absolute_timeout_seconds.max(1)),
            ),
            secure_cookies: config.tls.is_some(),
        })
    }

    /// The staff accounts.
    #[must_use]
    pub fn staff(&self) -> &StaffStore {
        &self.staff
    }
}

/// The console's routes (merged into the server's router, under its layers).
pub fn router(import_bytes: usize) -> Router<AppState> {
    Router::new()
        .route("/console", get(home))
        .route("/console/", get(home))
        .route("/console/static/console.css", get(style_sheet))
        .route("/console/sign-in", get(sign_in_page).post(sign_in))
        .route("/console/second-factor", post(confirm_factor))
        .route("/console/sign-out", post(sign_out))
        .route("/console/tokens", get(token_list))
        .route("/console/tokens/{id}", get(token_page))
        .route("/console/tokens/{id}/action", post(token_action))
        .route("/console/tokens/{id}/resync", post(token_resync))
        .route(
            "/console/tokens/{id}/unlock-code",
            post(unlock::token_unlock_code),
        )
        .route(
            "/console/tokens/{id}/temporary",
            post(lifecycle::token_temporary),
        )
        .route("/console/tokens/{id}/owner", post(lifecycle::token_owner))
        .route("/console/tokens/{id}/revoke", post(lifecycle::token_revoke))
        .route(
            "/console/tokens/{id}/replace",
            post(lifecycle::token_replace),
        )
        .route(
            "/console/customers/{customer}/lookup",
            post(lifecycle::customer_lookup),
        )
        .route("/console/admin", get(admin_page))
        .route("/console/admin/enrol", post(admin_enrol))
        .route("/console/admin/factory", post(admin_factory))
        .route(
            "/console/admin/import",
            post(admin_import).layer(DefaultBodyLimit::max(import_bytes)),
        )
        .route("/console/admin/request", post(admin_request))
        .route("/console/admin/decide", post(admin_decide))
        .layer(axum::middleware::map_response(console_headers))
}

/// Strict headers on every console answer: no script from anywhere, styles and images
/// from here only (QR codes are `data:` images), no framing, no caching, no referrer
/// sent to other sites.
async fn console_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // `same-origin`, not `no-referrer`: under `no-referrer` a browser sends `Origin: null`
    // with the forms, and the Origin check could not tell our pages from any other.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

async fn style_sheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../../static/console.css"),
    )
        .into_response()
}

fn console(state: &AppState) -> &Arc<Console> {
    state.console()
}

/// The session id in the request's cookie, if any.
fn cookie_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
}

fn set_cookie(console: &Console, id: &str) -> HeaderValue {
    let secure = if console.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{COOKIE}={id}; Path=/console; HttpOnly; SameSite=Strict{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("otpfob_console=; Path=/console"))
}

fn clear_cookie() -> HeaderValue {
    HeaderValue::from_static("otpfob_console=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0")
}

fn redirect(to: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

fn html(status: StatusCode, markup: maud::Markup) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response()
}

fn with_cookie(mut response: Response, cookie: HeaderValue) -> Response {
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}

/// A plain error page (never a stack trace, never a secret).
fn refusal(status: StatusCode, message: &str) -> Response {
    html(status, pages::message(None, "Refused", message))
}

/// The live session of the request, if it has one.
fn session_of(state: &AppState, headers: &HeaderMap) -> Option<(String, Session)> {
    let id = cookie_id(headers)?;
    let session = console(state).sessions.touch(&id)?;
    Some((id, session))
}

/// A signed-in staff member holding one of `roles`.
#[derive(Debug, Clone)]
struct Staff {
    name: String,
    roles: BTreeSet<Role>,
    csrf: String,
}

impl Staff {
    /// The actor audit events name: `console:<name>` (the reason a staff member
    /// types goes into the event's own field, through [`crate::actor::giving_reason`]).
    fn actor(&self) -> Arc<str> {
        Arc::from(format!("console:{}", self.name))
    }

    fn view(&self) -> pages::Viewer<'_> {
        pages::Viewer {
            name: &self.name,
            roles: &self.roles,
            csrf: &self.csrf,
        }
    }
}

/// The signed-in staff member, checked to hold one of `roles`: signed-out requests go
/// to the sign-in page, a missing role is a 403 page.
#[allow(clippy::result_large_err)]
fn require(state: &AppState, headers: &HeaderMap, roles: &[Role]) -> Result<Staff, Response> {
    let Some((_, session)) = session_of(state, headers) else {
        return Err(redirect("/console/sign-in"));
    };
    let Some((name, held)) = session.staff() else {
        return Err(redirect("/console/sign-in"));
    };
    if !roles.iter().any(|role| held.contains(role)) {
        let names: Vec<&str> = roles.iter().map(|role| role.as_str()).collect();
        return Err(refusal(
            StatusCode::FORBIDDEN,
            &format!("This page needs the role {}.", names.join(" or ")),
        ));
    }
    Ok(Staff {
        name: name.to_owned(),
        roles: held.clone(),
        csrf: session.csrf.clone(),
    })
}

/// Whether the request comes from this server's own pages: its `Origin` (which every
/// browser sends with a form POST) names this host, with this server's scheme.
fn same_origin(state: &AppState, headers: &HeaderMap) -> bool {
    let scheme = if console(state).secure_cookies {
        "https"
    } else {
        "http"
    };
    let (Some(origin), Some(host)) = (
        headers
            .get(header::ORIGIN)
            .and_then(|value| value.to_str().ok()),
        headers
            .get(header::HOST)
            .and_then(|value| value.to_str().ok()),
    ) else {
        return false;
    };
    origin == format!("{scheme}://{host}")
}

/// The checks of every POST, before anything else is read: same origin, and the
/// session's CSRF token in the form.
#[allow(clippy::result_large_err)]
fn check_post(
    state: &AppState,
    headers: &HeaderMap,
    csrf: &str,
) -> Result<(String, Session), Response> {
    let refused = || {
        refusal(
            StatusCode::FORBIDDEN,
            "This form did not come from this console (or its session ended). Reload the page and try again.",
        )
    };
    if !same_origin(state, headers) {
        return Err(refused());
    }
    let Some((id, session)) = session_of(state, headers) else {
        return Err(refused());
    };
    if !session.csrf_matches(csrf) {
        return Err(refused());
    }
    Ok((id, session))
}

/// A POST's checks, then the staff member, who must hold one of `roles`.
#[allow(clippy::result_large_err)]
fn require_post(
    state: &AppState,
    headers: &HeaderMap,
    csrf: &str,
    roles: &[Role],
) -> Result<Staff, Response> {
    check_post(state, headers, csrf)?;
    require(state, headers, roles)
}

/// A reason typed for the audit trail: 3 to 200 characters, none of them a control
/// or invisible character (the library's [`AuditReason`] rules, and a floor of 3 so
/// that "ok" is not a reason).
fn reason(text: &str) -> Result<AuditReason, String> {
    let text = text.trim();
    let length = text.chars().count();
    if !(3..=otpfob::validator::MAX_AUDIT_REASON_CHARS).contains(&length) {
        return Err(format!(
            "A reason of 3 to 200 characters is needed (this one has {length})."
        ));
    }
    AuditReason::new(text)
        .map_err(|_| "The reason may not hold control or invisible characters.".to_owned())
}

async fn home(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match session_of(&state, &headers) {
        Some((_, session)) if session.staff().is_some() => redirect("/console/tokens"),
        _ => redirect("/console/sign-in"),
    }
}

async fn sign_in_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    // Every visit to the sign-in page starts a fresh anonymous session: its only use
    // is the CSRF token of the form.
    if let Some(id) = cookie_id(&headers) {
        console(&state).sessions.end(&id);
    }
    let Some((id, session)) = console(&state).sessions.start(Stage::Anonymous) else {
        return refusal(StatusCode::SERVICE_UNAVAILABLE, "No randomness; try again.");
    };
    with_cookie(
        html(StatusCode::OK, pages::sign_in(&session.csrf, None)),
        set_cookie(console(&state), &id),
    )
}

#[derive(Debug, Deserialize)]
struct SignInForm {
    csrf: String,
    name: String,
    password: Zeroizing<String>,
    #[serde(default)]
    code: String,
}

/// The one answer to every wrong sign-in: unknown name, wrong password, wrong,
/// replayed or missing code, locked second factor.
fn sign_in_rejected(state: &AppState) -> Response {
    let Some((id, session)) = console(state).sessions.start(Stage::Anonymous) else {
        return refusal(StatusCode::SERVICE_UNAVAILABLE, "No randomness; try again.");
    };
    with_cookie(
        html(
            StatusCode::UNAUTHORIZED,
            pages::sign_in(&session.csrf, Some("Sign-in rejected.")),
        ),
        set_cookie(console(state), &id),
    )
}

async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    let (old_id, _) = match check_post(&state, &headers, &form.csrf) {
        Ok(found) => found,
        Err(response) => return response,
    };
    console(&state).sessions.end(&old_id);
    let app = state.clone();
    let name = form.name.trim().to_owned();
    let outcome = state
        .blocking(move |validator| -> Result<SignIn, StaffError> {
            let console = console(&app);
            let Some(account) = console.staff.check_password(&name, &form.password)? else {
                return Ok(SignIn::Rejected);
            };
            let Ok(token) = account.token_id() else {
                return Ok(SignIn::Rejected);
            };
            let actor: Arc<str> = Arc::from(format!("console:{}", account.name));
            if !account.factor_confirmed {
                // First sign-in (or one that never confirmed): a fresh TOTP token,
                // replacing any unconfirmed one, shown once.
                let enrolled = crate::actor::acting_as(&actor, || {
                    match validator.delete(&token) {
                        Ok(())
                        | Err(otpfob::ValidatorError::Store(otpfob::StoreError::NotEnrolled {
                            ..
                        })) => {}
                        Err(error) => return Err(error),
                    }
                    let (enrolment, secret) =
                        Enrolment::generate(token.clone(), TotpParameters::default())?;
                    validator.enrol(enrolment)?;
                    Ok(secret)
                });
                let Ok(secret) = enrolled else {
                    return Ok(SignIn::Rejected);
                };
                return Ok(SignIn::Enrol {
                    name: account.name,
                    secret,
                });
            }
            let verified = crate::actor::acting_as(&actor, || {
                validator.verify(&token, form.code.trim(), None)
            });
            Ok(match verified {
                Ok(_) => SignIn::SignedIn {
                    name: account.name,
                    roles: account.roles,
                },
                Err(_) => SignIn::Rejected,
            })
        })
        .await;
    match outcome {
        Ok(Ok(SignIn::SignedIn { name, roles })) => {
            tracing::info!(staff = %name, "console sign-in");
            let Some((id, _)) = console(&state)
                .sessions
                .start(Stage::SignedIn { name, roles })
            else {
                return refusal(StatusCode::SERVICE_UNAVAILABLE, "No randomness; try again.");
            };
            with_cookie(
                redirect("/console/tokens"),
                set_cookie(console(&state), &id),
            )
        }
        Ok(Ok(SignIn::Enrol { name, secret })) => {
            // The authenticator app shows "<issuer> console: <name>" (a colon is the
            // label's separator, so it cannot be in the account name).
            let issuer = format!("{} console", state.config().issuer);
            let uri = match KeyUri::new(secret, &name, TotpParameters::default())
                .and_then(|uri| uri.with_issuer(&issuer))
            {
                Ok(uri) => uri,
                Err(error) => {
                    tracing::error!(%error, "staff key URI");
                    return refusal(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "The key URI could not be made.",
                    );
                }
            };
            let text = uri.to_uri();
            let Ok(svg) = QrCode::encode(&text).and_then(|qr| qr.to_svg(4)) else {
                return refusal(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "The QR code could not be made.",
                );
            };
            let Some((id, session)) = console(&state)
                .sessions
                .start(Stage::EnrollingFactor { name })
            else {
                return refusal(StatusCode::SERVICE_UNAVAILABLE, "No randomness; try again.");
            };
            with_cookie(
                html(
                    StatusCode::OK,
                    pages::enrol_factor(&session.csrf, &text, svg.as_ref()),
                ),
                set_cookie(console(&state), &id),
            )
        }
        Ok(Ok(SignIn::Rejected)) => sign_in_rejected(&state),
        Ok(Err(error)) => {
            tracing::error!(%error, "staff database");
            refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                "The staff database did not answer; try again.",
            )
        }
        Err(_) => refusal(StatusCode::INTERNAL_SERVER_ERROR, "Internal error."),
    }
}

enum SignIn {
    Rejected,
    Enrol { name: String, secret: Secret },
    SignedIn { name: String, roles: BTreeSet<Role> },
}

#[derive(Debug, Deserialize)]
struct CodeForm {
    csrf: String,
    code: String,
}

async fn confirm_factor(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Response {
    let (id, session) = match check_post(&state, &headers, &form.csrf) {
        Ok(found) => found,
        Err(response) => return response,
    };
    console(&state).sessions.end(&id);
    let Stage::EnrollingFactor { name } = session.stage else {
        return sign_in_rejected(&state);
    };
    let app = state.clone();
    let outcome = state
        .blocking(
            move |validator| -> Result<Option<staff::StaffAccount>, StaffError> {
                let console = console(&app);
                let Some(account) = console.staff.find(&name)? else {
                    return Ok(None);
                };
                let Ok(token) = account.token_id() else {
                    return Ok(None);
                };
                let actor: Arc<str> = Arc::from(format!("console:{}", account.name));
                if crate::actor::acting_as(&actor, || {
                    validator.verify(&token, form.code.trim(), None)
                })
                .is_err()
                {
                    return Ok(None);
                }
                console.staff.set_factor_confirmed(&account.name, true)?;
                Ok(Some(account))
            },
        )
        .await;
    match outcome {
        Ok(Ok(Some(account))) => {
            tracing::info!(staff = %account.name, "console second factor confirmed");
            let Some((id, _)) = console(&state).sessions.start(Stage::SignedIn {
                name: account.name,
                roles: account.roles,
            }) else {
                return refusal(StatusCode::SERVICE_UNAVAILABLE, "No randomness; try again.");
            };
            with_cookie(
                redirect("/console/tokens"),
                set_cookie(console(&state), &id),
            )
        }
        Ok(Ok(None)) => sign_in_rejected(&state),
        Ok(Err(error)) => {
            tracing::error!(%error, "staff database");
            refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                "The staff database did not answer; try again.",
            )
        }
        Err(_) => refusal(StatusCode::INTERNAL_SERVER_ERROR, "Internal error."),
    }
}

#[derive(Debug, Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    match check_post(&state, &headers, &form.csrf) {
        Ok((id, _)) => {
            console(&state).sessions.end(&id);
            with_cookie(redirect("/console/sign-in"), clear_cookie())
        }
        Err(response) => response,
    }
}

/// The token list's query.
#[derive(Debug, Deserialize)]
struct ListQuery {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    after: Option<String>,
}

/// How many tokens a page of the console's list shows.
const LIST_PAGE: usize = 25;

async fn token_list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
) -> Response {
    let staff = match require(&state, &headers, StateReader::ROLES) {
        Ok(staff) => staff,
        Err(response) => return response,
    };
    if let Some(text) = query
        .id
        .as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty())
    {
        return find_token(&state, &staff, text).await;
    }
    let status_name = query.status.as_deref().unwrap_or("");
    let (status, locked) = match status_name {
        "" => (None, None),
        "locked" => (None, Some(true)),
        name => match Status::from_name(name) {
            Some(status) => (Some(status), None),
            None => {
                return html(
                    StatusCode::BAD_REQUEST,
                    pages::message(
                        Some(&staff.view()),
                        "Invalid filter",
                        &format!(
                            "The status filter is active, locked, disabled, lost, revoked or expired, not {name:?}."
                        ),
                    ),
                );
            }
        },
    };
    let after = match query
        .after
        .as_deref()
        .filter(|after| !after.is_empty())
        .map(TokenId::new)
    {
        None => None,
        Some(Ok(after)) => Some(after),
        Some(Err(error)) => {
            return html(
                StatusCode::BAD_REQUEST,
                pages::message(Some(&staff.view()), "Invalid page", &error.to_string()),
            );
        }
    };
    let filter = TokenFilter {
        after,
        status,
        locked,
        ..listed(LIST_PAGE)
    };
    match state
        .blocking(move |validator| crate::api::admin::list_tokens(validator, &filter))
        .await
    {
        Ok(Ok(page)) => html(
            StatusCode::OK,
            pages::token_list(&staff.view(), &page, status_name, pages::Listing::Filtered),
        ),
        Ok(Err(error)) => store_refusal(&staff, &error),
        Err(_) => refusal(StatusCode::INTERNAL_SERVER_ERROR, "Internal error."),
    }
}

/// The console's list: `limit` tokens a page, never a staff member's own token.
fn listed(limit: usize) -> TokenFilter {
    TokenFilter {
        hidden_prefix: Some(STAFF_PREFIX),
        ..TokenFilter::all(limit)
    }
}

/// The search box: `text` is a token id (a fob's serial is its id) or a customer
/// reference. One token found opens its page; a customer's several are listed.
async fn find_token(state: &AppState, staff: &Staff, text: &str) -> Response {
    // A staff member's own token is not found: the console does not show it.
    let id = TokenId::new(text)
        .ok()
        .filter(|id| !id.as_str().starts_with(STAFF_PREFIX));
    let owner = CustomerRef::new(text).ok();
    if id.is_none() && owner.is_none() {
        return html(
            StatusCode::BAD_REQUEST,
            pages::message(
                Some(&staff.view()),
                "Invalid search",
                "Type a token id, a serial or a customer reference (printable characters, no spaces).",
            ),
        );
    }
    let found = state
        .blocking(move |validator| -> Result<_, otpfob::ValidatorError> {
            let mut page = match owner {
                Some(owner) => crate::api::admin::list_tokens(
                    validator,
                    &TokenFilter {
                        owner: Some(owner),
                        ..listed(LIST_PAGE)
                    },
                )?,
                None => TokenPage {
                    tokens: Vec::new(),
                    next: None,
                },
            };
            if let Some(id) = id
                && !page.tokens.iter().any(|token| token.id == id.as_str())
                && let Some(record) = validator.store().load(&id)?
            {
                let now = otpfob::TimeSource::now(validator.clock());
                page.tokens
                    .insert(0, crate::api::admin::token_body(&record, now));
            }
            Ok(page)
        })
        .await;
    match found {
        Ok(Ok(page)) if page.tokens.len() == 1 => redirect(&format!(
            "/console/tokens/{}",
            pages::path_segment(&page.tokens[0].id)
        )),
        Ok(Ok(page)) => html(
            if page.tokens.is_empty() {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::OK
            },
            pages::token_list(&staff.view(), &page, "", pages::Listing::Found(text)),
        ),
        Ok(Err(error)) => store_refusal(staff, &error),
        Err(_) => refusal(StatusCode::INTERNAL_SERVER_ERROR, "Internal error."),
    }
}

/// A problem as one plain sentence for a page.
fn problem_text(problem: &crate::problem::Problem) -> String {
    match &problem.detail {
        Some(detail) => format!("{}: {detail}", problem.title),
        None => problem.title.clone(),
    }
}

fn store_refusal(staff: &Staff, error: &otpfob::ValidatorError) -> Response {
    let problem = crate::app::admin_problem(error);
    let status = problem.status_code();
    html(
        status,
        pages::message(Some(&staff.view()), "Not done", &problem_text(&problem)),
    )
}

/// The token page's query: which page of the audit trail.
#[derive(Debug, Deserialize)]
struct TokenQuery {
    #[serde(default)]
    audit_page: Option<usize>,
}

/// Audit events per page of a token's trail.
const AUDIT_PAGE: usize = 20;

async fn token_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<TokenQuery>,
) -> Response {
    // As in the API: state readers see the state, audit readers the trail.
    let readers: Vec<Role> = StateReader::ROLES
        .iter()
        .chain(AuditReader::ROLES)
        .copied()
        .collect();
    let staff = match require(&state, &headers, &readers) {
        Ok(staff) => staff,
        Err(response) => return response,
    };
    render_token(&state, &staff, &id, query.audit_page.unwrap_or(0), None).await
}

/// A token's page, with `notice` (what the last action did) on top.
async fn render_token(
    state: &AppState,
    staff: &Staff,
    id: &str,
    audit_page: usize,
    notice: Option<String>,
) -> Response {
    render_token_with(state, staff, id, audit_page, notice, None).await
}

/// A token's page with `shown_once` above its state: a replacement's QR code or
/// emergency codes, on the answer to the request that made them, and never again.
async fn render_token_with(
    state: &AppState,
    staff: &Staff,
    id: &str,
    audit_page: usize,
    notice: Option<String>,
    shown_once: Option<maud::Markup>,
) -> Response {
    let id = match TokenId::new(id) {
        Ok(id) => id,
        Err(error) => {
            return html(
                StatusCode::BAD_REQUEST,
                pages::message(Some(&staff.view()), "Invalid token id", &error.to_string()),
            );
        }
    };
    let audit_page = audit_page.min(49);
    // The trail is read newest-last; one more than the pages shown tells whether
    // there is an older page.
    let wanted = (audit_page + 1) * AUDIT_PAGE + 1;
    let read = state
        .blocking(move |validator| -> Result<_, otpfob::ValidatorError> {
            let record = validator.store().load(&id)?;
            let trail = validator.store().audit_trail(&id, wanted)?;
            Ok((record, trail))
        })
        .await;
    match read {
        Ok(Ok((Some(record), trail))) => {
            let now = otpfob::TimeSource::now(state.validator().clock());
            let body = crate::api::admin::token_body(&record, now);
            html(
                StatusCode::OK,
                pages::token(
                    &staff.view(),
                    &body,
                    &trail,
                    audit_page,
                    AUDIT_PAGE,
                    notice.as_deref(),
                    shown_once,
                ),
            )
        }
        Ok(Ok((None, _))) => html(
            StatusCode::NOT_FOUND,
            pages::message(Some(&staff.view()), "Not found", "No token has this id."),
        ),
        Ok(Err(error)) => store_refusal(staff, &error),
        Err(_) => refusal(StatusCode::INTERNAL_SERVER_ERROR, "Internal error."),
    }
}

#[derive(Debug, Deserialize)]
struct ActionForm {
    csrf: String,
    action: String,
    reason: String,
}

/// The checks every POST to a token's page starts with: the `Origin` and CSRF token,
/// one of `roles`, not a staff member's own second factor, a valid token id and a
/// reason. `Err` is the answer to give instead.
async fn token_post(
    state: &AppState,
    headers: &HeaderMap,
    csrf: &str,
    roles: &[Role],
    id: &str,
    reason_text: &str,
) -> Result<(Staff, TokenId, AuditReason), Response> {
    let staff = require_post(state, headers, csrf, roles)?;
    if id.starts_with(STAFF_PREFIX) {
        return Err(render_token(state, &staff, id, 0, Some(STAFF_REFUSED.to_owned())).await);
    }
    let reason = match reason(reason_text) {
        Ok(reason) => reason,
        Err(message) => return Err(render_token(state, &staff, id, 0, Some(message)).await),
    };
    let Ok(token) = TokenId::new(id) else {
        return Err(refusal(StatusCode::BAD_REQUEST, "Invalid token id."));
    };
    Ok((staff, token, reason))
}

async fn token_action(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<ActionForm>,
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
    let action = form.action.clone();
    let done = crate::actor::giving_reason(
        reason,
        state.administer(staff.actor(), move |validator| match action.as_str() {
            "unlock" => validator.unlock(&token),
            "disable" => validator.disable(&token),
            "enable" => validator.enable(&token),
            "lost" => validator.report_lost(&token),
            "found" => validator.report_found(&token),
            other => Err(otpfob::ValidatorError::Pin {
                reason: format!("unknown action {other:?}"),
            }),
        }),
    )
    .await;
    let notice = match done {
        Ok(()) => format!("Done: {}.", form.action),
        Err(problem) => format!("Not done: {}", problem_text(&problem)),
    };
    render_token(&state, &staff, &id, 0, Some(notice)).await
}

#[derive(Debug, Deserialize)]
struct ResyncForm {
    csrf: String,
    first: String,
    second: String,
    reason: String,
}

async fn token_resync(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<ResyncForm>,
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
    let actor = staff.actor();
    let resynced = crate::actor::giving_reason(
        reason,
        state.blocking(move |validator| {
            crate::actor::acting_as(&actor, || {
                validator.resync(&token, form.first.trim(), form.second.trim(), None)
            })
        }),
    )
    .await;
    let notice = match resynced {
        Ok(Ok(acceptance)) => format!(
            "Resynchronised: the token was {} steps or presses away.",
            acceptance.offset
        ),
        // As for any rejected code: the reason is in the audit trail below.
        Ok(Err(_)) => "Resync rejected.".to_owned(),
        Err(_) => "Internal error.".to_owned(),
    };
    render_token(&state, &staff, &id, 0, Some(notice)).await
}

async fn admin_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let staff = match require(&state, &headers, Administrator::ROLES) {
        Ok(staff) => staff,
        Err(response) => return response,
    };
    render_admin(&state, &staff, None).await
}

async fn render_admin(state: &AppState, staff: &Staff, notice: Option<maud::Markup>) -> Response {
    let app = state.clone();
    let actions = state
        .blocking(move |_| console(&app).staff.actions(50))
        .await;
    match actions {
        Ok(Ok(actions)) => html(
            StatusCode::OK,
            pages::admin(&staff.view(), &actions, notice),
        ),
        Ok(Err(error)) => {
            tracing::error!(%error, "staff database");
            refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                "The staff database did not answer; try again.",
            )
        }
        Err(_) => refusal(StatusCode::INTERNAL_SERVER_ERROR, "Internal error."),
    }
}

#[derive(Debug, Deserialize)]
struct EnrolForm {
    csrf: String,
    id: String,
    kind: String,
    reason: String,
}

async fn admin_enrol(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<EnrolForm>,
) -> Response {
    let staff = match require_post(&state, &headers, &form.csrf, Administrator::ROLES) {
        Ok(staff) => staff,
        Err(response) => return response,
    };
    let failed = |message: String| {
        let markup = pages::notice(&message);
        render_admin(&state, &staff, Some(markup))
    };
    let reason = match reason(&form.reason) {
        Ok(reason) => reason,
        Err(message) => return failed(message).await,
    };
    let id = match TokenId::new(form.id.trim()) {
        Ok(id) => id,
        Err(error) => return failed(format!("Invalid token id: {error}")).await,
    };
    let parameters = match soft_parameters(&form.kind) {
        Ok(parameters) => parameters,
        Err(message) => return failed(message).await,
    };
    let (enrolment, secret) = match Enrolment::generate(id.clone(), parameters) {
        Ok(generated) => generated,
        Err(error) => return failed(format!("Not enrolled: {error}")).await,
    };
    if let Err(problem) = crate::actor::giving_reason(
        reason,
        state.administer(staff.actor(), move |validator| {
            validator.enrol(enrolment).map(|_| ())
        }),
    )
    .await
    {
        return failed(format!("Not enrolled: {}", problem_text(&problem))).await;
    }
    match shown_once(&state, &id, secret, parameters) {
        Ok(markup) => render_admin(&state, &staff, Some(markup)).await,
        Err(error) => {
            failed(format!(
                "Enrolled, but its key URI could not be made: {error}"
            ))
            .await
        }
    }
}

/// A soft token's key URI and QR code, made after its enrolment to be shown once.
fn shown_once(
    state: &AppState,
    id: &TokenId,
    secret: Secret,
    parameters: otpfob::OtpParameters,
) -> Result<maud::Markup, String> {
    let uri = KeyUri::new(secret, id.as_str(), parameters)
        .and_then(|uri| uri.with_issuer(&state.config().issuer))
        .map_err(|error| error.to_string())?;
    let text = uri.to_uri();
    let svg = QrCode::encode(&text)
        .and_then(|qr| qr.to_svg(4))
        .map_err(|error| error.to_string())?;
    Ok(pages::enrolled(id.as_str(), &text, svg.as_ref()))
}

/// A soft token's parameters from a form's kind: `totp` or `hotp`, the defaults.
fn soft_parameters(kind: &str) -> Result<otpfob::OtpParameters, String> {
    match kind {
        "totp" => Ok(otpfob::OtpParameters::Totp(TotpParameters::default())),
        "hotp" => Ok(otpfob::OtpParameters::Hotp(
            otpfob::HotpParameters::default(),
        )),
        other => Err(format!("The kind is totp or hotp, not {other:?}.")),
    }
}

/// A fob's enrolment from the fields of its factory record typed into a form.
fn factory_enrolment(
    serial: &str,
    secret_hex: &str,
    kind: &str,
    counter: &str,
) -> Result<Enrolment, String> {
    let id = TokenId::new(serial.trim()).map_err(|error| format!("Invalid serial: {error}"))?;
    let secret =
        Secret::from_hex(secret_hex.trim()).map_err(|error| format!("Invalid secret: {error}"))?;
    let counter = match counter.trim() {
        "" => 0,
        text => text
            .parse::<u64>()
            .map_err(|_| format!("The counter is a whole number, not {text:?}."))?,
    };
    let parameters = soft_parameters(kind)?;
    Ok(Enrolment::new(id, secret, parameters).with_counter(counter))
}

#[derive(Debug, Deserialize)]
struct FactoryForm {
    csrf: String,
    serial: String,
    secret_hex: Zeroizing<String>,
    kind: String,
    #[serde(default)]
    counter: String,
    reason: String,
}

async fn admin_factory(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<FactoryForm>,
) -> Response {
    let staff = match require_post(&state, &headers, &form.csrf, Administrator::ROLES) {
        Ok(staff) => staff,
        Err(response) => return response,
    };
    let answer = |message: String| {
        let markup = pages::notice(&message);
        render_admin(&state, &staff, Some(markup))
    };
    let reason = match reason(&form.reason) {
        Ok(reason) => reason,
        Err(message) => return answer(message).await,
    };
    let enrolment =
        match factory_enrolment(&form.serial, &form.secret_hex, &form.kind, &form.counter) {
            Ok(enrolment) => enrolment,
            Err(message) => return answer(message).await,
        };
    let id = enrolment.id().clone();
    match crate::actor::giving_reason(
        reason,
        state.administer(staff.actor(), move |validator| {
            validator.enrol(enrolment).map(|_| ())
        }),
    )
    .await
    {
        Ok(()) => answer(format!("Enrolled {id} from its factory record.")).await,
        Err(problem) => answer(format!("Not enrolled: {}", problem_text(&problem))).await,
    }
}

/// The largest text field of the upload form (the CSRF token, the reason), in bytes.
const UPLOAD_FIELD_BYTES: usize = 1024;

/// A small text field of a `multipart/form-data` form, read to its end: at most
/// [`UPLOAD_FIELD_BYTES`] bytes of UTF-8.
async fn upload_text(field: &mut Field<'_>) -> Result<String, String> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|error| error.body_text())? {
        if bytes.len() + chunk.len() > UPLOAD_FIELD_BYTES {
            return Err(format!(
                "The form's field {} is longer than {UPLOAD_FIELD_BYTES} bytes.",
                field.name().unwrap_or("without a name")
            ));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| "The form's fields are UTF-8 text.".to_owned())
}

/// An uploaded file's name as the pending action shows it: no control characters, at
/// most 100 characters, `upload.xml` when the browser sent none.
fn shown_file_name(name: Option<&str>) -> String {
    let name: String = name
        .unwrap_or("")
        .chars()
        .filter(|character| !character.is_control())
        .take(100)
        .collect();
    match name.trim() {
        "" => "upload.xml".to_owned(),
        name => name.to_owned(),
    }
}

/// An import is asked for here, with the PSKC file uploaded as `multipart/form-data`
/// (the route's body limit is the server's `import_bytes`), and runs when a second
/// administrator approves it (with the file's credential, which is never stored).
///
/// Nothing of the file is read before the request is known to come from this
/// console: the `Origin` first, then the CSRF token, which must be the form's first
/// field (a browser sends the fields in the page's order, and the hidden token comes
/// first).
async fn admin_import(
    State(state): State<AppState>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let forged = || {
        refusal(
            StatusCode::FORBIDDEN,
            "This form did not come from this console (or its session ended). Reload the page and try again.",
        )
    };
    let (true, Ok(mut multipart)) = (same_origin(&state, &headers), multipart) else {
        return forged();
    };
    let csrf = match multipart.next_field().await {
        Ok(Some(mut field)) if field.name() == Some("csrf") => upload_text(&mut field).await,
        _ => return forged(),
    };
    let Ok(csrf) = csrf else {
        return forged();
    };
    let staff = match require_post(&state, &headers, &csrf, Administrator::ROLES) {
        Ok(staff) => staff,
        Err(response) => return response,
    };
    let failed = |message: String| {
        let markup = pages::notice(&message);
        render_admin(&state, &staff, Some(markup))
    };
    let mut reason_text = None;
    let mut file = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(error) => {
                return failed(format!(
                    "The upload could not be read: {}",
                    error.body_text()
                ))
                .await;
            }
        };
        match field.name() {
            Some("reason") => {
                let mut field = field;
                match upload_text(&mut field).await {
                    Ok(text) => reason_text = Some(text),
                    Err(message) => return failed(message).await,
                }
            }
            Some("document") => {
                let name = shown_file_name(field.file_name());
                match field.bytes().await {
                    Ok(bytes) => file = Some((name, bytes)),
                    Err(error) => {
                        return failed(format!(
                            "The file could not be read: {} (the largest accepted is {} bytes).",
                            error.body_text(),
                            state.config().limits.import_bytes
                        ))
                        .await;
                    }
                }
            }
            _ => return failed("The form has a field it should not have.".to_owned()).await,
        }
    }
    let reason = match reason(reason_text.as_deref().unwrap_or("")) {
        Ok(reason) => reason,
        Err(message) => return failed(message).await,
    };
    let Some((file_name, document)) = file.filter(|(_, bytes)| !bytes.is_empty()) else {
        return failed("Choose the PSKC file to import.".to_owned()).await;
    };
    request(
        &state,
        &staff,
        ActionKind::Import,
        file_name,
        reason,
        Some(document.to_vec()),
    )
    .await
}

#[derive(Debug, Deserialize)]
struct RequestForm {
    csrf: String,
    kind: String,
    #[serde(default)]
    target: String,
    reason: String,
}

/// Asks for a delete or a reseal (a second administrator approves it).
async fn admin_request(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<RequestForm>,
) -> Response {
    let staff = match require_post(&state, &headers, &form.csrf, Administrator::ROLES) {
        Ok(staff) => staff,
        Err(response) => return response,
    };
    let reason = match reason(&form.reason) {
        Ok(reason) => reason,
        Err(message) => return render_admin(&state, &staff, Some(pages::notice(&message))).await,
    };
    let (kind, target) = match form.kind.as_str() {
        "delete" => match TokenId::new(form.target.trim()) {
            Ok(id) => (ActionKind::Delete, id.to_string()),
            Err(error) => {
                return render_admin(
                    &state,
                    &staff,
                    Some(pages::notice(&format!("Invalid token id: {error}"))),
                )
                .await;
            }
        },
        "reseal" => (ActionKind::Reseal, "all".to_owned()),
        other => {
            return render_admin(
                &state,
                &staff,
                Some(pages::notice(&format!("Unknown action {other:?}."))),
            )
            .await;
        }
    };
    request(&state, &staff, kind, target, reason, None).await
}

async fn request(
    state: &AppState,
    staff: &Staff,
    kind: ActionKind,
    target: String,
    reason: AuditReason,
    payload: Option<Vec<u8>>,
) -> Response {
    let app = state.clone();
    let name = staff.name.clone();
    let shown = target.clone();
    let recorded = state
        .blocking(move |_| {
            console(&app).staff.request_action(
                kind,
                &target,
                reason.as_str(),
                &name,
                payload.as_deref(),
            )
        })
        .await;
    let message = match recorded {
        Ok(Ok(number)) => format!(
            "Pending action {number} ({} {shown}) waits for a second administrator.",
            kind.as_str()
        ),
        Ok(Err(error)) => {
            tracing::error!(%error, "staff database");
            "The staff database did not answer; nothing was asked.".to_owned()
        }
        Err(_) => "Internal error.".to_owned(),
    };
    render_admin(state, staff, Some(pages::notice(&message))).await
}

#[derive(Debug, Deserialize)]
struct DecideForm {
    csrf: String,
    action: i64,
    decision: String,
    #[serde(default)]
    password: Zeroizing<String>,
}

async fn admin_decide(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<DecideForm>,
) -> Response {
    let staff = match require_post(&state, &headers, &form.csrf, Administrator::ROLES) {
        Ok(staff) => staff,
        Err(response) => return response,
    };
    let approve = form.decision == "approve";
    let app = state.clone();
    let decider = staff.name.clone();
    let taken = state
        .blocking(move |_| {
            console(&app)
                .staff
                .take_action(form.action, &decider, approve)
        })
        .await;
    let (action, payload) = match taken {
        Ok(Ok(Some(taken))) => taken,
        Ok(Ok(None)) => {
            return render_admin(
                &state,
                &staff,
                Some(pages::notice(
                    "No such pending action, or it is your own: a second administrator decides it.",
                )),
            )
            .await;
        }
        Ok(Err(error)) => {
            tracing::error!(%error, "staff database");
            return refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                "The staff database did not answer; try again.",
            );
        }
        Err(_) => return refusal(StatusCode::INTERNAL_SERVER_ERROR, "Internal error."),
    };
    if !approve {
        return render_admin(
            &state,
            &staff,
            Some(pages::notice(&format!(
                "Refused pending action {}.",
                action.id
            ))),
        )
        .await;
    }
    // The audit events name both administrators, and carry the requester's reason
    // (checked when it was asked for; a stored one the library now refuses is not
    // carried out on trust).
    let actor: Arc<str> = Arc::from(format!(
        "console:{} approving {}",
        staff.name, action.requested_by
    ));
    let Ok(reason) = AuditReason::new(&action.reason) else {
        return render_admin(
            &state,
            &staff,
            Some(pages::notice(&format!(
                "Pending action {} has a reason the audit trail refuses; ask again.",
                action.id
            ))),
        )
        .await;
    };
    let result = crate::actor::giving_reason(reason, async {
        match action.kind {
            ActionKind::Delete => match TokenId::new(action.target.as_str()) {
                Ok(id) => state
                    .administer(actor, move |validator| validator.delete(&id))
                    .await
                    .map(|()| format!("Deleted {}.", action.target))
                    .unwrap_or_else(|problem| format!("Not deleted: {}", problem_text(&problem))),
                Err(error) => format!("Not deleted: {error}"),
            },
            ActionKind::Reseal => state
                .administer(actor, |validator| validator.reseal_all())
                .await
                .map(|count| format!("Resealed {count} tokens under the current key."))
                .unwrap_or_else(|problem| format!("Not resealed: {}", problem_text(&problem))),
            ActionKind::Import => {
                let document = payload.unwrap_or_default();
                let credential = if form.password.is_empty() {
                    Ok(otpfob::pskc::PskcCredential::None)
                } else {
                    Secret::from_bytes(form.password.as_bytes())
                        .map(otpfob::pskc::PskcCredential::Password)
                };
                match credential {
                    Err(error) => format!("Not imported: the password: {error}"),
                    Ok(credential) => {
                        let imported = state
                            .blocking(move |validator| {
                                let container = otpfob::pskc::read_pskc(&document, &credential)?;
                                Ok::<_, otpfob::pskc::PskcError>(crate::actor::acting_as(
                                    &actor,
                                    || validator.enrol_pskc(&container),
                                ))
                            })
                            .await;
                        match imported {
                            Ok(Ok(report)) => {
                                let mut lines = vec![format!(
                                    "Imported {} keys, refused {}.",
                                    report.enrolled.len(),
                                    report.refused.len()
                                )];
                                for key in &report.enrolled {
                                    lines
                                        .push(format!("{}: enrolled as {}", key.key_id, key.token));
                                }
                                for key in &report.refused {
                                    lines.push(format!("{}: refused: {}", key.key_id, key.error));
                                }
                                lines.join("\n")
                            }
                            Ok(Err(error)) => format!("Not imported: {error}"),
                            Err(_) => "Internal error.".to_owned(),
                        }
                    }
                }
            }
        }
    })
    .await;
    let app = state.clone();
    let stored = result.clone();
    let number = action.id;
    let _ = state
        .blocking(move |_| console(&app).staff.set_action_result(number, &stored))
        .await;
    render_admin(
        &state,
        &staff,
        Some(pages::notice(&format!("Pending action {number}: {result}"))),
    )
    .await
}
