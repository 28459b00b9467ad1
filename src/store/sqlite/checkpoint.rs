//! Checkpoints off the group-commit writer's thread.
//!
//! In WAL mode SQLite copies the log back into the database file (a checkpoint) when
//! the log passes 1,000 pages, by default inside the `COMMIT` that crossed the line,
//! on the committing connection. Under group commit that connection is the single
//! writer every caller waits for: issue 13's profile of wrong-code verifications on
//! 16 threads had the writer spend 18 % of its time checkpointing, with every caller of
//! the batch waiting behind it (and the next batch behind them).
//!
//! So the writer's connection gets a WAL hook instead of the automatic checkpoint.
//! Past [`CHECKPOINT_PAGES`] it wakes a thread with a connection of its own, which
//! runs a `PASSIVE` checkpoint: it copies the log while the writer goes on committing
//! (a passive checkpoint takes no lock that writers need, and a checkpoint never
//! changes what a commit made durable: a committed transaction is in the log, synced,
//! before the checkpoint reads it). A passive checkpoint that runs beside commits
//! cannot copy the frames appended during it, and SQLite restarts the log from its
//! start only once every frame is copied, so under a load that never pauses the log
//! would grow without bound: past [`WRITER_CHECKPOINT_PAGES`] the writer checkpoints
//! itself (a `RESTART` checkpoint, after waiting for one the thread is running), which then
//! copies only what the thread had not yet copied, and the next write transaction
//! restarts the log.

use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use rusqlite::Connection;
use rusqlite::wal::CheckpointMode;

use crate::validator::error::StoreError;

/// The log's size, in pages, at which the writer wakes the checkpoint thread:
/// SQLite's own default for the automatic checkpoint.
pub(super) const CHECKPOINT_PAGES: i32 = 1_000;

/// The log's size, in pages, at which the writer checkpoints itself (about 16 MB with
/// SQLite's 4,096-byte pages), bounding the log when the thread cannot finish a
/// checkpoint under a load that never pauses.
pub(super) const WRITER_CHECKPOINT_PAGES: i32 = 4 * CHECKPOINT_PAGES;

enum Message {
    /// The log has passed [`CHECKPOINT_PAGES`].
    Checkpoint,
    /// End the thread (after any checkpoint it is running).
    Stop,
}

/// The checkpoint thread and the way to wake it.
pub(super) struct Checkpointer {
    wake: SyncSender<Message>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Checkpointer {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Checkpointer")
            .finish_non_exhaustive()
    }
}

