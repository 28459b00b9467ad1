//! stub
use super::Outcome;
use clap::Subcommand;
#[derive(Debug, Subcommand)]
pub(crate) enum PskcCommand {
    Import,
}
pub(crate) fn run(_command: &PskcCommand) -> Outcome {
    Ok(())
}
