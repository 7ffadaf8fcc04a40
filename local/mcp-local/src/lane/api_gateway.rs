//! The WebSocket API as the template configures it: which function each route invokes, the
//! `$connect` authorizer and its policy, and what API Gateway does with their answers.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context;
use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use lambda_emulator::{InvokeError, LambdaService};
use sam_template::iam::{self, Decision, Policy};
use sam_template::{Function, Stack};

/// API Gateway stops waiting for an integration (and an authorizer) after 29 seconds.
const INTEGRATION_TIMEOUT: Duration = Duration::from_secs(29);

/// Where the API lives, as its events name it.
#[derive(Clone, Debug)]
pub struct StageInfo {
    pub api_id: String,
    pub stage: String,
    pub region: String,
    pub account: String,
}

impl StageInfo {
    pub fn from_stack(stack: &Stack) -> anyhow::Result<StageInfo> {
        let (region, account) = (stack.settings().region.clone(), stack.settings().account.clone());
        let (api, _) =
            stack.resources_of_type("AWS::ApiGatewayV2::Api").next().context("the template has no WebSocket API")?;
        let api_id = stack.resolve_string(&json!({ "Ref": api }))?.unwrap_or_default();
        let stage = stack
            .resources_of_type("AWS::ApiGatewayV2::Stage")
            .find_map(|(_, s)| stack.resolve_string(&s["Properties"]["StageName"]).ok().flatten())
            .context("the template has no stage")?;
        Ok(StageInfo { api_id, stage, region, account })
    }

    pub fn domain(&self) -> String {
        format!("{}.execute-api.{}.amazonaws.com", self.api_id, self.region)
    }

    /// The ARN an authorizer's policy must allow for `route` (and API Gateway invokes the
    /// route's function as).
    fn method_arn(&self, route: &str) -> String {
        format!("arn:aws:execute-api:{}:{}:{}/{}/{route}", self.region, self.account, self.api_id, self.stage)
    }
}

/// The functions behind the routes, and who may invoke which function.
#[derive(Debug, Default)]
pub struct Routes {
    by_key: HashMap<String, String>,
    /// The route keys with a route response (two-way communication): API Gateway sends the
    /// integration's response body to the client.
    two_way: std::collections::HashSet<String>,
    authorizer: Option<String>,
    /// The authorizer's id (its `Ref`), for the ARN API Gateway invokes it as.
    authorizer_id: String,
    /// `AWS::Lambda::Permission`s: (function name or ARN, principal, action, source ARN).
    grants: Vec<(String, String, String, Option<String>)>,
}