impl Checkpointer {
    /// Starts the thread on `connection` (its own, to the same file) and hands
    /// `writer`'s checkpoints to it.
    pub(super) fn start(
        checkpoints: Connection,
        writer: &mut Connection,
    ) -> Result<Self, StoreError> {
        // Room for a stop behind a pending wake, so that stopping never waits for a
        // checkpoint to start.
        let (wake, receiver) = mpsc::sync_channel(2);
        // Held by whichever of the thread and the writer is checkpointing.
        let turn = Arc::new(Mutex::new(()));
        let writer_turn = Arc::clone(&turn);
        let thread = std::thread::Builder::new()
            .name("otpfob-sqlite-checkpoint".to_owned())
            .spawn(move || run(&checkpoints, &receiver, &turn))
            .map_err(|error| StoreError::Backend {
                reason: format!("could not start the checkpoint thread: {error}"),
            })?;
        let hook_wake = wake.clone();
        // The thousands of pages the log had at the last wake: one wake per thousand
        // pages written, as often as SQLite's own checkpoint runs (a wake per commit
        // had the thread copy each page again at every one of its changes).
        let mut woken_at = 0;
        writer
            .wal_hook(Some(move |wal: &mut rusqlite::hooks::Wal, pages| {
                let thousands = pages / CHECKPOINT_PAGES;
                if thousands < woken_at {
                    // The log was restarted from its start.
                    woken_at = 0;
                }
                if pages >= WRITER_CHECKPOINT_PAGES {
                    // SQLite refuses a checkpoint at once (busy, without waiting)
                    // while another connection runs one: the writer's was refused
                    // while the thread ran its own, and the log grew past the bound by
                    // as many commits as the thread's checkpoint lasted (21.6 MB
                    // against 16.7 MB in the test below, under load). So the writer
                    // waits for the thread's checkpoint on `turn`, then runs a
                    // RESTART checkpoint, which also waits for readers of older
                    // frames (the busy timeout), so that the next write restarts the
                    // log. Only a log the thread cannot keep up with makes the writer
                    // wait. The commit has happened whatever this returns, and an
                    // error here would be reported as the commit's: a checkpoint that
                    // fails is retried at the next commit.
                    let _turn = writer_turn.lock().unwrap_or_else(PoisonError::into_inner);
                    let _ = wal.checkpoint_v2(CheckpointMode::RESTART);
                } else if thousands > woken_at {
                    woken_at = thousands;
                    // A wake already pending is enough; a thread that is gone leaves
                    // the writer's own checkpoint above to bound the log.
                    let _ = hook_wake.try_send(Message::Checkpoint);
                }
                Ok(())
            }))
            .map_err(|error| StoreError::Backend {
                reason: format!("could not hook the writer's log: {error}"),
            })?;
        Ok(Self {
            wake,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Ends the thread and closes its connection.
    pub(super) fn stop(&self) {
        // A thread already gone has dropped the receiver: nothing to tell it.
        let _ = self.wake.send(Message::Stop);
        super::group_commit::join_once(&self.thread);
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        // The file is closed when the store is, so that a process may reopen it.
        self.stop();
    }
}

fn run(connection: &Connection, receiver: &Receiver<Message>, turn: &Mutex<()>) {
    while let Ok(Message::Checkpoint) = receiver.recv() {
        let _turn = turn.lock().unwrap_or_else(PoisonError::into_inner);
        // A busy or failed checkpoint is retried at the next wake; the writer's own
        // checkpoint bounds the log meanwhile.
        let _ = connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connection configured as the store configures its own.
    fn wal_connection(path: &std::path::Path) -> Connection {
        super::super::configure(Connection::open(path).unwrap()).unwrap()
    }

    /// Ten times the writer's own checkpoint threshold written in commits of about
    /// 25 pages: the log stays within the threshold and one commit, every row is there,
    /// and the file closes with the checkpointer (so it can be opened again at once).
    #[test]
    fn the_log_stays_bounded_and_nothing_is_lost() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("log.db");
        let mut writer = wal_connection(&path);
        writer
            .execute_batch("CREATE TABLE pages (id INTEGER PRIMARY KEY, body BLOB NOT NULL)")
            .unwrap();
        let checkpointer = Checkpointer::start(wal_connection(&path), &mut writer).unwrap();
        let page_size: i64 = writer
            .query_row("PRAGMA page_size", [], |row| row.get(0))
            .unwrap();
        let body = vec![0x5a_u8; 100 * 1024];
        let commits = 10 * WRITER_CHECKPOINT_PAGES as usize / 25;
        let wal = directory.path().join("log.db-wal");
        let bound = (WRITER_CHECKPOINT_PAGES as u64 + 64) * (page_size as u64 + 24) + 32;
        let mut largest = 0;
        for id in 0..commits {
            writer
                .execute(
                    "INSERT INTO pages (id, body) VALUES (?1, ?2)",
                    (id as i64, &body),
                )
                .unwrap();
            largest = largest.max(std::fs::metadata(&wal).map_or(0, |meta| meta.len()));
        }
        assert!(
            largest <= bound,
            "the log reached {largest} bytes (bound {bound})"
        );
        checkpointer.stop();
        drop(checkpointer);
        drop(writer);
        let reopened = Connection::open(&path).unwrap();
        let rows: i64 = reopened
            .query_row("SELECT count(*) FROM pages", [], |row| row.get(0))
            .unwrap();
        assert_eq!(rows, commits as i64);
    }
}
