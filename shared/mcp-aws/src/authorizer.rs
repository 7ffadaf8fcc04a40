//! The `$connect` REQUEST authorizer: the handshake's bearer token (the `Authorization`
//! header, or the `mcp.auth.<token>` subprotocol) checked like any HTTP request's. Allowed:
//! an `Allow` policy for the connect route, with the principal, the token's expiry and its
//! scopes in the context API Gateway hands to every event of the connection. Refused:
//! `Unauthorized` (API Gateway answers 401) or a `Deny` policy (403).

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerPolicy, ApiGatewayCustomAuthorizerRequestTypeRequest, ApiGatewayCustomAuthorizerResponse,
};
use aws_lambda_events::iam::{IamPolicyEffect, IamPolicyStatement};
use http::StatusCode;
use serde_json::Value;

use mcp_auth::{TokenSource, TokenValidator};
use mcp_edge::auth::{CONTEXT_PRINCIPAL, authenticate, authorizer_context};

/// What the authorizer function returns: a policy, or the error that makes API Gateway
/// answer 401 (`"Unauthorized"`, exactly) or 500.
pub async fn authorize(
    validator: &TokenValidator,
    request: &ApiGatewayCustomAuthorizerRequestTypeRequest,
) -> Result<ApiGatewayCustomAuthorizerResponse, String> {
    let query: Vec<String> = request.query_string_parameters.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let query = query.join("&");
    let arn = request.method_arn.clone().unwrap_or_default();
    match authenticate(validator, &request.headers, Some(&query), TokenSource::WebSocketHandshake).await {
        Ok(principal) => {
            let mut context = authorizer_context(&principal);
            let principal_id = context.remove(CONTEXT_PRINCIPAL).and_then(|v| v.as_str().map(str::to_owned));
            Ok(policy(principal_id, IamPolicyEffect::Allow, arn, Value::from(serde_json::Map::from_iter(context))))
        }
        Err(challenge) if challenge.status == StatusCode::UNAUTHORIZED => Err("Unauthorized".to_owned()),
        Err(challenge) if challenge.status == StatusCode::SERVICE_UNAVAILABLE => Err(challenge.message),
        Err(_) => Ok(policy(None, IamPolicyEffect::Deny, arn, Value::Object(Default::default()))),
    }
}

fn policy(
    principal_id: Option<String>,
    effect: IamPolicyEffect,
    arn: String,
    context: Value,
) -> ApiGatewayCustomAuthorizerResponse {
    let mut statement = IamPolicyStatement::default();
    statement.action = vec!["execute-api:Invoke".to_owned()];
    statement.effect = effect;
    statement.resource = vec![arn];
    let mut document = ApiGatewayCustomAuthorizerPolicy::default();
    document.version = Some("2012-10-17".to_owned());
    document.statement = vec![statement];
    let mut response = ApiGatewayCustomAuthorizerResponse::default();
    response.principal_id = principal_id.or_else(|| Some("anonymous".to_owned()));
    response.policy_document = document;
    response.context = context;
    response
}
