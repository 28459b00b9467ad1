//! Dual control: deleting a token, resealing every secret and importing a PSKC file
//! wait as pending actions, kept in the staff database, until an administrator other
//! than the one who asked approves (or refuses) them.

use rusqlite::OptionalExtension as _;

use super::staff::{StaffError, StaffStore};

/// What a pending action does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    /// Delete the token `target`.
    Delete,
    /// Seal every token's secret again under the current key.
    Reseal,
    /// Import the PSKC document in the payload (its credential is typed by the
    /// approver, never stored).
    Import,
}

impl ActionKind {
    /// Its name in the database and on the page.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Delete => "delete",
            ActionKind::Reseal => "reseal",
            ActionKind::Import => "import",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        [ActionKind::Delete, ActionKind::Reseal, ActionKind::Import]
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }
}

/// One action waiting for (or past) its second administrator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingAction {
    /// Its number.
    pub id: i64,
    /// What it does.
    pub kind: ActionKind,
    /// The token id (delete), the file name (import) or `all` (reseal).
    pub target: String,
    /// Why, as the requester wrote it.
    pub reason: String,
    /// Who asked.
    pub requested_by: String,
    /// When, in seconds since the epoch.
    pub requested_at: i64,
    /// `pending`, `approved` or `refused`.
    pub state: String,
    /// Who decided, once decided.
    pub decided_by: Option<String>,
    /// What the action did (a report), once approved.
    pub result: Option<String>,
}

fn row_action(row: &rusqlite::Row<'_>) -> rusqlite::Result<PendingAction> {
    let kind: String = row.get(1)?;
    Ok(PendingAction {
        id: row.get(0)?,
        kind: ActionKind::from_name(&kind).unwrap_or(ActionKind::Delete),
        target: row.get(2)?,
        reason: row.get(3)?,
        requested_by: row.get(4)?,
        requested_at: row.get(5)?,
        state: row.get(6)?,
        decided_by: row.get(7)?,
        result: row.get(8)?,
    })
}

/// A pending action taken for a decision, with its payload (an import's file).
pub type TakenAction = (PendingAction, Option<Vec<u8>>);

const COLUMNS: &str =
    "id, kind, target, reason, requested_by, requested_at, state, decided_by, result";

impl StaffStore {
    /// Records a pending action and returns its number.
    ///
    /// # Errors
    ///
    /// [`StaffError::Database`].
    pub fn request_action(
        &self,
        kind: ActionKind,
        target: &str,
        reason: &str,
        requested_by: &str,
        payload: Option<&[u8]>,
    ) -> Result<i64, StaffError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| {
                i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
            });
        self.with(|connection| {
            connection.execute(
                "INSERT INTO pending_action (kind, target, reason, requested_by, requested_at, payload)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                rusqlite::params![kind.as_str(), target, reason, requested_by, now, payload],
            )?;
            Ok(connection.last_insert_rowid())
        })
    }

    /// The newest actions first (pending and decided), at most `limit`.
    ///
    /// # Errors
    ///
    /// [`StaffError::Database`].
    pub fn actions(&self, limit: usize) -> Result<Vec<PendingAction>, StaffError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with(|connection| {
            let mut statement = connection.prepare(&format!(
                "SELECT {COLUMNS} FROM pending_action ORDER BY id DESC LIMIT ?1"
            ))?;
            let rows = statement.query_map([limit], row_action)?;
            rows.collect()
        })
    }

    /// Takes pending action `id` for a decision by `decider`: it is marked decided at
    /// once (so that two approvals cannot both run it) and returned with its payload.
    /// `None` if there is no such pending action, or `decider` asked for it.
    ///
    /// # Errors
    ///
    /// [`StaffError::Database`].
    pub fn take_action(
        &self,
        id: i64,
        decider: &str,
        approve: bool,
    ) -> Result<Option<TakenAction>, StaffError> {
        self.with(|connection| {
            let found = connection
                .query_row(
                    &format!(
                        "SELECT {COLUMNS}, payload FROM pending_action WHERE id = ?1 AND state = 'pending' AND requested_by <> ?2"
                    ),
                    rusqlite::params![id, decider],
                    |row| Ok((row_action(row)?, row.get::<_, Option<Vec<u8>>>(9)?)),
                )
                .optional()?;
            let Some(found) = found else {
                return Ok(None);
            };
            let state = if approve { "approved" } else { "refused" };
            // The file is not kept once decided: its keys are the vendor's secrets.
            let changed = connection.execute(
                "UPDATE pending_action SET state = ?2, decided_by = ?3, payload = NULL
                 WHERE id = ?1 AND state = 'pending'",
                rusqlite::params![id, state, decider],
            )?;
            Ok((changed == 1).then_some(found))
        })
    }

    /// Records what an approved action did.
    ///
    /// # Errors
    ///
    /// [`StaffError::Database`].
    pub fn set_action_result(&self, id: i64, result: &str) -> Result<(), StaffError> {
        self.with(|connection| {
            connection.execute(
                "UPDATE pending_action SET result = ?2 WHERE id = ?1",
                rusqlite::params![id, result],
            )
        })
        .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_action_needs_a_second_administrator_and_runs_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = StaffStore::open(&dir.path().join("staff.db")).unwrap();
        let id = store
            .request_action(ActionKind::Delete, "fob-1", "lost", "alice", None)
            .unwrap();
        // The requester cannot approve their own action.
        assert!(store.take_action(id, "alice", true).unwrap().is_none());
        let (action, payload) = store.take_action(id, "bob", true).unwrap().unwrap();
        assert_eq!(action.target, "fob-1");
        assert_eq!(action.requested_by, "alice");
        assert!(payload.is_none());
        // Decided once: a second approval finds nothing to run.
        assert!(store.take_action(id, "carol", true).unwrap().is_none());
        let listed = store.actions(10).unwrap();
        assert_eq!(listed[0].state, "approved");
        assert_eq!(listed[0].decided_by.as_deref(), Some("bob"));
        // A file's payload is dropped once decided.
        let import = store
            .request_action(
                ActionKind::Import,
                "keys.xml",
                "batch 7",
                "alice",
                Some(b"<x/>"),
            )
            .unwrap();
        let (_, payload) = store.take_action(import, "bob", false).unwrap().unwrap();
        assert_eq!(payload.as_deref(), Some(&b"<x/>"[..]));
        let left: Option<Vec<u8>> = store
            .with(|connection| {
                connection.query_row(
                    "SELECT payload FROM pending_action WHERE id = ?1",
                    [import],
                    |row| row.get(0),
                )
            })
            .unwrap();
        assert!(left.is_none());
    }
}