impl Routes {
    pub fn from_stack(stack: &Stack, functions: &[Function]) -> anyhow::Result<Routes> {
        let function_of = |uri: &str| {
            // `arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{function arn}/invocations`
            let arn = uri.split("/functions/").nth(1).and_then(|rest| rest.strip_suffix("/invocations")).unwrap_or("");
            functions.iter().find(|f| f.arn == arn).map(|f| f.name.clone())
        };
        let by_ref = |kind: &str, id: &str, property: &str| -> anyhow::Result<Option<String>> {
            for (logical, resource) in stack.resources_of_type(kind) {
                if stack.resolve_string(&json!({ "Ref": logical }))?.as_deref() == Some(id) {
                    return Ok(stack.resolve_string(&resource["Properties"][property])?);
                }
            }
            Ok(None)
        };
        let mut routes = Routes::default();
        // The routes a `$default` route response names (by the route's id, its `Ref`).
        let mut answered = std::collections::HashSet::new();
        for (_, response) in stack.resources_of_type("AWS::ApiGatewayV2::RouteResponse") {
            let p = stack.resolve(&response["Properties"])?.unwrap_or_default();
            if sam_template::scalar_text(&p["RouteResponseKey"]) == "$default" {
                answered.insert(sam_template::scalar_text(&p["RouteId"]));
            }
        }
        for (logical, route) in stack.resources_of_type("AWS::ApiGatewayV2::Route") {
            let p = stack.resolve(&route["Properties"])?.unwrap_or_default();
            let key = sam_template::scalar_text(&p["RouteKey"]);
            // Two-way: the route selects a response (`$default`) and that response exists.
            let id = stack.resolve_string(&json!({ "Ref": logical }))?.unwrap_or_default();
            if sam_template::scalar_text(&p["RouteResponseSelectionExpression"]) == "$default" && answered.contains(&id)
            {
                routes.two_way.insert(key.clone());
            }
            let target = sam_template::scalar_text(&p["Target"]);
            let integration = target.strip_prefix("integrations/").unwrap_or(&target);
            let uri = by_ref("AWS::ApiGatewayV2::Integration", integration, "IntegrationUri")?
                .with_context(|| format!("{logical}: no integration {integration}"))?;
            let function = function_of(&uri).with_context(|| format!("{logical}: no function behind {uri}"))?;
            if p["AuthorizationType"] == "CUSTOM" {
                let id = sam_template::scalar_text(&p["AuthorizerId"]);
                let uri = by_ref("AWS::ApiGatewayV2::Authorizer", &id, "AuthorizerUri")?
                    .with_context(|| format!("{logical}: no authorizer {id}"))?;
                routes.authorizer =
                    Some(function_of(&uri).with_context(|| format!("{logical}: no function behind {uri}"))?);
                routes.authorizer_id = id;
            }
            routes.by_key.insert(key, function);
        }
        for (_, permission) in stack.resources_of_type("AWS::Lambda::Permission") {
            let p = stack.resolve(&permission["Properties"])?.unwrap_or_default();
            let text = |k: &str| sam_template::scalar_text(&p[k]);
            let source = p.get("SourceArn").map(sam_template::scalar_text);
            routes.grants.push((text("FunctionName"), text("Principal"), text("Action"), source));
        }
        Ok(routes)
    }

    /// Why API Gateway may not invoke `function` for `route` (`"authorizer"` for the
    /// `$connect` authorizer): no `AWS::Lambda::Permission` lets `apigateway.amazonaws.com`
    /// invoke it from that source. `None` when one does.
    pub fn refuse_invoke(&self, function: &Function, stage: &StageInfo, route: &str) -> Option<String> {
        let source = match route {
            "authorizer" => format!(
                "arn:aws:execute-api:{}:{}:{}/authorizers/{}",
                stage.region, stage.account, stage.api_id, self.authorizer_id
            ),
            route => stage.method_arn(route),
        };
        let granted = self.grants.iter().any(|(name, principal, action, arn)| {
            (name == &function.name || name == &function.arn)
                && principal == "apigateway.amazonaws.com"
                && iam::wildcard(&action.to_ascii_lowercase(), "lambda:invokefunction")
                && arn.as_deref().is_none_or(|pattern| iam::wildcard(pattern, &source))
        });
        (!granted).then(|| {
            format!(
                "API Gateway may not invoke {} as {source}: no AWS::Lambda::Permission grants apigateway.amazonaws.com lambda:InvokeFunction from that source",
                function.logical_id
            )
        })
    }

    /// The function behind `route_key` (or `$default`'s).
    pub fn function<'a>(&self, route_key: &str, functions: &'a [Function]) -> Option<&'a Function> {
        let name = self.by_key.get(route_key).or_else(|| self.by_key.get("$default"))?;
        functions.iter().find(|f| &f.name == name)
    }

    /// Whether `route_key`'s integration response goes to the client (the route has a route
    /// response).
    pub fn has_route_response(&self, route_key: &str) -> bool {
        let key = if self.by_key.contains_key(route_key) { route_key } else { "$default" };
        self.two_way.contains(key)
    }

    pub fn authorizer<'a>(&self, functions: &'a [Function]) -> Option<&'a Function> {
        let name = self.authorizer.as_ref()?;
        functions.iter().find(|f| &f.name == name)
    }
}

/// Why a handshake is refused: the status the client sees.
pub type Refused = (StatusCode, String);

