//! The AWS endpoint of the environments (their `AWS_ENDPOINT_URL`): each call is named
//! (service, IAM action, resource ARN, from the SigV4 scope, the `X-Amz-Target` or path,
//! and the body), checked against the calling function's permissions, recorded, and then
//! forwarded to an emulator, or refused as AWS refuses it (`AccessDeniedException`).

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

use crate::FunctionConfig;

/// Who is calling: the function, and which of its environments.
pub struct Caller<'a> {
    pub function: &'a FunctionConfig,
    pub environment: u64,
}

/// One IAM-level call: a request may be several (a transaction names one action per item).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsCall {
    pub service: String,
    /// `service:Action`.
    pub action: String,
    pub resource: String,
    /// Why the deployed stack would refuse it, if it would.
    pub denied: Option<String>,
}

impl AwsCall {
    pub fn to_json(&self) -> Value {
        json!({ "service": self.service, "action": self.action, "resource": self.resource, "denied": self.denied })
    }
}

#[async_trait]
pub trait AwsEndpoint: Send + Sync {
    /// Answers a request an environment sent to its AWS endpoint, and says what it was.
    async fn call(&self, caller: &Caller<'_>, request: http::Request<Bytes>) -> (http::Response<Bytes>, Vec<AwsCall>);
}

/// Decides whether a function may make a call: `Err` says why not, as AWS would.
pub type Permission = Arc<dyn Fn(&FunctionConfig, &AwsCall) -> Result<(), String> + Send + Sync>;

pub struct ProxyConfig {
    pub region: String,
    pub account: String,
    /// The WebSocket API whose `@connections` the functions call (for the ARN).
    pub api_id: String,
    /// Where every service goes unless named below (an emulator: moto's server).
    pub default_upstream: Option<String>,
    /// `@connections` (`execute-api`): the gateway's management endpoint, without stage.
    pub connections_upstream: Option<String>,
    /// The access key the gateway's `@connections` admits: a call this proxy has checked
    /// against the function's policies is forwarded signed as the gateway's (its signature
    /// is not re-computed; the gateway checks the key alone).
    pub connections_access_key: Option<String>,
    /// The Lambda Invoke API (for tools registered as Lambda functions).
    pub lambda_upstream: Option<String>,
    /// The service's own functions (a task worker invoked by the functions that create
    /// tasks): an invoke of one of them is served here; other functions go upstream.
    pub own_functions: Option<Arc<crate::InvokeApi>>,
    pub permission: Permission,
}

/// Names, checks, records and forwards the environments' AWS calls.
pub struct AwsProxy {
    config: ProxyConfig,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl AwsProxy {
    pub fn new(config: ProxyConfig) -> AwsProxy {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        AwsProxy { config, client: Client::builder(TokioExecutor::new()).build(connector) }
    }

    /// What IAM sees of a request.
    pub fn calls_of(&self, request: &http::Request<Bytes>) -> (String, Vec<(String, String)>) {
        name_calls(&self.config, request)
    }

    async fn forward(&self, service: &str, request: http::Request<Bytes>) -> http::Response<Bytes> {
        let c = &self.config;
        if let (Some(own), "lambda") = (&c.own_functions, service)
            && let Some(response) = own.handle(&request).await
        {
            return response;
        }
        let (upstream, path) = match service {
            "execute-api" => {
                // `/{stage}/@connections/{id}` at the API; `/@connections/{id}` at the gateway.
                let path = request.uri().path();
                let path = path.find("/@connections").map_or(path, |i| &path[i..]).to_owned();
                (c.connections_upstream.as_deref(), path)
            }
            "lambda" => (c.lambda_upstream.as_deref(), path_and_query(&request)),
            _ => (c.default_upstream.as_deref(), path_and_query(&request)),
        };
        let Some(upstream) = upstream else {
            return error(502, "ServiceUnavailable", &format!("no local endpoint for {service}"), false);
        };
        let uri = format!("{}{path}", upstream.trim_end_matches('/'));
        let (parts, body) = request.into_parts();
        let mut out = http::Request::builder().method(parts.method).uri(&uri);
        let vouched = if service == "execute-api" { c.connections_access_key.as_deref() } else { None };
        for (name, value) in &parts.headers {
            if name == http::header::HOST {
                continue;
            }
            match (vouched, value.to_str()) {
                (Some(key), Ok(text)) if name == http::header::AUTHORIZATION => {
                    out = out.header(name, with_access_key(text, key));
                }
                _ => out = out.header(name, value),
            }
        }
        let Ok(out) = out.body(Full::new(body)) else { return error(500, "InternalFailure", "bad request", false) };
        match self.client.request(out).await {
            Ok(response) => {
                let (parts, body) = response.into_parts();
                let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                http::Response::from_parts(parts, body)
            }
            Err(e) => error(502, "ServiceUnavailable", &format!("{uri}: {e}"), false),
        }
    }
}

#[async_trait]
impl AwsEndpoint for AwsProxy {
    async fn call(&self, caller: &Caller<'_>, request: http::Request<Bytes>) -> (http::Response<Bytes>, Vec<AwsCall>) {
        let (service, named) = self.calls_of(&request);
        let calls: Vec<AwsCall> = named
            .into_iter()
            .map(|(action, resource)| {
                let mut call = AwsCall { service: service.clone(), action, resource, denied: None };
                call.denied = (self.config.permission)(caller.function, &call).err();
                call
            })
            .collect();
        if let Some(denied) = calls.iter().find_map(|c| c.denied.clone()) {
            let json_protocol = request.headers().contains_key("x-amz-target");
            return (
                error(if json_protocol { 400 } else { 403 }, "AccessDeniedException", &denied, json_protocol),
                calls,
            );
        }
        (self.forward(&service, request).await, calls)
    }
}

/// A SigV4 `Authorization` header with its credential's access key id replaced.
fn with_access_key(authorization: &str, key: &str) -> String {
    match authorization.split_once("Credential=") {
        Some((head, credential)) => {
            let rest = credential.split_once('/').map_or("", |(_, rest)| rest);
            format!("{head}Credential={key}/{rest}")
        }
        None => authorization.to_owned(),
    }
}

fn path_and_query(request: &http::Request<Bytes>) -> String {
    request.uri().path_and_query().map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned())
}

/// An AWS error response: JSON protocols carry the type in `__type`, REST ones in
/// `x-amzn-ErrorType`; both in the header.
fn error(status: u16, kind: &str, message: &str, json_protocol: bool) -> http::Response<Bytes> {
    let body = if json_protocol {
        json!({ "__type": format!("com.amazonaws.local#{kind}"), "message": message })
    } else {
        json!({ "Message": message, "message": message })
    };
    let mut r = http::Response::new(Bytes::from(body.to_string()));
    *r.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::FORBIDDEN);
    if let Ok(v) = http::HeaderValue::from_str(kind) {
        r.headers_mut().insert("x-amzn-errortype", v);
    }
    r.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/x-amz-json-1.0"));
    r
}

