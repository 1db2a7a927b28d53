//! The hot reads' own connections: the status poll's read, the session every signed-in
//! request reads, and My payments' page. sqlx's pool tests every connection given back to
//! it with a ping (sqlx-core 0.8, `Floating::return_to_pool`, whatever the pool's options
//! say): a second round trip to PostgreSQL after each query, a second trip to the
//! connection's worker thread on SQLite. For a one-row read that doubled its cost (the
//! bench: on SQLite 57,000 reads/s through the pool, 117,000 on connections held).
//!
//! Here a connection is handed out and taken back without it. It goes back only when its
//! statement finished without an error ([`Reader::give_back`]); one whose read failed, or
//! whose request was dropped in the middle of its statement, is closed, and a later read
//! opens another: what state it was left in is not known. That is the case sqlx's ping is
//! there for.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use sqlx::{AnyConnection, Connection};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{ConnectionSetup, ACQUIRE_TIMEOUT, PING_AFTER_IDLE};

/// A failed read's connection is closed in the background, given this long to say goodbye.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// At most a given number of connections for the hot reads, opened when first needed.
#[derive(Clone)]
pub struct Readers(Arc<Shared>);

struct Shared {
    setup: ConnectionSetup,
    /// Connections not in use, with when each was given back.
    idle: Mutex<Vec<(AnyConnection, Instant)>>,
    /// One per connection there may be: a reader holds one while it has its connection.
    permits: Arc<Semaphore>,
    /// How many connections have been opened.
    opened: AtomicU64,
    /// How many there may be at once.
    most: usize,
}

impl Readers {
    /// Readers on at most `connections` connections (at least one) made by `setup`.
    pub fn new(setup: ConnectionSetup, connections: usize) -> Readers {
        let connections = connections.max(1);
        Readers(Arc::new(Shared {
            setup,
            idle: Mutex::new(Vec::with_capacity(connections)),
            permits: Arc::new(Semaphore::new(connections)),
            opened: AtomicU64::new(0),
            most: connections,
        }))
    }

    /// A connection to read on, once one is free (first come, first served; the pool's
    /// `PoolTimedOut` after [`ACQUIRE_TIMEOUT`]).
    pub async fn get(&self) -> sqlx::Result<Reader> {
        let permit = tokio::time::timeout(ACQUIRE_TIMEOUT, self.0.permits.clone().acquire_owned())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?
            .map_err(|_| sqlx::Error::PoolClosed)?;
        let conn = match self.idle().await {
            Some(conn) => conn,
            None => self.open().await?,
        };
        Ok(Reader {
            conn,
            readers: self.0.clone(),
            _permit: permit,
        })
    }

    /// How many connections these readers have opened so far.
    pub fn opened(&self) -> u64 {
        self.0.opened.load(Ordering::Relaxed)
    }

    /// How many connections there may be at once.
    pub fn most(&self) -> usize {
        self.0.most
    }

    /// How many connections wait for a read.
    pub fn idle_count(&self) -> usize {
        self.0.idle.lock().map_or(0, |idle| idle.len())
    }

    /// The connection given back last, if any. A PostgreSQL connection idle a while is
    /// pinged first, as the pool's are ([`PING_AFTER_IDLE`]); one the server has dropped
    /// is let go.
    async fn idle(&self) -> Option<AnyConnection> {
        let (mut conn, since) = self.0.idle.lock().ok()?.pop()?;
        if !self.0.setup.is_sqlite && since.elapsed() >= PING_AFTER_IDLE {
            conn.ping().await.ok()?;
        }
        Some(conn)
    }

    async fn open(&self) -> sqlx::Result<AnyConnection> {
        let conn = self.0.setup.open().await?;
        self.0.opened.fetch_add(1, Ordering::Relaxed);
        Ok(conn)
    }
}

/// One connection of [`Readers`], for one read; [`Reader::give_back`] with the read's
/// result when it is over. Dropped without that (its request was dropped during the
/// read), its connection is closed.
pub struct Reader {
    conn: AnyConnection,
    readers: Arc<Shared>,
    _permit: OwnedSemaphorePermit,
}

impl Reader {
    /// The connection to read on.
    pub fn conn(&mut self) -> &mut AnyConnection {
        &mut self.conn
    }

    /// Ends the read with its `result`: the connection goes back to the readers when the
    /// read succeeded; after an error it is closed (a later read opens another).
    pub fn give_back<T>(self, result: sqlx::Result<T>) -> sqlx::Result<T> {
        let Reader {
            conn,
            readers,
            _permit,
        } = self;
        if result.is_ok() {
            if let Ok(mut idle) = readers.idle.lock() {
                idle.push((conn, Instant::now()));
            }
        } else {
            tokio::spawn(async move {
                let _ = tokio::time::timeout(CLOSE_TIMEOUT, conn.close()).await;
            });
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use std::{
        future::Future as _,
        task::{Context, Waker},
    };

    use super::*;

    fn readers_of(dir: &tempfile::TempDir, connections: usize) -> Readers {
        let url = format!("sqlite:{}", dir.path().join("readers.db").display());
        Readers::new(ConnectionSetup::new(&url, None), connections)
    }

    async fn one(reader: &mut Reader) -> sqlx::Result<i64> {
        sqlx::query_scalar("SELECT 1")
            .fetch_one(reader.conn())
            .await
    }

    #[tokio::test]
    async fn a_connection_given_back_after_a_good_read_is_read_on_again() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let readers = readers_of(&dir, 2);
        for _ in 0..3 {
            let mut reader = readers.get().await.expect("a reader");
            let read = one(&mut reader).await;
            assert_eq!(reader.give_back(read).expect("read"), 1);
        }
        assert_eq!(readers.opened(), 1);
        assert_eq!(readers.idle_count(), 1);
    }

    #[tokio::test]
    async fn a_connection_is_not_read_on_again_after_an_error_or_an_unfinished_read() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let readers = readers_of(&dir, 2);
        let mut reader = readers.get().await.expect("a reader");
        let read: sqlx::Result<i64> = sqlx::query_scalar("SELECT nothing FROM nowhere")
            .fetch_one(reader.conn())
            .await;
        assert!(reader.give_back(read).is_err());
        assert_eq!(
            readers.idle_count(),
            0,
            "a failed read's connection is closed"
        );
        // Dropped without being given back (its request was dropped mid-read).
        drop(readers.get().await.expect("a reader"));
        assert_eq!(
            readers.idle_count(),
            0,
            "an unfinished read's connection is closed"
        );
        let mut reader = readers.get().await.expect("a reader");
        let read = one(&mut reader).await;
        reader.give_back(read).expect("read");
        assert_eq!(
            readers.opened(),
            3,
            "each of the three reads opened its own"
        );
        assert_eq!(readers.idle_count(), 1);
    }

    #[tokio::test]
    async fn no_more_connections_than_allowed_are_out_at_once() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let readers = readers_of(&dir, 2);
        let (a, b) = (readers.get().await, readers.get().await);
        let (mut a, b) = (a.expect("first"), b.expect("second"));
        let mut third = Box::pin(readers.get());
        assert!(
            third
                .as_mut()
                .poll(&mut Context::from_waker(Waker::noop()))
                .is_pending(),
            "a third waits while two are out"
        );
        let read = one(&mut a).await;
        a.give_back(read).expect("read");
        let mut third = third.await.expect("the first one's connection");
        assert_eq!(one(&mut third).await.expect("read"), 1);
        assert_eq!(
            readers.opened(),
            2,
            "the third read on the first one's connection"
        );
        drop(b);
    }
}