/// The `$connect` authorizer: its function's verdict on the handshake, as the context
/// every event of the connection then carries (values as strings, `principalId` among them).
pub async fn authorize(
    service: &LambdaService,
    function: &str,
    stage: &StageInfo,
    headers: &HeaderMap,
    query: &HashMap<String, Vec<String>>,
    connection_id: &str,
) -> Result<HashMap<String, Value>, Refused> {
    let method_arn = stage.method_arn("$connect");
    let event = json!({
        "type": "REQUEST",
        "methodArn": method_arn,
        "headers": single_headers(headers),
        "multiValueHeaders": multi_headers(headers),
        "queryStringParameters": query.iter().map(|(k, v)| (k.clone(), v.last().cloned().unwrap_or_default())).collect::<HashMap<_, _>>(),
        "multiValueQueryStringParameters": query,
        "stageVariables": {},
        "requestContext": request_context(stage, "$connect", "CONNECT", connection_id),
    });
    let invoked =
        tokio::time::timeout(INTEGRATION_TIMEOUT, service.invoke_buffered(function, event.to_string().into())).await;
    let answer = match invoked {
        Ok(Ok(answer)) => answer,
        // The authorizer's "Unauthorized" error is API Gateway's 401; any other failure a 500.
        Ok(Err(InvokeError::Function { message, .. })) if message == "Unauthorized" => {
            return Err((StatusCode::UNAUTHORIZED, "Unauthorized".into()));
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "the authorizer failed");
            return Err((StatusCode::INTERNAL_SERVER_ERROR, "Internal server error".into()));
        }
        Err(_) => {
            return Err((StatusCode::INTERNAL_SERVER_ERROR, "Internal server error (authorizer timed out)".into()));
        }
    };
    let answer: Value = serde_json::from_slice(&answer).unwrap_or_default();
    let allowed = Policy::from_document("authorizer", &answer["policyDocument"])
        .map(|policy| iam::evaluate(&[policy], "execute-api:Invoke", &method_arn) == Decision::Allowed)
        .unwrap_or(false);
    if !allowed {
        return Err((StatusCode::FORBIDDEN, "Forbidden".into()));
    }
    let mut context: HashMap<String, Value> = answer["context"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), Value::String(sam_template::scalar_text(v))))
        .collect();
    if let Some(principal) = answer["principalId"].as_str() {
        context.insert("principalId".into(), Value::String(principal.to_owned()));
    }
    Ok(context)
}

/// What became of a route's integration.
pub enum Integration {
    Answered(ApiGatewayProxyResponse),
    Failed(InvokeError),
    /// API Gateway stopped waiting after 29 s; the function runs on to its own timeout.
    TimedOut,
}

/// Invokes a route's function with its event, waiting as API Gateway waits: 29 s at most,
/// when `on_timeout` runs. The function runs on past that in its environment (Lambda does not
/// stop a function whose caller stopped waiting), to its own timeout.
pub async fn invoke_route(
    service: &LambdaService,
    function: &str,
    event: &ApiGatewayWebsocketProxyRequest,
    on_timeout: impl std::future::Future<Output = ()>,
) -> Integration {
    let payload = match serde_json::to_vec(event) {
        Ok(p) => p,
        Err(e) => return Integration::Failed(InvokeError::Crashed(e.to_string())),
    };
    let invocation = service.invoke_buffered(function, payload.into());
    tokio::pin!(invocation);
    let answer = tokio::select! {
        answer = &mut invocation => answer,
        () = tokio::time::sleep(INTEGRATION_TIMEOUT) => {
            on_timeout.await;
            return Integration::TimedOut;
        }
    };
    match answer.map(|a| serde_json::from_slice::<ApiGatewayProxyResponse>(&a)) {
        Ok(Ok(response)) => Integration::Answered(response),
        Ok(Err(e)) => {
            Integration::Failed(InvokeError::Function { error_type: "Malformed".into(), message: e.to_string() })
        }
        Err(e) => Integration::Failed(e),
    }
}

/// What API Gateway sends a client whose message's integration failed (`Internal server
/// error`) or did not answer within 29 s (`Endpoint request timed out`).
pub fn integration_error(message: &str, connection_id: &str, request_id: &str) -> String {
    json!({ "message": message, "connectionId": connection_id, "requestId": request_id }).to_string()
}

