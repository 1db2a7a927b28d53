//! Signed callbacks recorded together (group commit).
//!
//! Each callback is a short write transaction (its nonce, the decision, its audit rows).
//! One at a time, every callback pays for its own commit, and on SQLite waits for the one
//! writer connection anyway. Here the callbacks that arrive while a group is being written
//! queue up, and the next group records all of them, in arrival order: one commit for
//! many. Each request is answered only after the transaction that holds its callback has
//! committed, so nothing acknowledged can be lost. If that transaction fails, each of its
//! callbacks is tried again in a transaction of its own, so one bad callback does not fail
//! the others.
//!
//! On SQLite a group is one transaction of three statements on the one writer connection
//! ([`record_push_callbacks`]; BEGIN and COMMIT go with the first and the last). On
//! PostgreSQL a group is one statement ([`record_push_callbacks_at_once`]), split where a
//! callback repeats an earlier one's nonce or payment ([`one_statement_runs`]), and
//! [`POSTGRES_WRITERS`] groups are written at once on the pool's connections: PostgreSQL
//! commits many transactions at a time, and a single writer made callbacks wait for each
//! other's round trips (860/s to 630/s in `make bench`, when a group was one statement per
//! callback).

use std::sync::{
    atomic::{AtomicU64, AtomicUsize, Ordering},
    Arc,
};
use std::time::Instant;

use sqlx::{pool::PoolConnection, Any, AnyPool};
use tokio::sync::{mpsc, oneshot, Mutex};

use crate::server::db::payments::{
    one_statement_runs, record_push_callback, record_push_callbacks, record_push_callbacks_at_once,
    PushCallback, PushOutcome,
};

/// At most this many callbacks in one transaction.
const MOST_AT_ONCE: usize = 64;
/// Groups written one after another on the connection a writer keeps while more is
/// queued; then it goes back to the pool, where other writes wait for it (on SQLite, a
/// decision by code, passkey or cancel takes the same one writer connection).
const HOLD_AT_MOST: usize = 16;
/// Callbacks waiting for their turn before senders wait for room.
const QUEUE: usize = 1024;
/// Groups written at once on PostgreSQL (SQLite has one writer connection).
pub const POSTGRES_WRITERS: usize = 2;

pub struct Job {
    callback: PushCallback,
    answer: oneshot::Sender<sqlx::Result<PushOutcome>>,
}

/// Records callbacks through the writer pool, many to a transaction.
#[derive(Clone)]
pub struct CallbackRecorder {
    queue: mpsc::Sender<Job>,
    stats: Arc<GroupStats>,
    /// Groups written at once.
    writers: usize,
}

/// What the grouping did so far (tests and figures).
#[derive(Debug, Default)]
pub struct GroupStats {
    /// The most callbacks recorded in one transaction.
    pub largest: AtomicUsize,
    /// Groups whose transaction failed, whose callbacks were recorded one by one.
    pub fallbacks: AtomicUsize,
    /// Callbacks taken from the queue so far.
    pub taken: AtomicUsize,
    /// Groups written so far (transactions on SQLite, statements on PostgreSQL), fallbacks
    /// included.
    pub groups: AtomicUsize,
    /// The time spent writing them, from the first statement to the answers, in
    /// microseconds (summed over the writers).
    pub writing_micros: AtomicU64,
}

impl GroupStats {
    /// Groups written and the microseconds spent on them, so far.
    pub fn written(&self) -> (usize, u64) {
        (
            self.groups.load(Ordering::Relaxed),
            self.writing_micros.load(Ordering::Relaxed),
        )
    }
}

/// How a group is written.
#[derive(Clone, Copy)]
enum Grouping {
    /// One transaction of a few statements (SQLite).
    Transaction,
    /// One statement per run of callbacks that do not repeat each other (PostgreSQL).
    Statement,
}

impl CallbackRecorder {
    /// For the database at `database_url`; the grouping tasks run on the current runtime.
    pub fn start(database_url: &str, writer: AnyPool) -> Self {
        let (grouping, writers) = if database_url.starts_with("sqlite:") {
            (Grouping::Transaction, 1)
        } else {
            (Grouping::Statement, POSTGRES_WRITERS)
        };
        let (queue, jobs) = mpsc::channel(QUEUE);
        let jobs = Arc::new(Mutex::new(jobs));
        let stats = Arc::new(GroupStats::default());
        for _ in 0..writers {
            tokio::spawn(record_in_groups(
                writer.clone(),
                grouping,
                jobs.clone(),
                stats.clone(),
            ));
        }
        CallbackRecorder {
            queue,
            stats,
            writers,
        }
    }

    /// Callbacks waiting for a transaction now.
    pub fn waiting(&self) -> usize {
        self.queue.max_capacity() - self.queue.capacity()
    }

    /// The grouping's figures.
    pub fn stats(&self) -> &GroupStats {
        &self.stats
    }

