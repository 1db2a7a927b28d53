//! Several instances on one database: background work is done once, not once per
//! instance. Two apps share one database (SQLite file or PostgreSQL) and many tasks run
//! their sweeps at the same moment.

use crate::support::audit_rows;
use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};

use async_trait::async_trait;
use payfriend::model::{PaymentId, UserId, Via};
use payfriend::server::{
    self,
    config::ProviderKind,
    providers::{Approval, BoundCode, NewApprovalRequest, Person, Phone, Provider, ProviderError},
    AppState,
};
use payfriend::shared::sid::VerificationSid;
use payfriend::testing::domain::payments::{expire_due, reconcile};

use crate::support::{insert_pending_payment, spawn_app_with, verified_user, TestApp};

/// Two apps on one fresh database. Their own sweeps run once at start only, so what
/// the tests count is what the tasks did.
async fn two_instances() -> (TestApp, TestApp) {
    const QUIET: (&str, &str) = ("SWEEP_INTERVAL_SECS", "3600");
    let a = spawn_app_with(&[QUIET]).await;
    let url = a.state.config.database_url.clone();
    let b = spawn_app_with(&[QUIET, ("DATABASE_URL", url.as_str())]).await;
    (a, b)
}

/// `count` pending payments of one user, created a minute ago, with push requests.
async fn pending_payments(app: &TestApp, count: usize) -> (UserId, Vec<PaymentId>) {
    let (user_id, _) = verified_user(app, "a password").await;
    let mut ids = Vec::new();
    for n in 0..count {
        let uuid = uuid::Uuid::new_v4().to_string();
        ids.push(insert_pending_payment(&app.state, &user_id, 100 + n as i64, &uuid).await);
    }
    sqlx::query("UPDATE payments SET created_at = created_at - 60 WHERE user_id = $1")
        .bind(&user_id)
        .execute(&app.state.db)
        .await
        .expect("backdate");
    (user_id, ids)
}

