//! The Payfriend server: configuration -> database -> router -> serve.

#[cfg(feature = "ssr")]
#[global_allocator]
static ALLOCATOR: payfriend::server::Allocator = payfriend::server::Allocator;

#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() -> std::process::ExitCode {
    use payfriend::server::{self, config::Config};

    // A missing .env is normal; the environment alone is a valid configuration.
    let _ = dotenvy::dotenv();
    server::http::telemetry::init();

    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("payfriend: configuration error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    match server::run(config).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("payfriend: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(not(feature = "ssr"))]
fn main() {
    // The Wasm client starts from `payfriend::hydrate`, not from here.
}
