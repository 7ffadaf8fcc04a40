//! One JSON line per invocation: which function and environment, cold or warm, how long
//! from the event's handout to the response's end (and init, for a cold start), the AWS
//! calls it made (with what the endpoint decided), and the metrics lines it printed
//! (CloudWatch Embedded Metric Format: the method, and the DynamoDB and Redis calls the
//! function counted itself).

use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::aws::AwsCall;

pub struct Record {
    function: String,
    environment: u64,
    cold: bool,
    request_id: String,
    handed_out: Instant,
    duration: Option<Duration>,
    init: Option<Duration>,
    error: Option<String>,
    /// One entry per AWS request, with the IAM calls it was (a transaction is several).
    aws_requests: Vec<Vec<AwsCall>>,
    metrics: Vec<Value>,
}

impl Record {
    pub(crate) fn new(function: &str, environment: u64, cold: bool, request_id: &str) -> Record {
        Record {
            function: function.to_owned(),
            environment,
            cold,
            request_id: request_id.to_owned(),
            handed_out: Instant::now(),
            duration: None,
            init: None,
            error: None,
            aws_requests: Vec::new(),
            metrics: Vec::new(),
        }
    }

    /// The response is complete (`init`: a cold start's init duration).
    pub(crate) fn complete(&mut self, init: Option<Duration>) {
        self.duration = Some(self.handed_out.elapsed());
        self.init = init;
    }

    pub(crate) fn fail(&mut self, why: &str) {
        self.duration = Some(self.handed_out.elapsed());
        self.error = Some(why.to_owned());
    }

    /// One AWS request the invocation made.
    pub(crate) fn aws_request(&mut self, calls: Vec<AwsCall>) {
        self.aws_requests.push(calls);
    }

    /// An EMF line: its metrics and the fields that say what was served (returned too).
    pub(crate) fn metrics_line(&mut self, line: &str) -> Option<Value> {
        let v = serde_json::from_str::<Value>(line).ok()?;
        {
            let keep = [
                "method",
                "transport",
                "era",
                "status",
                "error_code",
                "dynamodb_calls",
                "redis_calls",
                "latency_us",
                "principal_hash",
                "event",
            ];
            let kept: serde_json::Map<String, Value> =
                keep.iter().filter_map(|k| v.get(*k).map(|x| ((*k).to_owned(), x.clone()))).collect();
            self.metrics.push(Value::Object(kept.clone()));
            Some(Value::Object(kept))
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "function": self.function,
            "environment": self.environment,
            "cold": self.cold,
            "request_id": self.request_id,
            "duration_ms": self.duration.map(|d| d.as_secs_f64() * 1000.0),
            "init_ms": self.init.map(|d| d.as_secs_f64() * 1000.0),
            "error": self.error,
            "aws_requests": self.aws_requests.iter().map(|calls| json!({
                "service": calls.first().map(|c| c.service.clone()),
                "calls": calls.iter().map(AwsCall::to_json).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "metrics": self.metrics,
        })
    }
}

/// Where records go (nowhere without a file).
pub struct Recorder {
    file: Option<Mutex<std::fs::File>>,
}

impl Recorder {
    pub(crate) fn new(path: Option<&Path>) -> std::io::Result<Recorder> {
        let file = match path {
            Some(p) => Some(Mutex::new(std::fs::OpenOptions::new().create(true).append(true).open(p)?)),
            None => None,
        };
        Ok(Recorder { file })
    }

    pub(crate) fn write(&self, record: Record) {
        if let Some(file) = &self.file
            && let Ok(mut f) = file.lock()
        {
            let _ = writeln!(f, "{}", record.to_json());
        }
    }

    pub(crate) fn flush(&self) {
        if let Some(file) = &self.file
            && let Ok(mut f) = file.lock()
        {
            let _ = f.flush();
        }
    }
}