    /// How many groups are written at once.
    pub fn writers(&self) -> usize {
        self.writers
    }

    /// Records one callback; returns once the transaction that holds it has committed.
    pub async fn record(&self, callback: PushCallback) -> sqlx::Result<PushOutcome> {
        let (answer, answered) = oneshot::channel();
        self.queue
            .send(Job { callback, answer })
            .await
            .map_err(|_| sqlx::Error::PoolClosed)?;
        answered.await.unwrap_or(Err(sqlx::Error::PoolClosed))
    }
}

/// One writer: takes what is queued (up to [`MOST_AT_ONCE`]) while no other writer is
/// taking, writes it, answers, and takes again. While more is queued it keeps its
/// connection for the next group (at most [`HOLD_AT_MOST`] groups in a row): giving it back
/// to the pool and taking it again cost a group on SQLite a fifth of its time (sqlx pings
/// a connection on its way back, a round trip to SQLite's worker thread, and the next
/// group waited for it).
async fn record_in_groups(
    writer: AnyPool,
    grouping: Grouping,
    jobs: Arc<Mutex<mpsc::Receiver<Job>>>,
    stats: Arc<GroupStats>,
) {
    let mut group = Vec::with_capacity(MOST_AT_ONCE);
    let mut held: Option<PoolConnection<Any>> = None;
    let mut in_a_row = 0;
    loop {
        {
            // Another writer taking from the queue (PostgreSQL) will take what comes next:
            // this one's connection is not kept idle while it waits for its turn.
            let mut queue = match jobs.try_lock() {
                Ok(queue) => queue,
                Err(_) => {
                    held = None;
                    jobs.lock().await
                }
            };
            // Nothing waiting, or long enough: the pool's other writers get their turn.
            if held.is_none() || queue.is_empty() || in_a_row >= HOLD_AT_MOST {
                held = None;
                in_a_row = 0;
            }
            if queue.recv_many(&mut group, MOST_AT_ONCE).await == 0 {
                return;
            }
        }
        stats.taken.fetch_add(group.len(), Ordering::Relaxed);
        let (callbacks, mut answers): (Vec<PushCallback>, Vec<_>) =
            group.drain(..).map(|j| (j.callback, j.answer)).unzip();
        let runs = match grouping {
            Grouping::Transaction => std::iter::once(0..callbacks.len()).collect(),
            Grouping::Statement => one_statement_runs(&callbacks),
        };
        // Answered run by run, each after its commit: drained from the front.
        for run in runs {
            let run_answers: Vec<_> = answers.drain(..run.len()).collect();
            in_a_row += 1;
            held = record_group(
                &writer,
                held.take(),
                grouping,
                &callbacks[run],
                run_answers,
                &stats,
            )
            .await;
        }
    }
}

/// Writes one group on `held` (or a connection from the pool) and answers its callbacks;
/// on failure, each callback on its own, on connections from the pool. The connection,
/// unless the group failed.
async fn record_group(
    writer: &AnyPool,
    held: Option<PoolConnection<Any>>,
    grouping: Grouping,
    callbacks: &[PushCallback],
    answers: Vec<oneshot::Sender<sqlx::Result<PushOutcome>>>,
    stats: &GroupStats,
) -> Option<PoolConnection<Any>> {
    stats.largest.fetch_max(callbacks.len(), Ordering::Relaxed);
    let started = Instant::now();
    let conn = match held {
        Some(conn) => Ok(conn),
        None => writer.acquire().await,
    };
    // Once committed, an outcome's own error (a read after the commit) is its callback's.
    let (written, conn) = match conn {
        Ok(mut conn) => {
            let written = match grouping {
                Grouping::Transaction => record_push_callbacks(&mut conn, callbacks)
                    .await
                    .map(|outcomes| outcomes.into_iter().map(Ok).collect()),
                Grouping::Statement => record_push_callbacks_at_once(&mut conn, callbacks).await,
            };
            (written, Some(conn))
        }
        Err(e) => (Err(e), None),
    };
    let kept = match written {
        Ok(outcomes) => {
            for (answer, outcome) in answers.into_iter().zip(outcomes) {
                let _ = answer.send(outcome);
            }
            conn
        }
        Err(e) if callbacks.len() == 1 => {
            if let Some(answer) = answers.into_iter().next() {
                let _ = answer.send(Err(e));
            }
            None
        }
        Err(e) => {
            // Back to the pool first: on SQLite it is the pool's one connection.
            drop(conn);
            stats.fallbacks.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(error = %e, callbacks = callbacks.len(), "a group of callbacks failed: recording each on its own");
            for (callback, answer) in callbacks.iter().zip(answers) {
                let _ = answer.send(record_push_callback(writer, callback).await);
            }
            None
        }
    };
    stats.groups.fetch_add(1, Ordering::Relaxed);
    let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    stats.writing_micros.fetch_add(micros, Ordering::Relaxed);
    kept
}