/// The signing service of a request (its SigV4 credential scope), and the IAM actions and
/// resources it asks for.
fn name_calls(c: &ProxyConfig, request: &http::Request<Bytes>) -> (String, Vec<(String, String)>) {
    let headers = request.headers();
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
    // `AWS4-HMAC-SHA256 Credential=KEY/DATE/REGION/SERVICE/aws4_request, ...`
    let scoped = text("authorization")
        .split("Credential=")
        .nth(1)
        .and_then(|c| c.split(',').next())
        .and_then(|c| c.split('/').nth(3))
        .map(str::to_owned);
    let target = text("x-amz-target");
    let service = scoped.unwrap_or_else(|| target.split('.').next().unwrap_or("unknown").to_ascii_lowercase());
    let body: Value = serde_json::from_slice(request.body()).unwrap_or(Value::Null);
    let arn = |svc: &str, rest: &str| format!("arn:aws:{svc}:{}:{}:{rest}", c.region, c.account);
    let operation = target.rsplit('.').next().unwrap_or("").to_owned();
    let calls = match service.as_str() {
        "dynamodb" => dynamodb_calls(&operation, &body, &|table: &str| arn("dynamodb", &format!("table/{table}"))),
        "secretsmanager" => {
            let id = body["SecretId"].as_str().unwrap_or("*");
            let resource =
                if id.starts_with("arn:") { id.to_owned() } else { arn("secretsmanager", &format!("secret:{id}")) };
            vec![(format!("secretsmanager:{operation}"), resource)]
        }
        "execute-api" => {
            let path = request.uri().path();
            let tail = path.find("/@connections").map_or(path, |i| &path[i..]);
            let stage = path.trim_start_matches('/').split('/').next().unwrap_or("");
            let method = request.method().as_str();
            vec![(
                "execute-api:ManageConnections".to_owned(),
                arn("execute-api", &format!("{}/{stage}/{method}{tail}", c.api_id)),
            )]
        }
        "lambda" => {
            // `/2015-03-31/functions/{name}/invocations` (a name given as an ARN arrives
            // percent-encoded)
            let name = percent_decode(request.uri().path().split('/').nth(3).unwrap_or("*"));
            let resource = if name.starts_with("arn:") { name } else { arn("lambda", &format!("function:{name}")) };
            vec![("lambda:InvokeFunction".to_owned(), resource)]
        }
        _ => {
            // Query protocols (ElastiCache, STS) name the action in the form body.
            let form = String::from_utf8_lossy(request.body());
            let action =
                form.split('&').find_map(|pair| pair.strip_prefix("Action=")).map(str::to_owned).unwrap_or(operation);
            vec![(format!("{service}:{action}"), "*".to_owned())]
        }
    };
    (service, calls)
}

