//! Group commit: one writer thread owns the SQLite store's write connection and runs
//! every write waiting at that moment in one transaction, committed with one `fsync`.
//!
//! Without it, each compare-and-swap is its own transaction and its own `fsync`, so a
//! store answers about as many verifications a second as the disk completes flushes
//! (some thousands), whatever the CPU. With it, callers put their write on a bounded
//! queue and wait; the writer takes the first write, then every other one already
//! queued (up to the batch limit), runs them in one `BEGIN IMMEDIATE` transaction,
//! commits once (`synchronous = FULL`, so the commit is on disk when `COMMIT` returns)
//! and only then has each caller answered (by a second thread, for batches of more
//! than two, so that the writer goes on to the next batch). While it waits
//! for the disk, new writes queue up and form the next batch, so batches grow with the
//! load and no write waits for a timer.
//!
//! # Security
//!
//! The [`Store`](crate::store::Store) contract holds for every write:
//!
//! - each compare-and-swap still checks its own expected version and writes its own
//!   audit row in the batch's transaction; a conflict for one changes nothing for the
//!   others;
//! - a caller is answered only after the commit that holds its write returned: never
//!   `Swapped` for a write that is not durable;
//! - a write that fails fails only its own caller: the batch's transaction is rolled
//!   back and the batch runs again with a savepoint per write, the failed write rolled
//!   back to its own; unless SQLite abandoned the whole transaction (I/O error, disk
//!   full), in which case, as when `COMMIT` itself fails, every caller of the batch
//!   gets the error;
//! - a writer that is closed or gone (its thread ended) fails every queued and every
//!   later write with an error, never a hang: the reply channel of a write the writer
//!   drops is closed, and sending to a writer that is gone fails at once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use rusqlite::Connection;

use crate::validator::error::StoreError;

/// The upper bounds of the batch-size buckets in [`GroupCommitStatistics`]: a batch of
/// `n` writes is counted in the first bucket whose bound is at least `n`.
pub const GROUP_COMMIT_BATCH_BUCKETS: [usize; 10] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

/// The most writes one commit takes by default.
pub const DEFAULT_GROUP_COMMIT_MAX_BATCH: usize = 256;

/// How many writes may wait for the writer by default; a caller finding the queue
/// full waits for room (back-pressure) rather than growing memory without bound.
pub const DEFAULT_GROUP_COMMIT_QUEUE: usize = 1024;

/// A write the writer thread can run on its connection inside a transaction.
pub(super) trait BatchedWrite: Send + 'static {
    /// What the caller is told when the batch holding this write has committed.
    type Output: Send + 'static;

    /// Runs the write's statements on `connection`, inside the batch's transaction.
    fn apply(&self, connection: &Connection) -> Result<Self::Output, StoreError>;
}

/// Where the writer sends one write's answer.
type Reply<W> = SyncSender<Result<<W as BatchedWrite>::Output, StoreError>>;

enum Message<W: BatchedWrite> {
    Write {
        write: W,
        reply: Reply<W>,
    },
    /// Commit what came before, then stop: later writes fail.
    Close,
}

/// Counters the writer updates, read by [`GroupCommitStatistics`] snapshots.
#[derive(Debug, Default)]
struct Counters {
    commits: AtomicU64,
    writes: AtomicU64,
    failed_batches: AtomicU64,
    batch_sizes: [AtomicU64; GROUP_COMMIT_BATCH_BUCKETS.len()],
}

/// What the group-commit writer of a [`SqliteStore`](crate::SqliteStore) has done since
/// the store was opened: a snapshot, for metrics (the server exports it to
/// Prometheus as a histogram of batch sizes).
///
/// A Prometheus histogram `batch_size` is: bucket `le = GROUP_COMMIT_BATCH_BUCKETS[i]`
/// holds the sum of `batch_sizes[0..=i]`, `_count` is `commits + failed_batches`,
/// `_sum` is `writes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct GroupCommitStatistics {
    /// Transactions committed (each one `fsync` of the write-ahead log).
    pub commits: u64,
    /// Writes (compare-and-swaps, enrolments, deletions, audit appends) in every
    /// batch, committed or failed.
    pub writes: u64,
    /// Batches whose transaction could not be committed; each of their callers got an
    /// error.
    pub failed_batches: u64,
    /// How many batches had each size, by the bounds in [`GROUP_COMMIT_BATCH_BUCKETS`]
    /// (not cumulative).
    pub batch_sizes: [u64; GROUP_COMMIT_BATCH_BUCKETS.len()],
}

