//! One Tokio runtime per fuzzing thread, on a paused clock: a request that waits (a
//! countdown, a reply from the client, a timeout) reaches its deadline at once instead of
//! stalling the fuzzer.

pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    thread_local! {
        static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap_or_else(|e| panic!("runtime: {e}"));
    }
    RUNTIME.with(|rt| rt.block_on(future))
}
