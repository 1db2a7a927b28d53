//! Wire types and domain newtypes shared by the server and the Wasm client.