/// Runs `job` on both instances from `tasks` tasks at once.
async fn at_once<F, Fut>(a: &TestApp, b: &TestApp, tasks: usize, job: F)
where
    F: Fn(AppState) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let handles: Vec<_> = (0..tasks)
        .map(|n| {
            let state = if n % 2 == 0 { &a.state } else { &b.state };
            tokio::spawn(job(state.clone()))
        })
        .collect();
    for h in handles {
        h.await.expect("task");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_expire_each_due_payment_once() {
    let (a, b) = two_instances().await;
    let (user_id, ids) = pending_payments(&a, 12).await;
    sqlx::query("UPDATE payments SET expires_at = $1 WHERE user_id = $2")
        .bind(payfriend::testing::clock::now() - 1)
        .bind(&user_id)
        .execute(&a.state.db)
        .await
        .expect("make them due");

    at_once(&a, &b, 16, |state| async move { expire_due(&state).await }).await;

    for id in &ids {
        let rows = audit_rows(&a, id, "expiry").await.len();
        assert_eq!(rows, 1, "expiry rows for {id}");
        let status: String = sqlx::query_scalar("SELECT status FROM payments WHERE id = $1")
            .bind(id)
            .fetch_one(&b.state.db)
            .await
            .expect("status");
        assert_eq!(status, "expired");
    }
}

/// The provider the app was given, counting the status requests made through it.
struct CountingProvider {
    inner: Arc<dyn Provider>,
    status_requests: Arc<AtomicUsize>,
}

#[async_trait]
impl Provider for CountingProvider {
    fn kind(&self) -> ProviderKind {
        self.inner.kind()
    }
    async fn start_verification(
        &self,
        phone: Phone<'_>,
        via: Via,
    ) -> Result<Option<VerificationSid>, ProviderError> {
        self.inner.start_verification(phone, via).await
    }
    async fn check_verification(
        &self,
        phone: Phone<'_>,
        handle: Option<&VerificationSid>,
        code: &str,
    ) -> Result<(), ProviderError> {
        self.inner.check_verification(phone, handle, code).await
    }
    async fn register_user(
        &self,
        email: &str,
        phone: Phone<'_>,
    ) -> Result<Option<payfriend::server::providers::authy::AuthyId>, ProviderError> {
        self.inner.register_user(email, phone).await
    }
    async fn create_approval_request(
        &self,
        person: Person<'_>,
        request: &NewApprovalRequest,
    ) -> Result<Option<String>, ProviderError> {
        self.inner.create_approval_request(person, request).await
    }
    async fn approval(&self, user_id: &UserId, uuid: &str) -> Result<Approval, ProviderError> {
        self.status_requests.fetch_add(1, Ordering::SeqCst);
        self.inner.approval(user_id, uuid).await
    }
    async fn send_sms_token(
        &self,
        person: Person<'_>,
        code: BoundCode<'_>,
        previous: Option<&VerificationSid>,
    ) -> Result<Option<VerificationSid>, ProviderError> {
        self.inner.send_sms_token(person, code, previous).await
    }
    async fn verify_token(
        &self,
        person: Person<'_>,
        token: &str,
        code: BoundCode<'_>,
        handle: Option<&VerificationSid>,
    ) -> Result<(), ProviderError> {
        self.inner.verify_token(person, token, code, handle).await
    }
    async fn cancel_code(&self, handle: &VerificationSid) -> Result<(), ProviderError> {
        self.inner.cancel_code(handle).await
    }
}

fn counting(app: &mut TestApp, status_requests: &Arc<AtomicUsize>) {
    let kind = app.state.providers.default;
    let inner = app.state.providers.get(kind).expect("a provider").clone();
    app.state.make_mut().providers.set(
        kind,
        Arc::new(CountingProvider {
            inner,
            status_requests: status_requests.clone(),
        }),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_ask_the_provider_once_per_pending_payment() {
    let (mut a, mut b) = two_instances().await;
    let status_requests = Arc::new(AtomicUsize::new(0));
    counting(&mut a, &status_requests);
    counting(&mut b, &status_requests);
    let (_, ids) = pending_payments(&a, 15).await;

    at_once(&a, &b, 16, |state| async move { reconcile(&state).await }).await;
    assert_eq!(
        status_requests.load(Ordering::SeqCst),
        ids.len(),
        "one status request per pending payment, whichever instance made it"
    );

    // Claimed: the next sweeps leave them alone until the claim runs out.
    at_once(&a, &b, 4, |state| async move { reconcile(&state).await }).await;
    assert_eq!(status_requests.load(Ordering::SeqCst), ids.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_instance_at_a_time_holds_the_clean_up() {
    let (a, b) = two_instances().await;
    let now = payfriend::testing::clock::now();
    let handles: Vec<_> = (0..16)
        .map(|n| {
            let state = if n % 2 == 0 {
                a.state.clone()
            } else {
                b.state.clone()
            };
            // Each task asks for the same job's lease at the same moment.
            tokio::spawn(async move {
                server::holds_lease(&state, "test-job", now, 30)
                    .await
                    .then(|| state.instance.clone())
            })
        })
        .collect();
    let mut winners = std::collections::HashSet::new();
    for h in handles {
        if let Some(instance) = h.await.expect("task") {
            winners.insert(instance);
        }
    }
    assert_eq!(winners.len(), 1, "one instance holds the lease");
    let loser = if winners.contains(&a.state.instance) {
        &b
    } else {
        &a
    };
    assert!(!server::holds_lease(&loser.state, "test-job", now + 29, 30).await);
    assert!(
        server::holds_lease(&loser.state, "test-job", now + 30, 30).await,
        "an expired lease is taken over"
    );
}

#[tokio::test]
async fn the_pool_has_the_configured_size_and_statement_timeout() {
    let app = spawn_app_with(&[
        ("DATABASE_MAX_CONNECTIONS", "3"),
        ("DATABASE_STATEMENT_TIMEOUT_SECS", "7"),
    ])
    .await;
    let db = &app.state.db;
    assert_eq!(db.options().get_max_connections(), 3);
    if app.state.config.database_url.starts_with("sqlite:") {
        let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
            .fetch_one(db)
            .await
            .expect("busy timeout");
        assert_eq!(busy, 7000);
    } else {
        let timeout: String = sqlx::query_scalar("SHOW statement_timeout")
            .fetch_one(db)
            .await
            .expect("statement timeout");
        assert_eq!(timeout, "7s");
    }
}
