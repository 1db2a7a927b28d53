//! All SQL lives here, one module per table family. Queries are portable between SQLite
//! and PostgreSQL: `$n` placeholders, text UUIDs, BIGINT money and Unix-second timestamps.
//! A query's row type is private to its module: each row is decoded with every column
//! typed and converted once into the domain's type of it (`server::entities`), which is
//! all that leaves `db`.

pub mod audit;
pub mod group_commit;
pub mod leases;
pub mod passkeys;
pub mod payments;
pub mod readers;
pub mod throttle;
pub mod users;
pub mod verify_events;

use std::time::Duration;

use sqlx::{
    any::{install_default_drivers, AnyPoolOptions},
    AnyConnection, AnyPool, Connection, Executor,
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

    /// How many connections the hot reads get besides the pool ([`readers::Readers`]): half
    /// as many again.
    pub fn readers(&self) -> usize {
        (self.max_connections as usize).div_ceil(2)
    }
}

/// A PostgreSQL connection idle at least this long is pinged before it is used (HikariCP
/// bypasses its check for connections used in the last 500 ms too). One used more recently
/// that the server has just dropped fails its query, as it would had the server gone
/// during the query: the request is answered with an error.
pub const PING_AFTER_IDLE: Duration = Duration::from_millis(500);

/// How long a request waits for a connection before it fails.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens a connection pool with the default settings (the tests' and the bench's).
#[cfg(any(test, feature = "testing"))]
pub async fn connect(database_url: &str) -> Result<AnyPool, sqlx::Error> {
    connect_with(database_url, PoolSettings::default_for(database_url)).await
}

/// How each of the app's connections is opened and set up: the URL (a SQLite file is
/// created if missing), then SQLite's WAL mode, lock wait and foreign keys, or
/// PostgreSQL's statement timeout. Not `Debug`: its URL can hold the database's password.
#[derive(Clone)]
pub struct ConnectionSetup {
    url: String,
    is_sqlite: bool,
    /// SQLite: how long a statement waits for the write lock.
    busy_ms: u128,
    /// PostgreSQL: `statement_timeout`, if any.
    timeout_ms: Option<u128>,
}

impl ConnectionSetup {
    pub fn new(database_url: &str, statement_timeout: Option<Duration>) -> ConnectionSetup {
        let is_sqlite = database_url.starts_with("sqlite:");
        let timeout_ms = statement_timeout.map(|t| t.as_millis());
        let url = if is_sqlite && !database_url.contains("mode=") {
            let sep = if database_url.contains('?') { '&' } else { '?' };
            format!("{database_url}{sep}mode=rwc")
        } else {
            database_url.to_string()
        };
        ConnectionSetup {
            url,
            is_sqlite,
            busy_ms: timeout_ms.unwrap_or(60_000),
            timeout_ms,
        }
    }

    /// A new connection, set up.
    pub async fn open(&self) -> sqlx::Result<AnyConnection> {
        install_default_drivers();
        let mut conn = AnyConnection::connect(&self.url).await?;
        self.set_up(&mut conn).await?;
        Ok(conn)
    }

    /// What every new connection runs first.
    async fn set_up(&self, conn: &mut AnyConnection) -> sqlx::Result<()> {
        if self.is_sqlite {
            conn.execute(
                format!(
                    "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = {}; \
                     PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
                    self.busy_ms
                )
                .as_str(),
            )
            .await?;
        } else if let Some(ms) = self.timeout_ms {
            conn.execute(format!("SET statement_timeout = {ms}").as_str())
                .await?;
        }
        Ok(())
    }
}