pub fn request_context(stage: &StageInfo, route: &str, event_type: &str, connection_id: &str) -> Value {
    let now = now_ms();
    json!({
        "routeKey": route, "eventType": event_type, "messageDirection": "IN", "stage": stage.stage,
        "connectedAt": now, "requestTimeEpoch": now, "identity": { "sourceIp": "127.0.0.1" },
        "requestId": mcp_server::ids::random_id(), "domainName": stage.domain(), "connectionId": connection_id,
        "apiId": stage.api_id,
    })
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

fn single_headers(headers: &HeaderMap) -> HashMap<String, String> {
    headers.iter().filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str().to_owned(), v.to_owned()))).collect()
}

fn multi_headers(headers: &HeaderMap) -> HashMap<String, Vec<String>> {
    let mut all: HashMap<String, Vec<String>> = HashMap::new();
    for (k, v) in headers {
        if let Ok(v) = v.to_str() {
            all.entry(k.as_str().to_owned()).or_default().push(v.to_owned());
        }
    }
    all
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use sam_template::StackSettings;

    use super::{Routes, StageInfo};

    const TEMPLATE: &str = include_str!("../../../../infra/template.yaml");

    fn routes(template: &str) -> (Routes, StageInfo, Vec<sam_template::Function>) {
        routes_with(template, &[])
    }

    /// The routes with some of the template's parameters given.
    fn routes_with(template: &str, parameters: &[(&str, &str)]) -> (Routes, StageInfo, Vec<sam_template::Function>) {
        let mut settings = StackSettings::new("t");
        for (k, v) in parameters {
            settings.parameters.insert((*k).into(), (*v).into());
        }
        settings.parameters.insert("AuthIssuer".into(), "https://issuer.example".into());
        settings.parameters.insert("AuthAudience".into(), "https://mcp.example/mcp".into());
        let stack = sam_template::load(template, settings).unwrap();
        let functions = stack.functions().unwrap();
        (Routes::from_stack(&stack, &functions).unwrap(), StageInfo::from_stack(&stack).unwrap(), functions)
    }

    #[test]
    fn api_gateway_may_invoke_each_route_and_the_authorizer() {
        let (routes, stage, functions) = routes(TEMPLATE);
        for route in ["$connect", "$default", "$disconnect"] {
            let f = routes.function(route, &functions).unwrap();
            assert_eq!(routes.refuse_invoke(f, &stage, route), None, "{route}");
        }
        let authorizer = routes.authorizer(&functions).unwrap();
        assert_eq!(routes.refuse_invoke(authorizer, &stage, "authorizer"), None);
        // A permission for one route does not cover another.
        let message = routes.function("$default", &functions).unwrap();
        assert!(routes.refuse_invoke(message, &stage, "$connect").is_some());
    }

    #[test]
    fn the_default_route_is_two_way_where_it_has_a_route_response() {
        let (deployed, ..) = routes(TEMPLATE);
        assert!(deployed.has_route_response("$default"));
        assert!(deployed.has_route_response("tools/call"), "any message takes $default");
        assert!(!deployed.has_route_response("$connect"));
        // Replies posted: the route keeps its route response, the function returns no body.
        let (posted, ..) = routes_with(TEMPLATE, &[("WebSocketReplies", "post")]);
        assert!(posted.has_route_response("$default"));
        // A template without the route response (as before it existed): one-way.
        let start = TEMPLATE.find("  DefaultRouteResponse:").unwrap();
        let end = start + TEMPLATE[start..].find("\n\n").unwrap();
        let without = format!("{}{}", &TEMPLATE[..start], &TEMPLATE[end + 2..])
            .replace(", DefaultRouteResponse,", ",")
            .replace("      RouteResponseSelectionExpression: $default\n", "");
        let (one_way, ..) = routes(&without);
        assert!(!one_way.has_route_response("$default"));
    }

    #[test]
    fn a_route_without_its_invoke_permission_is_refused() {
        let start = TEMPLATE.find("  MessageInvokePermission:").unwrap();
        let end = start + TEMPLATE[start..].find("\n\n").unwrap();
        let without = format!("{}{}", &TEMPLATE[..start], &TEMPLATE[end + 2..]);
        let (routes, stage, functions) = routes(&without);
        let message = routes.function("$default", &functions).unwrap();
        let refusal = routes.refuse_invoke(message, &stage, "$default").unwrap();
        assert!(refusal.contains("WsMessageFunction"), "{refusal}");
    }
}
