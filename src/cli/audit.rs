//! `otpfob audit-chain`: checks the audit hash chain of every token in the embedded
//! token database (or of one), and reports the first broken link of each.

use std::path::PathBuf;

use clap::Args;

use otpfob::TokenId;
use otpfob::validator::chain::{ChainBreakKind, ChainReport};

use super::keys::{DatabaseOptions, open_validator};
use super::output::Output;
use super::{Context, EXIT_REJECTED, Exit, Outcome};

#[derive(Debug, Args)]
pub(crate) struct AuditChainArgs {
    /// The SQLite token database (it must exist).
    #[arg(long = "database", value_name = "PATH")]
    database: PathBuf,
    /// Check only this token (also one that was deleted, whose trail remains).
    #[arg(long = "token", value_name = "ID")]
    token: Option<String>,
    #[command(flatten)]
    keys: DatabaseOptions,
}

/// One line per token: `intact ID: N events (C chained, U unchained)` or
/// `broken ID: event P (operation at time): why`. Exit 0 when every chain is
/// intact, 1 when one is broken, 2 on an error.
pub(crate) fn run(arguments: &AuditChainArgs) -> Outcome {
    let validator = open_validator(&arguments.database, true, &arguments.keys)?;
    let reports = match &arguments.token {
        Some(token) => {
            let id = TokenId::new(token.as_str()).context("invalid --token")?;
            vec![
                validator
                    .verify_audit_chain(&id)
                    .context("cannot read the audit trail")?,
            ]
        }
        None => validator
            .verify_audit_chains()
            .context("cannot read the audit trail")?,
    };
    let mut out = Output::new();
    for report in &reports {
        out.line(&describe(report))?;
    }
    if reports.iter().all(ChainReport::is_intact) {
        Ok(())
    } else {
        Err(Exit::quiet(EXIT_REJECTED))
    }
}

fn describe(report: &ChainReport) -> String {
    let Some(broken) = &report.broken else {
        return format!(
            "intact {}: {} events ({} chained, {} unchained)",
            report.token, report.events, report.chained, report.unchained
        );
    };
    let why = match broken.kind {
        ChainBreakKind::LinkMismatch => {
            "its link does not follow (edited, or an event before it removed, or reordered)"
        }
        ChainBreakKind::HeadMismatch => {
            "the last link is not the record's head (events at the end removed or added)"
        }
        ChainBreakKind::RecordUnauthentic => {
            "the record fails its MAC, so its head cannot be trusted"
        }
        _ => "broken",
    };
    let what = match (broken.operation, broken.at) {
        (Some(operation), Some(at)) => format!(" ({} at {}s)", operation.as_str(), at.as_secs()),
        _ => String::new(),
    };
    format!(
        "broken {}: event {}{what}: {why}",
        report.token, broken.position
    )
}
