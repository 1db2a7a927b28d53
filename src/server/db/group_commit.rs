//! Signed callbacks recorded together (group commit).
//!
//! Each callback is a short write transaction (its nonce, the decision, its audit rows).
//! One at a time, every callback pays for its own BEGIN and COMMIT, and on SQLite waits for
//! the one writer connection anyway. Here the callbacks that arrive while a transaction is
//! being written queue up, and the next transaction records all of them, in arrival order:
//! one commit for many. Each request is answered only after the transaction that holds
//! its callback has committed, so nothing acknowledged can be lost. If that transaction
//! fails, each of its callbacks is tried again in a transaction of its own, so one bad
//! callback does not fail the others.
//!
//! On SQLite only: it has one writer connection, so callbacks wait for each other anyway.
//! PostgreSQL writes many transactions at once on the pool's connections; queueing them
//! behind one connection there made the callbacks slower (860/s to 630/s in `make bench`),
//! so there each callback is one statement of its own
//! ([`record_push_callback_at_once`](crate::server::db::payments::record_push_callback_at_once)).

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};

use sqlx::AnyPool;
use tokio::sync::{mpsc, oneshot};

use crate::server::db::payments::{
    record_push_callback, record_push_callback_at_once, record_push_callbacks, PushCallback,
    PushOutcome,
};

/// At most this many callbacks in one transaction.
const MOST_AT_ONCE: usize = 64;
/// Callbacks waiting for their turn before senders wait for room.
const QUEUE: usize = 1024;

pub struct Job {
    callback: PushCallback,
    answer: oneshot::Sender<sqlx::Result<PushOutcome>>,
}

/// Records callbacks through the writer pool: many to a transaction on SQLite, one each on
/// PostgreSQL.
#[derive(Clone)]
pub enum CallbackRecorder {
    Grouped {
        queue: mpsc::Sender<Job>,
        stats: Arc<GroupStats>,
    },
    OneEach(AnyPool),
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
}

impl CallbackRecorder {
    /// For the database at `database_url`; the grouping task runs on the current runtime.
    pub fn start(database_url: &str, writer: AnyPool) -> Self {
        if !database_url.starts_with("sqlite:") {
            return CallbackRecorder::OneEach(writer);
        }
        let (queue, jobs) = mpsc::channel(QUEUE);
        let stats = Arc::new(GroupStats::default());
        tokio::spawn(record_in_groups(writer, jobs, stats.clone()));
        CallbackRecorder::Grouped { queue, stats }
    }

    /// Callbacks waiting for a transaction now (0 when they are not grouped).
    pub fn waiting(&self) -> usize {
        match self {
            CallbackRecorder::Grouped { queue, .. } => queue.max_capacity() - queue.capacity(),
            CallbackRecorder::OneEach(_) => 0,
        }
    }

    /// The grouping's figures (`None` when callbacks are not grouped).
    pub fn stats(&self) -> Option<&GroupStats> {
        match self {
            CallbackRecorder::Grouped { stats, .. } => Some(stats),
            CallbackRecorder::OneEach(_) => None,
        }
    }

    /// Records one callback; returns once the transaction that holds it has committed.
    pub async fn record(&self, callback: PushCallback) -> sqlx::Result<PushOutcome> {
        let queue = match self {
            CallbackRecorder::OneEach(writer) => {
                let mut conn = writer.acquire().await?;
                return record_push_callback_at_once(&mut conn, &callback).await;
            }
            CallbackRecorder::Grouped { queue, .. } => queue,
        };
        let (answer, answered) = oneshot::channel();
        queue
            .send(Job { callback, answer })
            .await
            .map_err(|_| sqlx::Error::PoolClosed)?;
        answered.await.unwrap_or(Err(sqlx::Error::PoolClosed))
    }
}

async fn record_in_groups(writer: AnyPool, mut jobs: mpsc::Receiver<Job>, stats: Arc<GroupStats>) {
    let mut group = Vec::with_capacity(MOST_AT_ONCE);
    while jobs.recv_many(&mut group, MOST_AT_ONCE).await > 0 {
        stats.largest.fetch_max(group.len(), Ordering::Relaxed);
        stats.taken.fetch_add(group.len(), Ordering::Relaxed);
        let (callbacks, answers): (Vec<PushCallback>, Vec<_>) =
            group.drain(..).map(|j| (j.callback, j.answer)).unzip();
        match record_push_callbacks(&writer, &callbacks).await {
            Ok(outcomes) => {
                for (answer, outcome) in answers.into_iter().zip(outcomes) {
                    let _ = answer.send(Ok(outcome));
                }
            }
            Err(e) if callbacks.len() == 1 => {
                if let Some(answer) = answers.into_iter().next() {
                    let _ = answer.send(Err(e));
                }
            }
            Err(e) => {
                stats.fallbacks.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, callbacks = callbacks.len(), "a group of callbacks failed: recording each on its own");
                for (callback, answer) in callbacks.iter().zip(answers) {
                    let _ = answer.send(record_push_callback(&writer, callback).await);
                }
            }
        }
    }
}
