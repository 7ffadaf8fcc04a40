//! The `$connect` authorizer on the event API Gateway sends it (a WebSocket REQUEST
//! authorizer event), with tokens from a development issuer whose JWKS the validator reads.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_lambda_events::apigw::ApiGatewayCustomAuthorizerRequestTypeRequest;
use aws_lambda_events::iam::IamPolicyEffect;
use mcp_auth::dev_issuer::DevIssuer;
use mcp_auth::{AuthConfig, KeySource, KeyStore, TokenValidator};

const AUDIENCE: &str = "https://mcp.example.com/mcp";

struct Jwks(Vec<u8>);

#[async_trait]
impl KeySource for Jwks {
    async fn fetch(&self) -> Result<Vec<u8>, String> {
        Ok(self.0.clone())
    }
}

fn setup() -> (DevIssuer, TokenValidator) {
    let path = std::env::temp_dir().join(format!("mcp-aws-authorizer-{}/key.pem", std::process::id()));
    let issuer = DevIssuer::load_or_create(&path, "https://auth.example.com").unwrap();
    let config = AuthConfig {
        issuer: "https://auth.example.com".into(),
        audience: AUDIENCE.into(),
        jwks_url: "https://auth.example.com/.well-known/jwks.json".into(),
        required_scopes: vec!["mcp".into()],
        leeway: Duration::from_secs(60),
    };
    let validator = TokenValidator::new(config, KeyStore::new(Arc::new(Jwks(issuer.jwks()))));
    (issuer, validator)
}

fn event(token: &str) -> ApiGatewayCustomAuthorizerRequestTypeRequest {
    let path = format!("{}/tests/fixtures/authorizer-connect.json", env!("CARGO_MANIFEST_DIR"));
    let json = std::fs::read_to_string(path).unwrap().replace("TOKEN", token);
    serde_json::from_str(&json).unwrap()
}

#[tokio::test]
async fn a_good_token_gets_an_allow_policy_with_the_principal_and_expiry() {
    let (issuer, validator) = setup();
    let token = issuer.mint("alice", AUDIENCE, &["mcp".into()], 600).unwrap();
    let response = mcp_aws::authorizer::authorize(&validator, &event(&token)).await.unwrap();
    assert_eq!(response.principal_id.as_deref(), Some("alice"));
    let statement = &response.policy_document.statement[0];
    assert_eq!(statement.effect, IamPolicyEffect::Allow);
    assert_eq!(statement.resource, ["arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/$connect"]);
    assert!(response.context["exp"].as_u64().unwrap() > 0);
    assert_eq!(response.context["scope"], "mcp");
    // What API Gateway would put in front of the next events: the context, verbatim.
    let json = serde_json::to_value(&response).unwrap();
    assert_eq!(json["principalId"], "alice");
}

#[tokio::test]
async fn bad_tokens_are_unauthorized_and_missing_scopes_denied() {
    let (issuer, validator) = setup();
    let wrong_audience = issuer.mint("alice", "https://other.example.com/mcp", &["mcp".into()], 600).unwrap();
    let refused = mcp_aws::authorizer::authorize(&validator, &event(&wrong_audience)).await;
    assert_eq!(refused.unwrap_err(), "Unauthorized", "API Gateway answers 401 for exactly this error");
    let no_token = event("x").clone();
    let mut no_token = no_token;
    no_token.headers.remove("sec-websocket-protocol");
    assert_eq!(mcp_aws::authorizer::authorize(&validator, &no_token).await.unwrap_err(), "Unauthorized");
    let unscoped = issuer.mint("alice", AUDIENCE, &["other".into()], 600).unwrap();
    let denied = mcp_aws::authorizer::authorize(&validator, &event(&unscoped)).await.unwrap();
    assert_eq!(denied.policy_document.statement[0].effect, IamPolicyEffect::Deny);
}
