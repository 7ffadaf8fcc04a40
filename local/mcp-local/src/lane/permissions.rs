//! What the deployed stack would let each function do: its role's policies, and for a
//! function in the VPC the policy of the gateway endpoint that carries the service. A call
//! it would deny is answered as AWS answers it and written to `denied.jsonl`, naming the
//! function, the action and the resource.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use lambda_emulator::aws::Permission;
use lambda_emulator::{AwsCall, FunctionConfig};
use sam_template::iam::{self, Decision, Policy};
use sam_template::{Function, Stack};

#[derive(Clone)]
pub struct Permissions(Arc<Inner>);

struct Inner {
    account: String,
    functions: BTreeMap<String, Function>,
    /// Gateway endpoints' policies by service (`dynamodb`).
    endpoints: BTreeMap<String, Vec<Policy>>,
    report: Mutex<std::fs::File>,
}

impl Permissions {
    pub fn new(stack: &Stack, functions: &[Function], out: &Path) -> anyhow::Result<Permissions> {
        let mut endpoints: BTreeMap<String, Vec<Policy>> = BTreeMap::new();
        for e in stack.gateway_endpoints()? {
            endpoints.entry(e.service).or_default().push(e.policy);
        }
        let report = std::fs::OpenOptions::new().create(true).append(true).open(out.join("denied.jsonl"))?;
        Ok(Permissions(Arc::new(Inner {
            account: stack.settings().account.clone(),
            functions: functions.iter().map(|f| (f.name.clone(), f.clone())).collect(),
            endpoints,
            report: Mutex::new(report),
        })))
    }

    /// The check the AWS endpoint runs on every call.
    pub fn checker(&self) -> Permission {
        let me = self.clone();
        Arc::new(move |function: &FunctionConfig, call: &AwsCall| {
            me.check(&function.name, &call.service, &call.action, &call.resource)
        })
    }

