//! PostgreSQL driver errors as one line of text, for the pool and the schema
//! migrations alike (a leaf, so that neither imports the other).

/// A driver error as one line: its kind, and the server's severity, SQLSTATE and
/// message if the server sent one. The server's DETAIL is left out: it can quote a
/// row's values.
pub(crate) fn describe(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(database) => format!(
            "{} {}: {}",
            database.severity(),
            database.code().code(),
            database.message()
        ),
        None => {
            let mut text = error.to_string();
            let mut source = std::error::Error::source(error);
            while let Some(cause) = source {
                text.push_str(": ");
                text.push_str(&cause.to_string());
                source = cause.source();
            }
            text
        }
    }
}
