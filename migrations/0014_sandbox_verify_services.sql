-- Verify services created over the sandbox's API (POST /Services), beside the one the app
-- is configured with.
CREATE TABLE sandbox_verify_services (
    sid TEXT PRIMARY KEY NOT NULL,
    friendly_name TEXT NOT NULL,
    code_length BIGINT NOT NULL,
    psd2_enabled BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