    /// Whether `function` may do `action` on `resource`; why not, as AWS words it.
    pub fn check(&self, function: &str, service: &str, action: &str, resource: &str) -> Result<(), String> {
        let Some(f) = self.0.functions.get(function) else {
            return Err(format!("{function} is not a function of the template"));
        };
        let who = format!("User: arn:aws:sts::{}:assumed-role/{}Role/{}", self.0.account, f.logical_id, f.name);
        let refused = |why: String| {
            let modelled: Vec<&str> = f.policies.iter().map(|p| p.name.as_str()).collect();
            let message = format!("{who} is not authorized to perform: {action} on resource: {resource} {why}");
            self.report(f, action, resource, &message, &modelled);
            Err(message)
        };
        match iam::evaluate(&f.policies, action, resource) {
            Decision::Allowed => {}
            Decision::ExplicitDeny { policy } => return refused(format!("with an explicit deny in {policy}")),
            Decision::ImplicitDeny { conditional } => {
                let note = if conditional.is_empty() {
                    String::new()
                } else {
                    format!(" (conditions not evaluated: {})", conditional.join(", "))
                };
                return refused(format!("because no identity-based policy allows the {action} action{note}"));
            }
        }
        if f.in_vpc
            && let Some(policies) = self.0.endpoints.get(service)
        {
            for policy in policies {
                match iam::evaluate(std::slice::from_ref(policy), action, resource) {
                    Decision::Allowed => {}
                    Decision::ExplicitDeny { .. } => {
                        return refused(format!("with an explicit deny in a VPC endpoint policy ({})", policy.name));
                    }
                    Decision::ImplicitDeny { .. } => {
                        return refused(format!(
                            "because no VPC endpoint policy allows the {action} action ({})",
                            policy.name
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// API Gateway could not invoke `f` (a missing or narrower `AWS::Lambda::Permission`).
    pub fn report_invoke(&self, f: &Function, message: &str) {
        self.report(f, "lambda:InvokeFunction", &f.arn, message, &["AWS::Lambda::Permission (resource policy)"]);
    }

    fn report(&self, f: &Function, action: &str, resource: &str, message: &str, policies: &[&str]) {
        tracing::error!(function = %f.logical_id, %action, %resource, "the deployed stack would deny this call: {message}");
        let line = serde_json::json!({
            "function": f.logical_id, "action": action, "resource": resource, "message": message,
            "policies": policies, "unmodelled_policies": f.unmodelled_policies,
        });
        if let Ok(mut file) = self.0.report.lock() {
            let _ = writeln!(file, "{line}");
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use sam_template::StackSettings;

    use super::Permissions;

    const TEMPLATE: &str = include_str!("../../../../infra/template.yaml");
    /// The endpoint policy's statement for the registry (what the first template lacked).
    const REGISTRY_THROUGH_ENDPOINT: &str =
        "          # The registry is read by every serving function (the catalogue, the servers).
          - Effect: Allow
            Principal: \"*\"
            Action: [\"dynamodb:GetItem\", \"dynamodb:Query\"]
            Resource: !GetAtt RegistryTable.Arn
";

    /// The stack `t`, deployed open (the template's rules ask for that explicitly).
    fn anonymous() -> StackSettings {
        let mut settings = StackSettings::new("t");
        settings.parameters.insert("AllowAnonymous".into(), "true".into());
        settings
    }

    fn permissions(template: &str, out: &std::path::Path) -> Permissions {
        let stack = sam_template::load(template, anonymous()).unwrap();
        let functions = stack.functions().unwrap();
        Permissions::new(&stack, &functions, out).unwrap()
    }

    const REGISTRY: &str = "arn:aws:dynamodb:us-east-1:123456789012:table/t-RegistryTable";
    const TABLE: &str = "arn:aws:dynamodb:us-east-1:123456789012:table/t-Table";

    #[test]
    fn the_template_grants_what_the_functions_call_and_nothing_else() {
        let out = std::env::temp_dir().join(format!("lane-permissions-{}", std::process::id()));
        std::fs::create_dir_all(&out).unwrap();
        let p = permissions(TEMPLATE, &out);
        for f in ["t-WsMessageFunction", "t-HttpFunction"] {
            for (action, resource) in
                [("dynamodb:Query", REGISTRY), ("dynamodb:GetItem", REGISTRY), ("dynamodb:PutItem", TABLE)]
            {
                assert_eq!(p.check(f, "dynamodb", action, resource), Ok(()), "{f} {action} {resource}");
            }
        }
        // Least privilege holds: $connect writes its record and reads the registry, no more.
        assert!(p.check("t-WsConnectFunction", "dynamodb", "dynamodb:DeleteItem", TABLE).is_err());
        assert!(p.check("t-WsConnectFunction", "dynamodb", "dynamodb:GetItem", REGISTRY).is_ok());
        assert!(
            p.check(
                "t-WsMessageFunction",
                "lambda",
                "lambda:InvokeFunction",
                "arn:aws:lambda:us-east-1:123456789012:function:other"
            )
            .is_err()
        );
        let _ = std::fs::remove_dir_all(&out);
    }

    #[test]
    fn only_the_functions_that_own_connections_may_close_them() {
        let out = std::env::temp_dir().join(format!("lane-permissions-close-{}", std::process::id()));
        std::fs::create_dir_all(&out).unwrap();
        let stack = sam_template::load(TEMPLATE, anonymous()).unwrap();
        let p = Permissions::new(&stack, &stack.functions().unwrap(), &out).unwrap();
        let api = stack.resolve_string(&serde_json::json!({ "Ref": "WebSocketApi" })).unwrap().unwrap();
        let connection =
            |method: &str| format!("arn:aws:execute-api:us-east-1:123456789012:{api}/prod/{method}/@connections/c1");
        let manage = "execute-api:ManageConnections";
        // The http function posts notifications to WebSocket subscribers but never closes a
        // connection; before, one policy gave it both.
        assert_eq!(p.check("t-HttpFunction", "execute-api", manage, &connection("POST")), Ok(()));
        assert!(p.check("t-HttpFunction", "execute-api", manage, &connection("DELETE")).is_err());
        for owner in ["t-WsMessageFunction", "t-WsSweeperFunction"] {
            assert_eq!(p.check(owner, "execute-api", manage, &connection("DELETE")), Ok(()), "{owner}");
        }
        let _ = std::fs::remove_dir_all(&out);
    }

    #[test]
    fn only_the_functions_that_sign_request_states_may_read_their_key() {
        let out = std::env::temp_dir().join(format!("lane-permissions-key-{}", std::process::id()));
        std::fs::create_dir_all(&out).unwrap();
        let mut settings = StackSettings::new("t");
        settings.parameters.insert("AuthIssuer".into(), "https://issuer.example".into());
        settings.parameters.insert("AuthAudience".into(), "https://mcp.example/mcp".into());
        let stack = sam_template::load(TEMPLATE, settings).unwrap();
        let p = Permissions::new(&stack, &stack.functions().unwrap(), &out).unwrap();
        let key = stack.resolve_string(&serde_json::json!({ "Ref": "RequestStateKey" })).unwrap().unwrap();
        let read = "secretsmanager:GetSecretValue";
        for signer in ["t-WsMessageFunction", "t-HttpFunction"] {
            assert_eq!(p.check(signer, "secretsmanager", read, &key), Ok(()), "{signer}");
        }
        // Before, the key was resolved into every function's environment, the authorizer's too.
        for other in ["t-AuthorizerFunction", "t-WsConnectFunction", "t-WsDisconnectFunction", "t-WsSweeperFunction"] {
            assert!(p.check(other, "secretsmanager", read, &key).is_err(), "{other} must not read the key");
            let f = stack.functions().unwrap().into_iter().find(|f| f.name == other).unwrap();
            assert!(!f.environment.keys().any(|k| k.starts_with("MCP_REQUEST_STATE")), "{other}: {:?}", f.environment);
        }
        let _ = std::fs::remove_dir_all(&out);
    }

    #[test]
    fn a_table_left_out_of_the_endpoint_policy_is_denied_although_the_role_allows_it() {
        let out = std::env::temp_dir().join(format!("lane-permissions-endpoint-{}", std::process::id()));
        std::fs::create_dir_all(&out).unwrap();
        assert!(TEMPLATE.contains(REGISTRY_THROUGH_ENDPOINT));
        let first = TEMPLATE.replace(REGISTRY_THROUGH_ENDPOINT, "");
        let p = permissions(&first, &out);
        let denied = p.check("t-WsMessageFunction", "dynamodb", "dynamodb:Query", REGISTRY).unwrap_err();
        assert!(denied.contains("because no VPC endpoint policy allows the dynamodb:Query action"), "{denied}");
        // Outside the VPC (RedisTier=none) the endpoint is not in the way.
        let mut settings = anonymous();
        settings.parameters.insert("RedisTier".into(), "none".into());
        let stack = sam_template::load(&first, settings).unwrap();
        let outside = Permissions::new(&stack, &stack.functions().unwrap(), &out).unwrap();
        assert_eq!(outside.check("t-WsMessageFunction", "dynamodb", "dynamodb:Query", REGISTRY), Ok(()));
        let report = std::fs::read_to_string(out.join("denied.jsonl")).unwrap();
        assert!(report.contains("\"function\":\"WsMessageFunction\""), "{report}");
        let _ = std::fs::remove_dir_all(&out);
    }
}
