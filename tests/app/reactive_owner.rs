//! A server function runs under its request's own reactive root. leptos_axum makes the
//! owner of a server function a child of whatever owner the worker thread was left with by
//! the request it ran before; a context lookup that climbed into that owner read another
//! request's contexts and, if that request ended during the climb, deadlocked the worker
//! thread (the release server stopped answering under the bench's load).

use leptos::prelude::*;
use leptos::reactive::owner::Owner;
use leptos::server_fn::ServerFn;

use crate::support::*;

/// What an earlier request left in its reactive owner.
#[derive(Clone)]
struct LeftByAnotherRequest;

/// Test only: whether a context lookup in a server function reaches an owner its request
/// did not make.
#[server(endpoint = "test_only/sees_another_request")]
async fn sees_another_request() -> Result<bool, ServerFnError> {
    Ok(use_context::<LeftByAnotherRequest>().is_some())
}

// One thread (tokio's test default): the app's tasks run on the thread whose current owner
// the test sets, as a worker thread's is left set by the request it ran before.
#[tokio::test]
async fn a_server_function_does_not_climb_into_the_owner_the_thread_ran_before() {
    let app = spawn_app().await;
    let earlier = Owner::new_root(None);
    earlier.with(|| provide_context(LeftByAnotherRequest));
    earlier.set();

    let seen: bool = app
        .client
        .post(app.url(SeesAnotherRequest::PATH))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("a boolean");

    assert!(
        !seen,
        "the server function read the earlier request's context"
    );
}