/// `%3A` -> `:` (bytes that do not decode are kept as they are).
pub(crate) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// DynamoDB's IAM actions: one per item of a transaction, the index ARN for index queries.
fn dynamodb_calls(operation: &str, body: &Value, table_arn: &dyn Fn(&str) -> String) -> Vec<(String, String)> {
    let table = |b: &Value| table_arn(b["TableName"].as_str().unwrap_or("*"));
    match operation {
        "TransactWriteItems" | "TransactGetItems" => body["TransactItems"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| item.as_object().and_then(|m| m.iter().next()))
            .map(|(kind, inner)| {
                let action = match kind.as_str() {
                    "Put" => "PutItem",
                    "Update" => "UpdateItem",
                    "Delete" => "DeleteItem",
                    "ConditionCheck" => "ConditionCheckItem",
                    _ => "GetItem",
                };
                (format!("dynamodb:{action}"), table(inner))
            })
            .collect(),
        "BatchGetItem" | "BatchWriteItem" => body["RequestItems"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, _)| (format!("dynamodb:{operation}"), table_arn(name)))
            .collect(),
        _ => {
            let mut resource = table(body);
            if let Some(index) = body["IndexName"].as_str() {
                resource = format!("{resource}/index/{index}");
            }
            vec![(format!("dynamodb:{operation}"), resource)]
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use bytes::Bytes;

    use super::{ProxyConfig, name_calls};

    fn config() -> ProxyConfig {
        ProxyConfig {
            region: "us-east-1".into(),
            account: "123456789012".into(),
            api_id: "abc123defg".into(),
            default_upstream: None,
            connections_upstream: None,
            connections_access_key: None,
            lambda_upstream: None,
            own_functions: None,
            permission: Arc::new(|_, _| Ok(())),
        }
    }

    fn request(method: &str, path: &str, service: &str, target: Option<&str>, body: &str) -> http::Request<Bytes> {
        let mut r = http::Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("AWS4-HMAC-SHA256 Credential=AKID/20261206/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0"));
        if let Some(t) = target {
            r = r.header("x-amz-target", t);
        }
        r.body(Bytes::from(body.to_owned())).unwrap()
    }

    #[test]
    fn calls_are_named_as_iam_names_them() {
        let c = config();
        let q = request(
            "POST",
            "/",
            "dynamodb",
            Some("DynamoDB_20120810.Query"),
            r#"{"TableName":"t","IndexName":"by-x"}"#,
        );
        assert_eq!(
            name_calls(&c, &q),
            (
                "dynamodb".into(),
                vec![("dynamodb:Query".into(), "arn:aws:dynamodb:us-east-1:123456789012:table/t/index/by-x".into())]
            )
        );
        let t = request(
            "POST",
            "/",
            "dynamodb",
            Some("DynamoDB_20120810.TransactWriteItems"),
            r#"{"TransactItems":[{"Put":{"TableName":"a"}},{"Update":{"TableName":"b"}}]}"#,
        );
        let (_, calls) = name_calls(&c, &t);
        assert_eq!(calls[0].0, "dynamodb:PutItem");
        assert_eq!(calls[1], ("dynamodb:UpdateItem".into(), "arn:aws:dynamodb:us-east-1:123456789012:table/b".into()));
        let post = request("POST", "/prod/@connections/abc%3D", "execute-api", None, "{}");
        assert_eq!(
            name_calls(&c, &post).1,
            vec![(
                "execute-api:ManageConnections".into(),
                "arn:aws:execute-api:us-east-1:123456789012:abc123defg/prod/POST/@connections/abc%3D".into()
            )]
        );
        let invoke = request("POST", "/2015-03-31/functions/mcp-tool-x/invocations", "lambda", None, "{}");
        assert_eq!(name_calls(&c, &invoke).1[0].1, "arn:aws:lambda:us-east-1:123456789012:function:mcp-tool-x");
        let by_arn = request(
            "POST",
            "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Ay/invocations",
            "lambda",
            None,
            "{}",
        );
        assert_eq!(name_calls(&c, &by_arn).1[0].1, "arn:aws:lambda:us-east-1:1:function:y");
        let secret = request(
            "POST",
            "/",
            "secretsmanager",
            Some("secretsmanager.GetSecretValue"),
            r#"{"SecretId":"arn:aws:secretsmanager:us-east-1:1:secret:k-AbCdEf"}"#,
        );
        assert_eq!(
            name_calls(&c, &secret).1,
            vec![("secretsmanager:GetSecretValue".into(), "arn:aws:secretsmanager:us-east-1:1:secret:k-AbCdEf".into())]
        );
    }

    #[test]
    fn a_vouched_call_carries_the_gateways_key_and_the_rest_of_its_credential() {
        let header = "AWS4-HMAC-SHA256 Credential=ASIALOCAL/20261207/us-east-1/execute-api/aws4_request, SignedHeaders=host, Signature=ab";
        assert_eq!(
            super::with_access_key(header, "GATEWAY"),
            "AWS4-HMAC-SHA256 Credential=GATEWAY/20261207/us-east-1/execute-api/aws4_request, SignedHeaders=host, Signature=ab"
        );
        assert_eq!(super::with_access_key("Bearer x", "GATEWAY"), "Bearer x");
    }
}
