//! `otpfob migrate FORMAT FILE --dry-run|--apply`: tokens from privacyIDEA, LinOTP and
//! OATH CSV seed files, reported token by token, then imported whole or not at all.

use std::path::PathBuf;

use clap::{ArgGroup, Args, ValueEnum};

use otpfob::migrate::{
    KeyEncoding, MAX_MIGRATION_FILE_LEN, MigrationApplyError, MigrationChange, MigrationFormat,
    MigrationReport, MigrationVerdict, read_migration,
};

use super::input;
use super::keys::{DatabaseOptions, open_validator};
use super::output::Output;
use super::{Context, Exit, Outcome, note, one_line};

/// The formats on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Format {
    /// `serial, key, type, otplen, counter|timestep`, as privacyIDEA imports it.
    OathCsv,
    /// `serial, key, type, otplen, timestep, hashlib`, as LinOTP imports it.
    LinotpCsv,
    /// privacyIDEA's `pi-tokenjanitor find export --format yaml`, with every state.
    PrivacyideaYaml,
    /// privacyIDEA's `pi-tokenjanitor find export --format csv`: keys and owners only.
    PrivacyideaCsv,
}

impl From<Format> for MigrationFormat {
    fn from(format: Format) -> Self {
        match format {
            Format::OathCsv => MigrationFormat::OathCsv,
            Format::LinotpCsv => MigrationFormat::LinotpCsv,
            Format::PrivacyideaYaml => MigrationFormat::PrivacyIdeaYaml,
            Format::PrivacyideaCsv => MigrationFormat::PrivacyIdeaCsv,
        }
    }
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("mode").required(true).args(["dry_run", "apply"])))]
pub(crate) struct MigrateArgs {
    /// The file's format.
    #[arg(value_enum, value_name = "FORMAT")]
    format: Format,
    /// The file.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Report, token by token, what would be enrolled, refused (why) or changed;
    /// write nothing.
    #[arg(long = "dry-run")]
    dry_run: bool,
    /// Import every token, or none if any is refused or an enrolment fails.
    #[arg(long = "apply")]
    apply: bool,
    /// The CSV file's keys are base32 (`pi-tokenjanitor ... export --b32`), not hex.
    #[arg(long = "base32")]
    base32: bool,
    /// The SQLite token database (created if needed).
    #[arg(long = "database", value_name = "PATH")]
    database: PathBuf,
    #[command(flatten)]
    keys: DatabaseOptions,
}

pub(crate) fn run(arguments: &MigrateArgs) -> Outcome {
    let bytes = input::read_file(&arguments.file, "migration file", MAX_MIGRATION_FILE_LEN)?;
    let encoding = if arguments.base32 {
        KeyEncoding::Base32
    } else {
        KeyEncoding::Hex
    };
    let file = read_migration(arguments.format.into(), &bytes, encoding)
        .context(&format!("cannot read {}", arguments.file.display()))?;
    let validator = open_validator(&arguments.database, false, &arguments.keys)?;
    let mut out = Output::new();
    if arguments.dry_run {
        let report = validator.plan_migration(&file);
        print_report(&mut out, &report)?;
        return summary(&mut out, &report, "would be enrolled");
    }
    let total = file.entries.len();
    // Progress on standard error, about every 1 % (and the last), so that a large file
    // shows it moves without a line per token.
    let every = (total / 100).max(1);
    let result = validator.apply_migration(&file, |progress| {
        if progress.done % every == 0 || progress.done == progress.total {
            note(&format!("enrolled {} of {}", progress.done, progress.total));
        }
    });
    match result {
        Ok(report) => {
            print_report(&mut out, &report)?;
            out.line(&format!("imported {} tokens", report.would_enrol()))
        }
        Err(MigrationApplyError::Refused { report, .. }) => {
            print_report(&mut out, &report)?;
            summary(&mut out, &report, "could be enrolled")
        }
        Err(error) => Err(Exit::error(one_line(&error.to_string()))),
    }
}

fn print_report(out: &mut Output, report: &MigrationReport) -> Outcome {
    for outcome in &report.outcomes {
        let mut line = format!(
            "{} {}",
            outcome.position,
            outcome.serial.as_deref().unwrap_or("(no serial)")
        );
        if let Some(owner) = &outcome.owner {
            line.push_str(&format!(" (owner {owner})"));
        }
        match &outcome.verdict {
            MigrationVerdict::WouldEnrol { changes, .. } => {
                line.push_str(": enrol");
                for change in changes {
                    line.push_str("; ");
                    line.push_str(&describe(change));
                }
            }
            MigrationVerdict::Refused(error) => line.push_str(&format!(": refused: {error}")),
            _ => line.push_str(": unknown verdict"),
        }
        // Everything printed from the file is escaped: a file must not drive the terminal.
        out.line(&one_line(&line))?;
    }
    Ok(())
}

fn describe(change: &MigrationChange) -> String {
    match change {
        MigrationChange::TimeShiftRounded { seconds, steps } => {
            format!("time shift {seconds} s kept as {steps:+} steps")
        }
        MigrationChange::FailureLimit { old, policy } => {
            format!("failure limit {old} becomes the policy's {policy}")
        }
        MigrationChange::NotCarried { part } => format!("{part} not carried"),
        MigrationChange::NotInFile { part } => format!("{part} not in the file"),
        _ => "changed".to_owned(),
    }
}

fn summary(out: &mut Output, report: &MigrationReport, verb: &str) -> Outcome {
    let refused = report.refused();
    let line = format!("{} {verb}, {refused} refused", report.would_enrol());
    if refused == 0 {
        out.line(&line)
    } else {
        out.flush()?;
        Err(Exit::error(format!("{line}: nothing imported")))
    }
}