/// Opens a connection pool. A SQLite file is created if missing and runs in WAL mode;
/// every PostgreSQL connection has the statement timeout set.
pub async fn connect_with(
    database_url: &str,
    settings: PoolSettings,
) -> Result<AnyPool, sqlx::Error> {
    install_default_drivers();
    let setup = ConnectionSetup::new(database_url, settings.statement_timeout);
    let options = AnyPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        // sqlx's own test pings before every use: a second round trip per query on
        // PostgreSQL, one more trip to the worker thread on SQLite (a file in this process,
        // never dropped by a server).
        .test_before_acquire(false);
    let options = if setup.is_sqlite {
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
    let url = setup.url.clone();
    options
        .after_connect(move |conn, _meta| {
            let setup = setup.clone();
            Box::pin(async move { setup.set_up(conn).await })
        })
        .connect(&url)
        .await
}

/// The hot write transactions' own connection (a callback's nonce, decision and audit
/// rows; a decision), on SQLite: SQLite takes one writer at a time, and writers on several
/// connections wait for each other in its busy handler, which sleeps (1, 2, 5 … 100 ms),
/// so under load most of a write's time was sleep. With one writer connection they queue
/// in its pool instead and each starts the moment the last one commits. `None` on
/// PostgreSQL, which takes many writers: they go to the app's pool.
pub async fn own_writer(
    database_url: &str,
    settings: PoolSettings,
) -> Result<Option<AnyPool>, sqlx::Error> {
    if database_url.starts_with("sqlite:") {
        let one = PoolSettings {
            max_connections: 1,
            ..settings
        };
        connect_with(database_url, one).await.map(Some)
    } else {
        Ok(None)
    }
}

/// The migrations in `migrations/`, embedded in the binary.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Applies the migrations in `migrations/` that have not run yet.
pub async fn migrate(pool: &AnyPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}

/// Applies the migrations over a connection of their own, without the statement timeout
/// (a migration may rightly take longer than any request). Several instances starting at
/// once take turns: on PostgreSQL the migrator holds an advisory lock, on SQLite the
/// write lock (waited for up to a minute). A fresh SQLite file gets them all in one
/// transaction, as one schema ([`migrate_fresh_sqlite`], [`SQLITE_SCHEMA`]).
pub async fn migrate_at(database_url: &str) -> anyhow::Result<()> {
    let settings = PoolSettings {
        max_connections: 1,
        statement_timeout: None,
    };
    let pool = connect_with(database_url, settings).await?;
    let fresh = if database_url.starts_with("sqlite:") {
        let mut conn = pool.acquire().await?;
        migrate_fresh_sqlite(&mut conn, SQLITE_SCHEMA).await?
    } else {
        false
    };
    let applied = if fresh { Ok(()) } else { migrate(&pool).await };
    pool.close().await;
    Ok(applied?)
}

/// sqlx's table of applied migrations, as its SQLite migrator creates it.
const SQLITE_MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS _sqlx_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    success BOOLEAN NOT NULL,
    checksum BLOB NOT NULL,
    execution_time BIGINT NOT NULL
)";

/// On a SQLite database that has never been migrated, every migration in one transaction
/// (sqlx's migrator gives each its own, and two commits: most of a cold start on a fresh
/// file), as `schema` when it holds them all, recorded in `_sqlx_migrations` row for row
/// as sqlx records them, so that its migrator takes them as applied from then on. Whether it did: `false` when the database
/// had been migrated before (the write lock is held from the check to the commit, so an
/// instance starting beside this one either sees all of them or waits and then sees them).
async fn migrate_fresh_sqlite(
    conn: &mut sqlx::AnyConnection,
    schema: &str,
) -> Result<bool, sqlx::Error> {
    // One marked to run outside a transaction is left to sqlx's migrator.
    if MIGRATOR.iter().any(|m| m.no_tx) {
        return Ok(false);
    }
    conn.execute("BEGIN IMMEDIATE").await?;
    let applied = apply_all_to_fresh(conn, schema).await;
    let end = if matches!(applied, Ok(true)) {
        "COMMIT"
    } else {
        "ROLLBACK"
    };
    let ended = conn.execute(end).await;
    let applied = applied?;
    ended?;
    Ok(applied)
}

/// Every migration's schema on SQLite as SQLite keeps it (`sqlite_master`'s statements, in
/// their order), then the rows the migrations insert: a fresh file gets it in one go
/// instead of each migration in turn (each ALTER TABLE makes SQLite read and check the
/// whole schema again: about two thirds of a fresh file's migrating). Its first line
/// names the migrations it holds ([`migrations_key`]); written from the migrations themselves by the test
/// `the_sqlite_schema_file_is_what_the_migrations_make` with `PAYFRIEND_WRITE_SQLITE_SCHEMA=1`
/// (the test fails when a migration is added and the file is not written again).
const SQLITE_SCHEMA: &str = include_str!("sqlite_schema.sql");

/// How a schema file's first line begins, before the migrations' key.
const SCHEMA_FILE_KEY: &str = "-- after migration ";

