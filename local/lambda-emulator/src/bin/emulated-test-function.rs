//! A function for the emulator's own tests (`tests/service.rs`), run as Lambda runs a
//! function. Its event says what to do: `{"sleep_ms": N}` waits first; `{"fail": true}`
//! reports an error; `{"after_reply": {"ms": N, "file": PATH}}` leaves a task behind that
//! writes PATH N ms after the reply, which shows whether the environment runs after its
//! response (on Lambda it does not: it is frozen).

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

async fn handle(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let e = event.payload;
    if let Some(ms) = e["sleep_ms"].as_u64() {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
    if e["fail"] == true {
        return Err("asked to fail".into());
    }
    if let (Some(ms), Some(file)) = (e["after_reply"]["ms"].as_u64(), e["after_reply"]["file"].as_str()) {
        let file = file.to_owned();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            let _ = std::fs::write(file, "ran");
        });
    }
    Ok(json!({ "pid": std::process::id(), "region": std::env::var("AWS_REGION").unwrap_or_default() }))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    if std::env::var_os("EXIT_AT_INIT").is_some() {
        return Err("asked to fail at init".into());
    }
    lambda_runtime::run(service_fn(handle)).await
}
