//! All SQL lives here, one module per table family. Queries are portable between SQLite
//! and PostgreSQL: `$n` placeholders, text UUIDs, BIGINT money and Unix-second timestamps.

pub mod audit;
pub(crate) mod group_commit;
pub mod leases;
pub mod passkeys;
pub mod payments;
pub mod throttle;
pub mod users;
pub mod verify_events;

use std::time::Duration;

use sqlx::{
    any::{install_default_drivers, AnyPoolOptions},
    AnyPool, Connection, Executor,
};

/// How the pool is sized and how long a statement may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    pub max_connections: u32,
    /// `None`: no limit on PostgreSQL; a minute's wait for the lock on SQLite.
    pub statement_timeout: Option<Duration>,
}

impl PoolSettings {
    /// The defaults for `database_url` on this machine: SQLite writes one at a time, so a
    /// few connections serve its readers; PostgreSQL gets four per core (at most 32, so
    /// that several instances stay within the server's `max_connections`).
    pub fn default_for(database_url: &str) -> PoolSettings {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get() as u32);
        PoolSettings {
            max_connections: if database_url.starts_with("sqlite:") {
                8
            } else {
                (cores * 4).clamp(4, 32)
            },
            statement_timeout: Some(Duration::from_secs(10)),
        }
    }
}

/// A PostgreSQL connection idle at least this long is pinged before it is used (HikariCP
/// bypasses its check for connections used in the last 500 ms too). One used more recently
/// that the server has just dropped fails its query, as it would had the server gone
/// during the query: the request is answered with an error.
pub const PING_AFTER_IDLE: Duration = Duration::from_millis(500);

/// Opens a connection pool with the default settings.
pub async fn connect(database_url: &str) -> Result<AnyPool, sqlx::Error> {
    connect_with(database_url, PoolSettings::default_for(database_url)).await
}

/// Opens a connection pool. A SQLite file is created if missing and runs in WAL mode;
/// every PostgreSQL connection has the statement timeout set.
pub async fn connect_with(
    database_url: &str,
    settings: PoolSettings,
) -> Result<AnyPool, sqlx::Error> {
    install_default_drivers();
    let is_sqlite = database_url.starts_with("sqlite:");
    let timeout_ms = settings.statement_timeout.map(|t| t.as_millis());
    let busy_ms = timeout_ms.unwrap_or(60_000);
    let url = if is_sqlite && !database_url.contains("mode=") {
        let sep = if database_url.contains('?') { '&' } else { '?' };
        format!("{database_url}{sep}mode=rwc")
    } else {
        database_url.to_string()
    };
    let options = AnyPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(Duration::from_secs(10))
        // sqlx's own test pings before every use: a second round trip per query on
        // PostgreSQL, one more trip to the worker thread on SQLite (a file in this process,
        // never dropped by a server).
        .test_before_acquire(false)
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                if is_sqlite {
                    conn.execute(
                        format!(
                            "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = {busy_ms}; \
                             PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;"
                        )
                        .as_str(),
                    )
                    .await?;
                } else if let Some(ms) = timeout_ms {
                    conn.execute(format!("SET statement_timeout = {ms}").as_str())
                        .await?;
                }
                Ok(())
            })
        });
    let options = if is_sqlite {
        options
    } else {
        // A PostgreSQL connection can have been dropped by the server (or something on the
        // way) while idle: one idle for a while is pinged before use, one used moments ago
        // is not. An error closes it; the pool takes or opens another.
        options.before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_AFTER_IDLE {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
    };
    options.connect(&url).await
}

/// Where the hot write transactions go (a callback's nonce, decision and audit rows; a
/// decision). On SQLite, one connection of its own: SQLite takes one writer at a time, and
/// writers on several connections wait for each other in its busy handler, which sleeps
/// (1, 2, 5 … 100 ms), so under load most of a write's time was sleep. With one writer
/// connection they queue in the pool instead and each starts the moment the last one
/// commits. On PostgreSQL, which takes many writers, the pool itself.
pub async fn writer_for(
    database_url: &str,
    pool: &AnyPool,
    settings: PoolSettings,
) -> Result<AnyPool, sqlx::Error> {
    if database_url.starts_with("sqlite:") {
        let one = PoolSettings {
            max_connections: 1,
            ..settings
        };
        connect_with(database_url, one).await
    } else {
        Ok(pool.clone())
    }
}

/// Applies the migrations in `migrations/` that have not run yet.
pub async fn migrate(pool: &AnyPool) -> Result<(), sqlx::migrate::MigrateError> {
    sqlx::migrate!("./migrations").run(pool).await
}

/// Applies the migrations over a connection of their own, without the statement timeout
/// (a migration may rightly take longer than any request). Several instances starting at
/// once take turns: on PostgreSQL the migrator holds an advisory lock, on SQLite the
/// write lock (waited for up to a minute).
pub async fn migrate_at(database_url: &str) -> anyhow::Result<()> {
    let settings = PoolSettings {
        max_connections: 1,
        statement_timeout: None,
    };
    let pool = connect_with(database_url, settings).await?;
    let applied = migrate(&pool).await;
    pool.close().await;
    Ok(applied?)
}

/// Checks that the database answers.
pub async fn ping(pool: &AnyPool) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1").execute(pool).await.map(|_| ())
}

/// Columns that hold one of a type's names (its `as_str`), read back with its `parse`: the
/// row types carry the type itself, and a value the type does not know is a decoding
/// error (answered as an internal error), never a guess.
macro_rules! named_column {
    ($($t:ty),* $(,)?) => {$(
        impl sqlx::Type<sqlx::Any> for $t {
            fn type_info() -> sqlx::any::AnyTypeInfo {
                <String as sqlx::Type<sqlx::Any>>::type_info()
            }

            fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
                <String as sqlx::Type<sqlx::Any>>::compatible(ty)
            }
        }

        impl<'r> sqlx::Decode<'r, sqlx::Any> for $t {
            fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                let name = <String as sqlx::Decode<'r, sqlx::Any>>::decode(value)?;
                <$t>::parse(&name)
                    .ok_or_else(|| format!("not a {}: {name:?}", stringify!($t)).into())
            }
        }
    )*};
}

named_column!(
    crate::model::PaymentStatus,
    crate::model::DecidedVia,
    crate::model::Via,
    crate::model::Currency,
    crate::server::config::ProviderKind,
);

#[cfg(test)]
mod tests {
    use super::*;

    async fn sqlite_pool(dir: &tempfile::TempDir) -> AnyPool {
        let url = format!("sqlite:{}", dir.path().join("t.db").display());
        connect(&url).await.expect("open SQLite")
    }

    #[tokio::test]
    async fn sqlite_plans_do_not_depend_on_bound_values() {
        // Without the planner stability guarantee, statistics from ANALYZE make SQLite
        // compile the status poll again on every run (see .cargo/config.toml).
        let dir = tempfile::tempdir().expect("temporary directory");
        let pool = sqlite_pool(&dir).await;
        let options: Vec<String> = sqlx::query_scalar("PRAGMA compile_options")
            .fetch_all(&pool)
            .await
            .expect("compile options");
        assert!(
            options.iter().any(|o| o == "ENABLE_QPSG"),
            "SQLite built without ENABLE_QPSG: {options:?}"
        );
    }

    #[tokio::test]
    async fn sqlite_connections_are_used_without_a_ping_first() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let pool = sqlite_pool(&dir).await;
        assert!(!pool.options().get_test_before_acquire());
    }
}
