//! Migration from privacyIDEA and LinOTP (feature `migrate`): their token exports and
//! OATH CSV seed files read with the state the old server kept, a dry run that
//! reports token by token, an all-or-nothing import, and OATH CSV for the way back.
//! The code is in `provision/migrate/`; this module is its public face.

pub use crate::provision::migrate::{
    KeyEncoding, MAX_MIGRATION_FILE_LEN, MigrateError, MigrationApplyError, MigrationChange,
    MigrationEntry, MigrationFile, MigrationFormat, MigrationOutcome, MigrationProgress,
    MigrationReport, MigrationToken, MigrationVerdict, read_migration, write_oath_csv,
};
pub use crate::provision::pskc::{ExportError, ExportSkip, ExportSkipped, TokenExport};
pub use crate::validator::CarriedState;