impl GroupCommitStatistics {
    /// Writes per batch on average, `0.0` before the first batch.
    #[must_use]
    pub fn mean_batch_size(&self) -> f64 {
        let batches = self.commits + self.failed_batches;
        if batches == 0 {
            0.0
        } else {
            self.writes as f64 / batches as f64
        }
    }
}

impl Counters {
    fn record(&self, size: usize, committed: bool) {
        let counter = if committed {
            &self.commits
        } else {
            &self.failed_batches
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.writes.fetch_add(size as u64, Ordering::Relaxed);
        let bucket = GROUP_COMMIT_BATCH_BUCKETS
            .iter()
            .position(|&bound| size <= bound)
            .unwrap_or(GROUP_COMMIT_BATCH_BUCKETS.len() - 1);
        self.batch_sizes[bucket].fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> GroupCommitStatistics {
        GroupCommitStatistics {
            commits: self.commits.load(Ordering::Relaxed),
            writes: self.writes.load(Ordering::Relaxed),
            failed_batches: self.failed_batches.load(Ordering::Relaxed),
            batch_sizes: std::array::from_fn(|index| {
                self.batch_sizes[index].load(Ordering::Relaxed)
            }),
        }
    }
}

/// The handle callers submit writes through; the writer thread behind it owns the
/// write connection.
pub(super) struct GroupCommit<W: BatchedWrite> {
    queue: SyncSender<Message<W>>,
    counters: Arc<Counters>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl<W: BatchedWrite> std::fmt::Debug for GroupCommit<W> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("GroupCommit")
            .field("statistics", &self.statistics())
            .finish_non_exhaustive()
    }
}

fn closed() -> StoreError {
    StoreError::Backend {
        reason: "the store's group-commit writer is closed".to_owned(),
    }
}

impl<W: BatchedWrite> GroupCommit<W> {
    /// Starts the writer thread on `connection` (configured, migrated), taking at most
    /// `max_batch` writes per commit with at most `queue` waiting.
    pub(super) fn start(
        connection: Connection,
        max_batch: usize,
        queue: usize,
    ) -> Result<Self, StoreError> {
        let (sender, receiver) = mpsc::sync_channel(queue.max(1));
        let counters = Arc::new(Counters::default());
        let writer_counters = Arc::clone(&counters);
        let max_batch = max_batch.max(1);
        let writer = std::thread::Builder::new()
            .name("otpfob-sqlite-writer".to_owned())
            .spawn(move || run(connection, &receiver, max_batch, &writer_counters))
            .map_err(|error| StoreError::Backend {
                reason: format!("could not start the group-commit writer: {error}"),
            })?;
        Ok(Self {
            queue: sender,
            counters,
            writer: Mutex::new(Some(writer)),
        })
    }

    /// Queues `write`, waits until the batch holding it has committed (or failed), and
    /// returns its answer.
    pub(super) fn submit(&self, write: W) -> Result<W::Output, StoreError> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.queue
            .send(Message::Write { write, reply })
            .map_err(|_| closed())?;
        // A writer that drops the write without answering (closed, or its thread
        // ended) closes the reply channel: the caller fails closed.
        answer.recv().unwrap_or_else(|_| Err(closed()))
    }

    /// A snapshot of the writer's counters.
    pub(super) fn statistics(&self) -> GroupCommitStatistics {
        self.counters.snapshot()
    }

    /// Commits every write queued before this call, stops the writer and closes its
    /// connection; every later write fails with [`StoreError::Backend`].
    pub(super) fn close(&self) {
        // A writer already gone has dropped the queue's receiver: nothing to tell it.
        let _ = self.queue.send(Message::Close);
        // A writer that panicked has already failed its callers (their reply channels
        // closed); there is nothing more to report here.
        join_once(&self.writer);
    }
}

