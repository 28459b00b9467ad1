//! stub
use super::Outcome;
use clap::Args;
#[derive(Debug, Args)]
pub(crate) struct FobArgs {}
pub(crate) fn run(_arguments: &FobArgs) -> Outcome {
    Ok(())
}
