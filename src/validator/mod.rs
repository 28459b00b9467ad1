//! The bank side: the policy, the per-token record, the pure decision, sealed seeds,
//! server-side PINs, the audit trail, and the `Validator` that ties them to a store.

pub(crate) mod audit;
pub(crate) mod challenge;
pub(crate) mod decision;
pub(crate) mod error;
pub(crate) mod ocra_decision;
pub(crate) mod pin;
pub(crate) mod policy;
pub(crate) mod record;
pub(crate) mod seal;
pub(crate) mod service;
pub(crate) mod store;
pub(crate) mod token_id;