/// Waits for the thread in `thread` to end, the first time only: a store's threads
/// are stopped both by an explicit close and by its drop.
pub(super) fn join_once(thread: &Mutex<Option<JoinHandle<()>>>) {
    let thread = thread.lock().unwrap_or_else(PoisonError::into_inner).take();
    if let Some(thread) = thread {
        let _ = thread.join();
    }
}

impl<W: BatchedWrite> Drop for GroupCommit<W> {
    fn drop(&mut self) {
        // Joining makes the file closed when the store is dropped, so that a process
        // may reopen it at once.
        self.close();
    }
}

/// Each write's own answer, in the batch's order.
type Outputs<W> = Vec<Result<<W as BatchedWrite>::Output, StoreError>>;

/// A batch's answers, each with the channel of the caller waiting for it.
type Answers<W> = Vec<(Reply<W>, Result<<W as BatchedWrite>::Output, StoreError>)>;

/// Batches of at most this many writes are answered by the writer itself: handing one
/// or two answers to the answering thread costs the writer what sending them does.
const ANSWERED_BY_WRITER: usize = 2;

/// The writer thread: batch, run, commit, answer, until closed. A second thread sends
/// the answers of larger batches, so that the writer starts on the next batch at once:
/// waking each caller (a futex wake per caller) was an eighth of the writer's time
/// with 64 callers (issue 13's profile). Both threads end before `run` returns, every
/// answer sent.
fn run<W: BatchedWrite>(
    connection: Connection,
    receiver: &Receiver<Message<W>>,
    max_batch: usize,
    counters: &Counters,
) {
    std::thread::scope(|scope| {
        let (answers, to_send) = mpsc::sync_channel::<Answers<W>>(8);
        let answering = std::thread::Builder::new()
            .name("otpfob-sqlite-answers".to_owned())
            .spawn_scoped(scope, move || {
                for batch in to_send {
                    send_answers::<W>(batch);
                }
            });
        // Without the answering thread, the writer answers every batch itself.
        let answers = answering.is_ok().then_some(answers);
        write_batches(&connection, receiver, max_batch, counters, answers.as_ref());
        // Dropping the sender ends the answering thread once it has sent everything.
        drop(answers);
    });
    // Writes still queued behind a Close are dropped with their reply channels when
    // the receiver goes: their callers get an error. Dropping the connection closes
    // the file.
    drop(connection);
}

/// Sends each answer to its caller.
fn send_answers<W: BatchedWrite>(batch: Answers<W>) {
    for (reply, answer) in batch {
        // A caller that stopped waiting is no reason to stop the others.
        let _ = reply.send(answer);
    }
}

/// The writer's loop: takes the first waiting write and every other one already
/// queued, runs them as one batch, and has them answered, until closed.
fn write_batches<W: BatchedWrite>(
    connection: &Connection,
    receiver: &Receiver<Message<W>>,
    max_batch: usize,
    counters: &Counters,
    answering: Option<&SyncSender<Answers<W>>>,
) {
    let mut batch: Vec<(W, Reply<W>)> = Vec::with_capacity(max_batch);
    let mut closing = false;
    while !closing {
        // Wait for the first write; then take every one already waiting.
        match receiver.recv() {
            Ok(Message::Write { write, reply }) => batch.push((write, reply)),
            Ok(Message::Close) | Err(_) => break,
        }
        while batch.len() < max_batch {
            match receiver.try_recv() {
                Ok(Message::Write { write, reply }) => batch.push((write, reply)),
                Ok(Message::Close) | Err(TryRecvError::Disconnected) => {
                    closing = true;
                    break;
                }
                Err(TryRecvError::Empty) => break,
            }
        }
        let answers = run_batch(connection, &batch);
        counters.record(batch.len(), answers.is_ok());
        let answered: Answers<W> = match answers {
            Ok(answers) => batch
                .drain(..)
                .zip(answers)
                .map(|((_, reply), answer)| (reply, answer))
                .collect(),
            Err(error) => batch
                .drain(..)
                .map(|(_, reply)| (reply, Err(error.clone())))
                .collect(),
        };
        match answering {
            Some(answering) if answered.len() > ANSWERED_BY_WRITER => {
                // An answering thread that is gone hands the answers back.
                if let Err(mpsc::SendError(answered)) = answering.send(answered) {
                    send_answers::<W>(answered);
                }
            }
            _ => send_answers::<W>(answered),
        }
    }
}

