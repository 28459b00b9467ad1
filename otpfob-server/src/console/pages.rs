//! The console's pages, as [`maud`] templates: plain HTML forms, no script, one style
//! sheet. maud escapes every value it is given, so a token id or a reason typed by
//! someone cannot become markup.

use std::collections::BTreeSet;

use base64::Engine as _;
use maud::{DOCTYPE, Markup, html};
use otpfob::validator::{AuditEvent, Outcome};

use super::pending::{ActionKind, PendingAction};

mod lifecycle;
use crate::api::admin::{KindName, TokenBody, TokenPage};
use crate::auth::{Allowed as _, Role};
pub use lifecycle::emergency_codes;

/// Who looks at a page: the signed-in staff member.
#[derive(Debug, Clone, Copy)]
pub struct Viewer<'a> {
    /// Their name.
    pub name: &'a str,
    /// Their roles.
    pub roles: &'a BTreeSet<Role>,
    /// Their session's CSRF token, for the forms.
    pub csrf: &'a str,
}

/// `text` made safe as one path segment (percent-encoded but for unreserved bytes).
#[must_use]
pub fn path_segment(text: &str) -> String {
    text.bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
                char::from(byte).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

/// `text` made safe as a query value.
fn query_value(text: &str) -> String {
    path_segment(text)
}

fn layout(viewer: Option<&Viewer<'_>>, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · otpfob console" }
                link rel="stylesheet" href="/console/static/console.css";
            }
            body {
                header {
                    nav aria-label="Console" {
                        span.brand { "otpfob console" }
                        @if let Some(viewer) = viewer {
                            a href="/console/tokens" { "Tokens" }
                            @if viewer.roles.contains(&Role::Admin) {
                                a href="/console/admin" { "Administration" }
                            }
                            span.who { "Signed in as " strong { (viewer.name) } }
                            form.inline method="post" action="/console/sign-out" {
                                input type="hidden" name="csrf" value=(viewer.csrf);
                                button type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                main id="main" {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// A page with one message (errors are plain sentences).
#[must_use]
pub fn message(viewer: Option<&Viewer<'_>>, title: &str, text: &str) -> Markup {
    layout(
        viewer,
        title,
        html! { p.notice role="alert" { (text) } @if viewer.is_none() { p { a href="/console/sign-in" { "Sign in" } } } },
    )
}

/// A notice for the top of a page (several lines kept apart).
#[must_use]
pub fn notice(text: &str) -> Markup {
    html! {
        div.notice role="status" {
            @for line in text.lines() { p { (line) } }
        }
    }
}

/// The sign-in form: name, password, and the code of the staff member's token.
#[must_use]
pub fn sign_in(csrf: &str, error: Option<&str>) -> Markup {
    layout(
        None,
        "Sign in",
        html! {
            @if let Some(error) = error { p.notice role="alert" { (error) } }
            form.card method="post" action="/console/sign-in" {
                input type="hidden" name="csrf" value=(csrf);
                label for="name" { "Name" }
                input id="name" name="name" type="text" autocomplete="username" required autofocus;
                label for="password" { "Password" }
                input id="password" name="password" type="password" autocomplete="current-password" required;
                label for="code" { "Code from your authenticator (leave empty at your first sign-in)" }
                input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" maxlength="10";
                button type="submit" { "Sign in" }
            }
        },
    )
}

fn data_image(svg: &str) -> String {
    format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(svg.as_bytes())
    )
}

/// The first sign-in: the staff member's new TOTP token, shown once, and a field for
/// its first code.
#[must_use]
pub fn enrol_factor(csrf: &str, key_uri: &str, svg: &str) -> Markup {
    layout(
        None,
        "Set up your second factor",
        html! {
            p { "Scan this code with an authenticator app, then type the code it shows. It is shown only now." }
            figure.qr {
                img id="qr" src=(data_image(svg)) alt="QR code of your new sign-in token" width="240" height="240";
                figcaption { "Or type the key: " code id="key-uri" { (key_uri) } }
            }
            form.card method="post" action="/console/second-factor" {
                input type="hidden" name="csrf" value=(csrf);
                label for="code" { "Code" }
                input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required maxlength="10";
                button type="submit" { "Confirm" }
            }
        },
    )
}

fn kind_name(kind: KindName) -> &'static str {
    match kind {
        KindName::Totp => "TOTP",
        KindName::Hotp => "HOTP",
        KindName::Cap => "EMV-CAP",
    }
}

fn status_text(token: &TokenBody) -> String {
    let mut text = token.status.clone();
    // An active token past its validity period is refused as expired.
    if token.expired && token.status != "expired" {
        text.push_str(" (expired)");
    }
    if token.locked {
        text.push_str(" (locked)");
    }
    text
}

/// The status filter's choices: a status, or `locked`.
const STATUS_FILTERS: [(&str, &str); 7] = [
    ("", "any"),
    ("active", "active"),
    ("locked", "locked"),
    ("disabled", "disabled"),
    ("lost", "lost"),
    ("revoked", "revoked"),
    ("expired", "expired"),
];

/// What a list of tokens shows.
#[derive(Debug, Clone, Copy)]
pub enum Listing<'a> {
    /// A page of every token, by the status filter.
    Filtered,
    /// What the search box found for this text (a customer's tokens).
    Found(&'a str),
}

/// The token list: search by id, serial or customer reference, filter by status,
/// keyset pages.
#[must_use]
pub fn token_list(
    viewer: &Viewer<'_>,
    page: &TokenPage,
    status: &str,
    listing: Listing<'_>,
) -> Markup {
    let searched = match listing {
        Listing::Found(text) => text,
        Listing::Filtered => "",
    };
    layout(
        Some(viewer),
        "Tokens",
        html! {
            form.search method="get" action="/console/tokens" role="search" {
                label for="id" { "Token id, serial or customer reference" }
                input id="id" name="id" type="search" value=(searched);
                button type="submit" id="do-find" { "Find" }
            }
            form.search method="get" action="/console/tokens" {
                label for="status" { "Status" }
                select id="status" name="status" {
                    @for (value, label) in STATUS_FILTERS {
                        option value=(value) selected[value == status] { (label) }
                    }
                }
                button type="submit" id="do-filter" { "Filter" }
            }
            @if page.tokens.is_empty() {
                p id="no-tokens" {
                    @match listing {
                        Listing::Found(text) => { "No token has the id, serial or customer reference " strong { (text) } "." }
                        Listing::Filtered => { "No tokens." }
                    }
                }
            } @else {
                table id="tokens" {
                    caption {
                        @match listing {
                            Listing::Found(text) => { "Tokens of customer " (text) }
                            Listing::Filtered => { "Tokens in id order" }
                        }
                    }
                    thead { tr { th scope="col" { "Id" } th scope="col" { "Kind" } th scope="col" { "Status" } th scope="col" { "Customer" } th scope="col" { "Failures" } } }
                    tbody {
                        @for token in &page.tokens {
                            tr {
                                td { a href={ "/console/tokens/" (path_segment(&token.id)) } { (token.id) } }
                                td { (kind_name(token.kind)) }
                                td { (status_text(token)) }
                                td { (token.owner.as_deref().unwrap_or("")) }
                                td { (token.failures) }
                            }
                        }
                    }
                }
            }
            @if let Listing::Found(customer) = listing {
                @if !page.tokens.is_empty() && viewer.roles.contains(&Role::Helpdesk) && page.tokens.iter().any(|token| token.owner.as_deref() == Some(customer)) {
                    (lifecycle::lookup_form(viewer, customer))
                }
            }
            @if let Some(next) = &page.next {
                @match listing {
                    Listing::Filtered => {
                        p { a href={ "/console/tokens?status=" (query_value(status)) "&after=" (query_value(next)) } { "Next page" } }
                    }
                    Listing::Found(_) => { p { "More tokens than one page shows: filter the list instead." } }
                }
            }
        },
    )
}

fn time_text(seconds: i64) -> String {
    // Days since the epoch to a civil date (Howard Hinnant's algorithm), so that the
    // page shows UTC dates without a date crate.
    let days = seconds.div_euclid(86_400);
    let rest = seconds.rem_euclid(86_400);
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

fn outcome_text(event: &AuditEvent) -> String {
    match event.outcome {
        Outcome::Accepted => "accepted".to_owned(),
        Outcome::Rejected(reason) => format!("rejected ({reason})"),
        Outcome::Done => "done".to_owned(),
        _ => "other".to_owned(),
    }
}

/// A token's page: its state (never its secret), its audit trail newest first, and
/// the actions the viewer's roles allow.
#[must_use]
pub fn token(
    viewer: &Viewer<'_>,
    token: &TokenBody,
    trail: &[AuditEvent],
    audit_page: usize,
    per_page: usize,
    notice_text: Option<&str>,
    shown_once: Option<Markup>,
) -> Markup {
    let newest_first: Vec<&AuditEvent> = trail.iter().rev().collect();
    let shown: Vec<&AuditEvent> = newest_first
        .iter()
        .skip(audit_page * per_page)
        .take(per_page)
        .copied()
        .collect();
    let older = newest_first.len() > (audit_page + 1) * per_page;
    let last_use = newest_first
        .iter()
        .find(|event| matches!(event.outcome, Outcome::Accepted))
        .map(|event| time_text(event.at.as_secs()));
    let segment = path_segment(&token.id);
    let helpdesk = viewer.roles.contains(&Role::Helpdesk);
    // As in the API: the state for state readers, the trail for audit readers.
    let state_reader = has_any(viewer, crate::auth::StateReader::ROLES);
    let audit_reader = has_any(viewer, crate::auth::AuditReader::ROLES);
    layout(
        Some(viewer),
        &format!("Token {}", token.id),
        html! {
            @if let Some(text) = notice_text { (notice(text)) }
            @if let Some(shown) = shown_once { (shown) }
            @if state_reader { dl.facts {
                dt { "Kind" } dd { (kind_name(token.kind)) ", " (token.algorithm) ", " (token.digits) " digits"
                    @if let Some(period) = token.period { ", " (period) " s steps" } }
                dt { "Status" } dd id="status" { (status_text(token)) }
                dt { "Lock" } dd id="lock" { @if token.locked { "locked after " (token.failures) " consecutive failures" } @else { "not locked" } }
                dt { "Consecutive failures" } dd id="failures" { (token.failures) }
                dt { "Locks so far" } dd { (token.lockouts) }
                @if let Some(drift) = token.drift_steps {
                    dt { "Learned drift" } dd id="drift" { (drift) " steps (" (drift * i64::try_from(token.period.unwrap_or(30)).unwrap_or(30)) " s)" }
                }
                @if let Some(counter) = token.next_counter {
                    dt { "Next counter" } dd id="counter" { (counter) }
                }
                dt { "Last accepted use" } dd { (last_use.unwrap_or_else(|| "none in the trail".to_owned())) }
                dt { "Enrolled" } dd { (time_text(token.enrolled_at)) }
                @if let Some(start) = token.not_before { dt { "Valid from" } dd { (time_text(start)) } }
                dt { "Valid until" } dd id="not-after" { @if let Some(end) = token.not_after { (time_text(end)) } @else { "no end" } }
                dt { "Customer" } dd id="owner" { (token.owner.as_deref().unwrap_or("none assigned")) }
                @if let Some(lost) = &token.replaces {
                    dt { "Stands in for" } dd id="replaces" { a href={ "/console/tokens/" (path_segment(lost)) } { (lost) } " (temporary)" }
                }
                @if let Some(uses) = token.uses_left { dt { "Uses left" } dd id="uses-left" { (uses) } }
                dt { "Server-side PIN" } dd { @if token.has_pin { "set" } @else { "none" } }
                dt { "Fob unlock key" } dd id="unlock-key" { @if token.has_unlock_key { "held, sealed: the helpdesk can answer the fob's unlock challenge" } @else { "none" } }
                @if let Some(suite) = &token.ocra_suite { dt { "OCRA suite" } dd { (suite) } }
            } }
            @if helpdesk {
                section aria-labelledby="actions" {
                    h2 id="actions" { "Helpdesk actions" }
                    form.card method="post" action={ "/console/tokens/" (segment) "/action" } {
                        input type="hidden" name="csrf" value=(viewer.csrf);
                        label for="action" { "Action" }
                        select id="action" name="action" {
                            option value="unlock" { "Unlock" }
                            option value="disable" { "Disable" }
                            option value="enable" { "Enable" }
                            option value="lost" { "Report lost (no replacement)" }
                            option value="found" { "Found (back in service)" }
                        }
                        label for="action-reason" { "Reason (goes into the audit trail)" }
                        input id="action-reason" name="reason" type="text" required minlength="3" maxlength="200";
                        button type="submit" id="do-action" { "Apply" }
                    }
                    form.card method="post" action={ "/console/tokens/" (segment) "/resync" } {
                        input type="hidden" name="csrf" value=(viewer.csrf);
                        label for="first" { "First code the customer reads out" }
                        input id="first" name="first" type="text" inputmode="numeric" required maxlength="10";
                        label for="second" { "The next code" }
                        input id="second" name="second" type="text" inputmode="numeric" required maxlength="10";
                        label for="resync-reason" { "Reason" }
                        input id="resync-reason" name="reason" type="text" required minlength="3" maxlength="200";
                        button type="submit" id="do-resync" { "Resynchronise" }
                    }
                    // Only for a fob whose unlock key the bank holds: for any other token
                    // the answer would only ever be "no unlock key".
                    @if token.has_unlock_key {
                        form.card method="post" action={ "/console/tokens/" (segment) "/unlock-code" } {
                            input type="hidden" name="csrf" value=(viewer.csrf);
                            label for="unlock-challenge" { "Unlock code for the fob's challenge: the 8 digits the locked fob shows" }
                            input id="unlock-challenge" name="challenge" type="text" inputmode="numeric" autocomplete="off" required maxlength="9";
                            (reason_field("unlock-reason"))
                            button type="submit" id="do-unlock-code" { "Show the unlock code" }
                        }
                    }
                }
            }
            @if helpdesk { (lifecycle::helpdesk_forms(viewer, &segment)) }
            @if helpdesk { @if let Some(customer) = &token.owner {
                section aria-labelledby="lookup" {
                    h2 id="lookup" { "Customer " (customer) ": whose code is it?" }
                    (lifecycle::lookup_form(viewer, customer))
                }
            } }
            @if viewer.roles.contains(&Role::Admin) { (lifecycle::admin_forms(viewer, token, &segment)) }
            @if audit_reader { section aria-labelledby="trail" {
                h2 id="trail" { "Audit trail, newest first" }
                @if shown.is_empty() { p { "No events." } } @else {
                    table {
                        thead { tr { th scope="col" { "When" } th scope="col" { "Operation" } th scope="col" { "Outcome" } th scope="col" { "Who" } th scope="col" { "Channel" } th scope="col" { "Reason given" } } }
                        tbody {
                            @for event in &shown {
                                tr {
                                    td { (time_text(event.at.as_secs())) }
                                    td { (event.operation.as_str()) }
                                    td { (outcome_text(event)) }
                                    td { (event.actor.as_deref().unwrap_or("")) }
                                    td { (event.context.channel.as_deref().unwrap_or("")) }
                                    td { (event.reason.as_ref().map(|reason| reason.as_str()).unwrap_or("")) }
                                }
                            }
                        }
                    }
                }
                p {
                    @if audit_page > 0 { a href={ "/console/tokens/" (segment) "?audit_page=" (audit_page - 1) } { "Newer events" } " " }
                    @if older { a href={ "/console/tokens/" (segment) "?audit_page=" (audit_page + 1) } { "Older events" } }
                }
            } }
        },
    )
}

fn has_any(viewer: &Viewer<'_>, roles: &[Role]) -> bool {
    roles.iter().any(|role| viewer.roles.contains(role))
}

/// The unlock code that answers a locked fob's challenge, shown this once (the page
/// answers the form's POST, so the code is in no URL).
#[must_use]
pub fn unlock_code(viewer: &Viewer<'_>, id: &str, code: &str) -> Markup {
    layout(
        Some(viewer),
        &format!("Unlock code for {id}"),
        html! {
            section.notice aria-labelledby="unlock-code-title" {
                h2 id="unlock-code-title" { "The code to read out" }
                p { "Read it to the customer, who types it into the fob and then sets a new PIN. It is shown only this once." }
                p { strong id="unlock-code" { (code) } }
            }
            p { a href={ "/console/tokens/" (path_segment(id)) } { "Back to the token" } }
        },
    )
}

/// A soft token just enrolled: its QR code and key URI, shown this once.
#[must_use]
pub fn enrolled(id: &str, key_uri: &str, svg: &str) -> Markup {
    html! {
        section.notice aria-labelledby="enrolled" {
            h2 id="enrolled" { "Enrolled " (id) }
            p { "Give this to the customer now: it is never shown again." }
            figure.qr {
                img id="qr" src=(data_image(svg)) alt={ "QR code of token " (id) } width="240" height="240";
                figcaption { "Key URI: " code id="key-uri" { (key_uri) } }
            }
        }
    }
}

pub(super) fn reason_field(id: &str) -> Markup {
    html! {
        label for=(id) { "Reason (goes into the audit trail)" }
        input id=(id) name="reason" type="text" required minlength="3" maxlength="200";
    }
}

/// The administration page: enrolment, factory records, imports, and the pending
/// actions of dual control.
#[must_use]
pub fn admin(viewer: &Viewer<'_>, actions: &[PendingAction], top: Option<Markup>) -> Markup {
    layout(
        Some(viewer),
        "Administration",
        html! {
            @if let Some(top) = top { (top) }
            div.columns {
                form.card method="post" action="/console/admin/enrol" {
                    h2 { "Enrol a soft token" }
                    input type="hidden" name="csrf" value=(viewer.csrf);
                    label for="enrol-id" { "Token id" }
                    input id="enrol-id" name="id" type="text" required maxlength="128";
                    label for="enrol-kind" { "Kind" }
                    select id="enrol-kind" name="kind" { option value="totp" { "TOTP" } option value="hotp" { "HOTP" } }
                    (reason_field("enrol-reason"))
                    button type="submit" id="do-enrol" { "Enrol" }
                }
                form.card method="post" action="/console/admin/factory" autocomplete="off" {
                    h2 { "Enrol from a factory record" }
                    input type="hidden" name="csrf" value=(viewer.csrf);
                    label for="factory-serial" { "Serial" }
                    input id="factory-serial" name="serial" type="text" required maxlength="128";
                    label for="factory-secret" { "Secret (hex)" }
                    input id="factory-secret" name="secret_hex" type="password" required;
                    label for="factory-kind" { "Kind" }
                    select id="factory-kind" name="kind" { option value="totp" { "TOTP" } option value="hotp" { "HOTP" } }
                    label for="factory-counter" { "First counter (HOTP)" }
                    input id="factory-counter" name="counter" type="text" inputmode="numeric";
                    (reason_field("factory-reason"))
                    button type="submit" { "Enrol" }
                }
                // The CSRF token first: the server reads it before the file.
                form.card method="post" action="/console/admin/import" enctype="multipart/form-data" {
                    h2 { "Import a PSKC file" }
                    p.hint { "Waits for a second administrator, who types the file's password." }
                    input type="hidden" name="csrf" value=(viewer.csrf);
                    label for="import-file" { "PSKC file (RFC 6030 XML)" }
                    input id="import-file" name="document" type="file" accept=".xml,.pskc,application/xml,text/xml,application/pskc+xml" required;
                    (reason_field("import-reason"))
                    button type="submit" id="do-import" { "Ask for import" }
                }
                form.card method="post" action="/console/admin/request" {
                    h2 { "Delete a token, or reseal all" }
                    p.hint { "Waits for a second administrator." }
                    input type="hidden" name="csrf" value=(viewer.csrf);
                    label for="request-kind" { "Action" }
                    select id="request-kind" name="kind" { option value="delete" { "Delete token" } option value="reseal" { "Reseal every secret" } }
                    label for="request-target" { "Token id (for a delete)" }
                    input id="request-target" name="target" type="text" maxlength="128";
                    (reason_field("request-reason"))
                    button type="submit" id="do-request" { "Ask" }
                }
            }
            section aria-labelledby="pending" {
                h2 id="pending" { "Dual control: actions" }
                @if actions.is_empty() { p { "None." } } @else {
                    table {
                        thead { tr { th scope="col" { "No." } th scope="col" { "Action" } th scope="col" { "Asked by" } th scope="col" { "Reason" } th scope="col" { "State" } th scope="col" { "Decide" } } }
                        tbody {
                            @for action in actions {
                                tr {
                                    td { (action.id) }
                                    td { (action.kind.as_str()) " " (action.target) }
                                    td { (action.requested_by) " at " (time_text(action.requested_at)) }
                                    td { (action.reason) }
                                    td {
                                        (action.state)
                                        @if let Some(by) = &action.decided_by { " by " (by) }
                                        @if let Some(result) = &action.result { div.result { @for line in result.lines() { p { (line) } } } }
                                    }
                                    td {
                                        @if action.state == "pending" && action.requested_by != viewer.name {
                                            form.decide method="post" action="/console/admin/decide" {
                                                input type="hidden" name="csrf" value=(viewer.csrf);
                                                input type="hidden" name="action" value=(action.id);
                                                @if action.kind == ActionKind::Import {
                                                    label for={ "password-" (action.id) } { "File password (if any)" }
                                                    input id={ "password-" (action.id) } name="password" type="password";
                                                }
                                                button type="submit" name="decision" value="approve" id={ "approve-" (action.id) } { "Approve" }
                                                button type="submit" name="decision" value="refuse" id={ "refuse-" (action.id) } { "Refuse" }
                                            }
                                        } @else if action.state == "pending" {
                                            "waits for another administrator"
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_civil_utc_and_values_are_escaped() {
        assert_eq!(time_text(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(time_text(1_111_111_109), "2005-03-18 01:58:29 UTC");
        assert_eq!(time_text(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(path_segment("a b/ü"), "a%20b%2F%C3%BC");
        let page = message(None, "x", "<script>alert(1)</script>").into_string();
        assert!(!page.contains("<script>"));
        assert!(page.contains("&lt;script&gt;"));
    }
}
