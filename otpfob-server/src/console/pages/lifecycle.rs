//! The token page's life-cycle forms: a lost token's temporary replacement for the
//! helpdesk; the customer, revocation and replacement for administrators; and the
//! emergency codes, shown once.

use maud::{Markup, html};

use super::{Viewer, reason_field, time_text};
use crate::api::admin::TokenBody;

/// The helpdesk's form for a lost token: reports it lost (if it is not) and issues
/// its customer a temporary replacement that ends on its own.
#[must_use]
pub(super) fn helpdesk_forms(viewer: &Viewer<'_>, segment: &str) -> Markup {
    html! {
        section aria-labelledby="lost" {
            h2 id="lost" { "Lost token: a temporary replacement" }
            form.card method="post" action={ "/console/tokens/" (segment) "/temporary" } autocomplete="off" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                p { "Reports this token lost (if it is not yet) and gives its customer a replacement that ends on its own, after its lifetime or its uses, or when the token is found or replaced." }
                label for="temporary-kind" { "Replacement" }
                select id="temporary-kind" name="kind" {
                    option value="codes" { "Single-use emergency codes (shown once)" }
                    option value="soft" { "A temporary soft token (QR code shown once)" }
                }
                label for="temporary-id" { "Id of the replacement" }
                input id="temporary-id" name="replacement" type="text" required maxlength="128";
                label for="temporary-count" { "Emergency codes (1 to 10)" }
                input id="temporary-count" name="count" type="number" min="1" max="10" value="5";
                label for="temporary-days" { "Valid for (days, 1 to 31)" }
                input id="temporary-days" name="days" type="number" min="1" max="31" value="7";
                label for="temporary-uses" { "Most uses of a soft token (empty: no limit)" }
                input id="temporary-uses" name="uses" type="number" min="1" max="10000";
                (reason_field("temporary-reason"))
                button type="submit" id="do-temporary" { "Report lost and issue" }
            }
        }
    }
}

/// The administrators' forms: the token's customer, its replacement by a new token,
/// and its revocation.
#[must_use]
pub(super) fn admin_forms(viewer: &Viewer<'_>, token: &TokenBody, segment: &str) -> Markup {
    html! {
        section aria-labelledby="administration" {
            h2 id="administration" { "Administration" }
            form.card method="post" action={ "/console/tokens/" (segment) "/owner" } {
                input type="hidden" name="csrf" value=(viewer.csrf);
                label for="owner-customer" { "Customer reference (empty: none)" }
                input id="owner-customer" name="customer" type="text" maxlength="128" value=(token.owner.as_deref().unwrap_or(""));
                (reason_field("owner-reason"))
                button type="submit" id="do-owner" { "Set the customer" }
            }
            form.card method="post" action={ "/console/tokens/" (segment) "/replace" } autocomplete="off" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                p { "Revokes this token and enrols the new one for the same customer." }
                label for="replace-kind" { "New token" }
                select id="replace-kind" name="kind" {
                    option value="totp" { "A soft token, time-based (QR code shown once)" }
                    option value="hotp" { "A soft token, event-based (QR code shown once)" }
                    option value="factory-hotp" { "A fob from its factory record, event-based" }
                    option value="factory-totp" { "A fob from its factory record, time-based" }
                }
                label for="replace-id" { "Id (a fob's serial)" }
                input id="replace-id" name="new_id" type="text" required maxlength="128";
                label for="replace-secret" { "The fob's secret (hex; factory record only)" }
                input id="replace-secret" name="secret_hex" type="password" maxlength="256";
                label for="replace-counter" { "The fob's next counter (factory record, event-based; empty: 0)" }
                input id="replace-counter" name="counter" type="text" inputmode="numeric" maxlength="20";
                (reason_field("replace-reason"))
                button type="submit" id="do-replace" { "Replace" }
            }
            form.card method="post" action={ "/console/tokens/" (segment) "/revoke" } autocomplete="off" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                p { "Revocation is final: the token is never usable again; its record and trail stay." }
                label for="revoke-confirm" { "Type the token's id to confirm" }
                input id="revoke-confirm" name="confirm" type="text" required maxlength="128";
                (reason_field("revoke-reason"))
                button type="submit" id="do-revoke" { "Revoke" }
            }
        }
    }
}

/// A list of emergency codes just issued, to read to the customer this once: the
/// server keeps only their secret, sealed.
#[must_use]
pub fn emergency_codes<'a>(
    list: &str,
    codes: impl Iterator<Item = &'a str>,
    expires_at: i64,
) -> Markup {
    html! {
        section.notice aria-labelledby="codes-shown" {
            h2 id="codes-shown" { "Emergency codes " (list) }
            p { "Give these to the customer now: they are never shown again. Each is accepted once, in this order, until " (time_text(expires_at)) "." }
            ol id="emergency-codes" {
                @for code in codes { li { code { (code) } } }
            }
        }
    }
}