/// Runs one transaction-control statement through the connection's statement cache:
/// `execute_batch` would parse it again on every call, a measurable part of each batch
/// (issue 13's profile showed SQLite's parser on the hot path).
pub(super) fn run_cached(connection: &Connection, sql: &str) -> Result<(), StoreError> {
    connection
        .prepare_cached(sql)
        .and_then(|mut statement| statement.execute([]))
        .map(|_| ())
        .map_err(backend)
}

fn backend(error: rusqlite::Error) -> StoreError {
    StoreError::Backend {
        reason: error.to_string(),
    }
}

/// Runs every write of `batch` in one transaction and commits. `Ok` holds each write's
/// own answer (committed); `Err` means nothing of the batch is known to be written, and
/// every caller gets it.
///
/// The writes run first without savepoints: a savepoint per write (its statements and
/// the copy of each page it changes into the savepoint's journal) was a tenth of the
/// writer's time. Should one of them fail, the transaction is rolled back and the batch
/// runs again with a savepoint per write, so that the failure is undone alone and fails
/// only its own caller.
fn run_batch<W: BatchedWrite>(
    connection: &Connection,
    batch: &[(W, Reply<W>)],
) -> Result<Outputs<W>, StoreError> {
    match run_batch_plainly(connection, batch)? {
        Some(answers) => Ok(answers),
        None => run_batch_isolated(connection, batch),
    }
}

/// The batch in one transaction without savepoints: `None` when a write failed and the
/// transaction was rolled back (the batch must run again, isolated).
fn run_batch_plainly<W: BatchedWrite>(
    connection: &Connection,
    batch: &[(W, Reply<W>)],
) -> Result<Option<Outputs<W>>, StoreError> {
    // Dropped on an error, the transaction rolls back; a failed commit rolls back too.
    let transaction = super::WriteTransaction::begin(connection)?;
    let mut answers = Vec::with_capacity(batch.len());
    for (write, _) in batch {
        match write.apply(&transaction) {
            Ok(answer) => answers.push(Ok(answer)),
            // SQLite rolled the whole transaction back (I/O error, disk full).
            Err(error) if transaction.is_autocommit() => return Err(error),
            // A write alone: rolling it back is all its savepoint would have done.
            Err(error) if batch.len() == 1 => {
                drop(transaction);
                return Ok(Some(vec![Err(error)]));
            }
            Err(_) => return Ok(None),
        }
    }
    transaction.commit()?;
    Ok(Some(answers))
}

/// Runs every write of `batch` in one transaction, each in its own savepoint, and
/// commits.
fn run_batch_isolated<W: BatchedWrite>(
    connection: &Connection,
    batch: &[(W, Reply<W>)],
) -> Result<Outputs<W>, StoreError> {
    // Dropped on an error, the transaction rolls back; a failed commit rolls back too.
    let transaction = super::WriteTransaction::begin(connection)?;
    let mut answers = Vec::with_capacity(batch.len());
    for (write, _) in batch {
        answers.push(run_one(&transaction, write)?);
    }
    transaction.commit()?;
    Ok(answers)
}

/// One write inside its savepoint: kept on success, undone on error. The inner result
/// is the write's own answer; the outer error means the batch's transaction can no
/// longer be trusted (SQLite abandoned it, or the savepoint could not be released or
/// rolled back), and fails every write of the batch.
fn run_one<W: BatchedWrite>(
    connection: &Connection,
    write: &W,
) -> Result<Result<W::Output, StoreError>, StoreError> {
    run_cached(connection, "SAVEPOINT write")?;
    let answer = write.apply(connection);
    if connection.is_autocommit() {
        // SQLite rolled the whole transaction back (I/O error, disk full): the writes
        // before this one are gone too.
        return Err(match answer {
            Err(error) => error,
            Ok(_) => StoreError::Backend {
                reason: "the batch's transaction ended unexpectedly".to_owned(),
            },
        });
    }
    if answer.is_err() {
        run_cached(connection, "ROLLBACK TO write")?;
    }
    run_cached(connection, "RELEASE write")?;
    Ok(answer)
}