/// The migrations a schema file must name to be used: the last one's version and a
/// fingerprint (FNV-1a) of every one's checksum, so that a migration edited after the
/// file was written (the newest, while it is being written) finds the file behind it.
fn migrations_key() -> String {
    let (mut last, mut hash) = (0, 0xcbf2_9ce4_8422_2325_u64);
    for migration in MIGRATOR
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
    {
        last = migration.version;
        for byte in migration.checksum.iter() {
            hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{last} {hash:016x}")
}

/// The migrations' key a schema like [`SQLITE_SCHEMA`] names in its first line.
fn schema_file_key(schema: &str) -> Option<&str> {
    schema
        .lines()
        .next()?
        .strip_prefix(SCHEMA_FILE_KEY)?
        .split(':')
        .next()
}

/// The body of [`migrate_fresh_sqlite`], inside its transaction: `schema` at once when it
/// holds every migration ([`SQLITE_SCHEMA`]; each migration in turn otherwise), then
/// sqlx's record of them.
async fn apply_all_to_fresh(
    conn: &mut sqlx::AnyConnection,
    schema: &str,
) -> Result<bool, sqlx::Error> {
    let migrated_before: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_one(&mut *conn)
    .await?;
    if migrated_before > 0 {
        return Ok(false);
    }
    conn.execute(SQLITE_MIGRATIONS_TABLE).await?;
    let migrations: Vec<_> = MIGRATOR
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .collect();
    let at_once = schema_file_key(schema) == Some(migrations_key().as_str());
    let mut record = Vec::with_capacity(migrations.len());
    if at_once {
        let started = std::time::Instant::now();
        conn.execute(schema).await?;
        // The one time the schema took, on each migration's row.
        let took = started.elapsed();
        record.extend(migrations.iter().map(|m| (*m, took)));
    } else {
        for migration in &migrations {
            let started = std::time::Instant::now();
            conn.execute(&*migration.sql).await?;
            record.push((*migration, started.elapsed()));
        }
    }
    if record.is_empty() {
        return Ok(true);
    }
    // Row for row as sqlx's migrator records them.
    let sql = format!(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES {}",
        values_rows(record.len(), 5)
    );
    let mut insert = sqlx::query(&sql);
    for (migration, took) in record {
        insert = insert
            .bind(migration.version)
            .bind(&*migration.description)
            .bind(true)
            .bind(migration.checksum.to_vec())
            .bind(i64::try_from(took.as_nanos()).unwrap_or(i64::MAX));
    }
    insert.execute(&mut *conn).await?;
    Ok(true)
}

/// The placeholders of a multi-row `VALUES`: `rows` tuples of `width` parameters each,
/// numbered from `$1` in order: `($1, $2), ($3, $4)` for two rows of two.
pub(crate) fn values_rows(rows: usize, width: usize) -> String {
    let tuples: Vec<String> = (0..rows)
        .map(|row| {
            let params: Vec<String> = (1..=width)
                .map(|col| format!("${}", row * width + col))
                .collect();
            format!("({})", params.join(", "))
        })
        .collect();
    tuples.join(", ")
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

    #[test]
    fn multi_row_values_number_their_parameters_row_by_row() {
        assert_eq!(values_rows(1, 3), "($1, $2, $3)");
        assert_eq!(values_rows(2, 2), "($1, $2), ($3, $4)");
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

    /// What sqlx's migrator reads back: the schema and its record of the migrations.
    async fn schema_and_record(
        url: &str,
    ) -> (Vec<(String, String)>, Vec<(i64, String, i64, Vec<u8>)>) {
        let pool = connect(url).await.expect("open SQLite");
        let schema = sqlx::query_as(
            "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name",
        )
        .fetch_all(&pool)
        .await
        .expect("schema");
        let record = sqlx::query_as(
            "SELECT version, description, CAST(success AS INTEGER), checksum FROM _sqlx_migrations \
             ORDER BY version",
        )
        .fetch_all(&pool)
        .await
        .expect("record");
        (schema, record)
    }

    /// The statements that make a fresh SQLite file what `pool`'s migrations made it, as
    /// [`SQLITE_SCHEMA`] holds them: the migrations' key, the schema as `sqlite_master`
    /// keeps it (in its order: a table before its indexes), then the tables' rows.
    async fn schema_file_of(pool: &AnyPool) -> String {
        let mut file = format!(
            "{SCHEMA_FILE_KEY}{}: the schema every migration makes on SQLite, then the \
             rows they insert.\n-- Written by the test the_sqlite_schema_file_is_what_the_\
             migrations_make\n-- (PAYFRIEND_WRITE_SQLITE_SCHEMA=1); not to be edited.\n",
            migrations_key()
        );
        let statements: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL \
             AND name <> '_sqlx_migrations' ORDER BY rowid",
        )
        .fetch_all(pool)
        .await
        .expect("schema");
        for (_, _, sql) in &statements {
            file.push_str(sql);
            file.push_str(";\n");
        }
        for (kind, table, _) in &statements {
            if kind != "table" {
                continue;
            }
            let columns: Vec<String> =
                sqlx::query_scalar("SELECT name FROM pragma_table_info($1) ORDER BY cid")
                    .bind(table)
                    .fetch_all(pool)
                    .await
                    .expect("columns");
            let values: Vec<String> = columns.iter().map(|c| format!("quote({c})")).collect();
            let rows: Vec<String> = sqlx::query_scalar(&format!(
                "SELECT 'INSERT INTO {table} ({}) VALUES (' || {} || ');' FROM {table} ORDER BY 1",
                columns.join(", "),
                values.join(" || ', ' || ")
            ))
            .fetch_all(pool)
            .await
            .expect("rows");
            for row in rows {
                file.push_str(&row);
                file.push('\n');
            }
        }
        file
    }

    /// A migration added without writing the schema file again fails here (a fresh file
    /// would then get each migration in turn: correct, and slower).
    #[tokio::test]
    async fn the_sqlite_schema_file_is_what_the_migrations_make() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let pool = sqlite_pool(&dir).await;
        migrate(&pool).await.expect("migrated by sqlx");
        let made = schema_file_of(&pool).await;
        if std::env::var_os("PAYFRIEND_WRITE_SQLITE_SCHEMA").is_some() {
            let path = concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/src/server/db/sqlite_schema.sql"
            );
            std::fs::write(path, &made).expect("schema file written");
            return;
        }
        assert_eq!(
            SQLITE_SCHEMA, made,
            "the migrations changed: write src/server/db/sqlite_schema.sql again \
             (PAYFRIEND_WRITE_SQLITE_SCHEMA=1 cargo test --no-default-features --features \
             ssr,testing --lib the_sqlite_schema_file)"
        );
        assert_eq!(
            schema_file_key(SQLITE_SCHEMA),
            Some(migrations_key().as_str())
        );
    }

    /// A schema file older than the migrations is not used: each migration runs in turn.
    #[tokio::test]
    async fn a_fresh_sqlite_file_gets_each_migration_when_the_schema_file_is_behind() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let ours = format!("sqlite:{}", dir.path().join("ours.db").display());
        let sqlx_s = format!("sqlite:{}", dir.path().join("sqlx.db").display());
        let pool = connect(&ours).await.expect("open SQLite");
        let mut conn = pool.acquire().await.expect("connection");
        // A file that names the last migration with other checksums (one of them edited
        // since), and would make a wrong schema if it were used.
        let last = MIGRATOR
            .iter()
            .map(|m| m.version)
            .max()
            .expect("migrations");
        let behind =
            format!("{SCHEMA_FILE_KEY}{last} 0000000000000000: old\nCREATE TABLE wrong (a);");
        assert!(migrate_fresh_sqlite(&mut conn, &behind)
            .await
            .expect("migrated"));
        drop(conn);
        let sqlx_pool = connect(&sqlx_s).await.expect("open SQLite");
        migrate(&sqlx_pool).await.expect("migrated by sqlx");
        assert_eq!(
            schema_file_of(&pool).await,
            schema_file_of(&sqlx_pool).await
        );
        assert_eq!(
            schema_and_record(&ours).await.1,
            schema_and_record(&sqlx_s).await.1
        );
    }

    #[tokio::test]
    async fn a_fresh_sqlite_file_is_migrated_at_once_as_sqlx_would_have() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let ours = format!("sqlite:{}", dir.path().join("ours.db").display());
        let sqlx_s = format!("sqlite:{}", dir.path().join("sqlx.db").display());
        migrate_at(&ours)
            .await
            .expect("migrated in one transaction");
        let pool = connect(&sqlx_s).await.expect("open SQLite");
        migrate(&pool).await.expect("migrated by sqlx");
        pool.close().await;
        let (schema, record) = schema_and_record(&ours).await;
        assert_eq!(
            (schema.clone(), record.clone()),
            schema_and_record(&sqlx_s).await
        );
        // The same statements in the same order, and the same rows.
        let (a, b) = (
            connect(&ours).await.expect("open SQLite"),
            connect(&sqlx_s).await.expect("open SQLite"),
        );
        assert_eq!(schema_file_of(&a).await, schema_file_of(&b).await);
        a.close().await;
        b.close().await;
        assert_eq!(record.len(), MIGRATOR.iter().count());
        // sqlx's migrator takes them as applied (a checksum or a version of its own
        // record that differed would be refused as a changed or missing migration).
        let pool = connect(&ours).await.expect("open SQLite");
        migrate(&pool).await.expect("sqlx finds nothing to apply");
        pool.close().await;
        assert_eq!(schema_and_record(&ours).await, (schema, record));
        // A second start takes the migrator's path and finds nothing to do either.
        migrate_at(&ours).await.expect("migrated again");
    }

    #[tokio::test]
    async fn sqlite_connections_are_used_without_a_ping_first() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let pool = sqlite_pool(&dir).await;
        assert!(!pool.options().get_test_before_acquire());
    }
}
