//! An AWS SAM template read as CloudFormation and SAM deploy it, for running its functions
//! locally with the environment and permissions a deployment gives them:
//!
//! - [`load`]: YAML with CloudFormation's short-form tags, as JSON in the long form;
//! - [`Stack`]: parameters (defaults and overrides), conditions, and intrinsic functions
//!   resolved against the resources' physical names and attributes ([`StackSettings`]);
//! - [`Function`]: an `AWS::Serverless::Function` after SAM's `Globals` merge: binary,
//!   timeout, memory, environment, VPC, role policies, schedules;
//! - [`iam`]: IAM policy evaluation of one call (action, resource) against a role's
//!   policies and a VPC endpoint's.
//!
//! It models what the project's template uses and says so when it meets anything else
//! ([`TemplateError::Unsupported`]); it is not a CloudFormation implementation.

pub mod iam;
mod load;
mod sam;
mod stack;

pub use sam::{Function, GatewayEndpoint};
pub use stack::{Stack, StackSettings, scalar_text};

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("template: {0}")]
    Parse(String),
    #[error("template: unknown {0}")]
    Unknown(String),
    #[error("template: {0}")]
    Invalid(String),
    #[error("template: not modelled here: {0}")]
    Unsupported(String),
}

/// Parses a template and deploys it, in the model, as `settings` say.
pub fn load(text: &str, settings: StackSettings) -> Result<Stack, TemplateError> {
    Stack::new(load::parse(text)?, settings)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::{StackSettings, load};

    const TEMPLATE: &str = include_str!("../../../infra/template.yaml");

    /// Settings that pass the template's rules: an anonymous deployment, asked for.
    fn anonymous(name: &str) -> StackSettings {
        let mut settings = StackSettings::new(name);
        settings.parameters.insert("AllowAnonymous".into(), "true".into());
        settings
    }

    #[test]
    fn the_deployment_template_refuses_to_deploy_open_unless_asked() {
        // Before, an empty AuthIssuer (the default) deployed a server anyone could call.
        let refused = load(TEMPLATE, StackSettings::new("lane")).unwrap_err().to_string();
        assert!(refused.contains("rule AuthorizedUnlessAnonymousAllowed"), "{refused}");
        assert!(refused.contains("AllowAnonymous=true"), "{refused}");
        let mut no_audience = StackSettings::new("lane");
        no_audience.parameters.insert("AuthIssuer".into(), "https://issuer.example".into());
        let refused = load(TEMPLATE, no_audience).unwrap_err().to_string();
        assert!(refused.contains("rule AudienceWithIssuer"), "{refused}");
        assert!(load(TEMPLATE, anonymous("lane")).is_ok());
    }

    #[test]
    fn the_deployment_template_resolves() {
        let stack = load(TEMPLATE, anonymous("lane")).unwrap();
        let functions = stack.functions().unwrap();
        let names: Vec<&str> = functions.iter().filter_map(|f| f.binary.as_deref()).collect();
        assert!(names.contains(&"ws-message") && names.contains(&"http-function"), "{names:?}");
        let message = functions.iter().find(|f| f.binary.as_deref() == Some("ws-message")).unwrap();
        assert_eq!(message.environment["MCP_TABLE"], "lane-Table");
        assert!(message.timeout.as_secs() > 29);
        assert!(!message.policies.is_empty());
        let sweeper = functions.iter().find(|f| f.binary.as_deref() == Some("ws-sweeper")).unwrap();
        assert_eq!(sweeper.schedules.len(), 1);
        let mut settings = StackSettings::new("lane");
        settings.parameters.insert("AuthIssuer".into(), "https://issuer.example".into());
        settings.parameters.insert("AuthAudience".into(), "https://mcp.example/mcp".into());
        let with_auth = load(TEMPLATE, settings).unwrap().functions().unwrap();
        assert_eq!(with_auth.len(), functions.len() + 1, "the authorizer exists only with an issuer");
    }
}
