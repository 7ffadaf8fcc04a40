//! IAM policy evaluation, for the calls a function makes: an explicit `Deny` wins, then an
//! `Allow` is needed (identity policies), and a request through a VPC endpoint must also be
//! allowed by the endpoint's policy. Actions match case-insensitively, resources
//! case-sensitively, both with `*` and `?` wildcards. A statement with a `Condition` never
//! allows here (its keys are not modelled) and is named in the denial, so a denial is never
//! missed; a template that relies on conditions is told so instead of passing silently.

use serde_json::Value;

use crate::TemplateError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

#[derive(Clone, Debug)]
pub struct Statement {
    pub effect: Effect,
    /// `Action` patterns, or with `not_action` the `NotAction` ones.
    pub actions: Vec<String>,
    pub not_action: bool,
    pub resources: Vec<String>,
    pub not_resource: bool,
    pub has_condition: bool,
}

/// A policy document, named for the reports (`TableReadWritePolicy`, `WsConnectFunction
/// inline policy 1`, ...).
#[derive(Clone, Debug)]
pub struct Policy {
    pub name: String,
    pub statements: Vec<Statement>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// No statement allows it; `conditional` names statements that might have, had their
    /// conditions held.
    ImplicitDeny {
        conditional: Vec<String>,
    },
    ExplicitDeny {
        policy: String,
    },
}

impl Policy {
    /// A policy document (`{"Version", "Statement": [...]}`), already resolved.
    pub fn from_document(name: &str, document: &Value) -> Result<Policy, TemplateError> {
        let statements = match &document["Statement"] {
            Value::Array(s) => s.clone(),
            s @ Value::Object(_) => vec![s.clone()],
            _ => return Err(TemplateError::Invalid(format!("{name}: a policy without Statement"))),
        };
        let statements = statements.iter().map(|s| statement(name, s)).collect::<Result<Vec<_>, _>>()?;
        Ok(Policy { name: name.to_owned(), statements })
    }
}

fn statement(policy: &str, s: &Value) -> Result<Statement, TemplateError> {
    let effect = match s["Effect"].as_str() {
        Some("Allow") => Effect::Allow,
        Some("Deny") => Effect::Deny,
        _ => return Err(TemplateError::Invalid(format!("{policy}: a statement without Effect Allow or Deny"))),
    };
    let (actions, not_action) = either(s, "Action", "NotAction", policy)?;
    // Endpoint policies may leave Resource out: it then means every resource.
    let (resources, not_resource) = match either(s, "Resource", "NotResource", policy) {
        Ok(r) => r,
        Err(_) if s.get("Resource").is_none() && s.get("NotResource").is_none() => (vec!["*".to_owned()], false),
        Err(e) => return Err(e),
    };
    Ok(Statement { effect, actions, not_action, resources, not_resource, has_condition: s.get("Condition").is_some() })
}

/// `key` or `not_key`, each a string or a list of strings.
fn either(s: &Value, key: &str, not_key: &str, policy: &str) -> Result<(Vec<String>, bool), TemplateError> {
    let strings = |v: &Value| -> Option<Vec<String>> {
        match v {
            Value::String(x) => Some(vec![x.clone()]),
            Value::Array(l) => l.iter().map(|i| i.as_str().map(str::to_owned)).collect(),
            _ => None,
        }
    };
    match (s.get(key), s.get(not_key)) {
        (Some(v), None) => strings(v).map(|l| (l, false)),
        (None, Some(v)) => strings(v).map(|l| (l, true)),
        _ => None,
    }
    .ok_or_else(|| TemplateError::Invalid(format!("{policy}: a statement needs {key} or {not_key}, as strings")))
}

impl Statement {
    fn covers(&self, action: &str, resource: &str) -> bool {
        let action_matches =
            self.actions.iter().any(|p| wildcard(&p.to_ascii_lowercase(), &action.to_ascii_lowercase()));
        let resource_matches = self.resources.iter().any(|p| wildcard(p, resource));
        action_matches != self.not_action && resource_matches != self.not_resource
    }
}

/// Evaluates `action` on `resource` against `policies` (all of one kind: a role's policies,
/// or one endpoint's policy).
pub fn evaluate(policies: &[Policy], action: &str, resource: &str) -> Decision {
    let mut allowed = false;
    let mut conditional = Vec::new();
    for policy in policies {
        for s in policy.statements.iter().filter(|s| s.covers(action, resource)) {
            match (&s.effect, s.has_condition) {
                // A Deny whose condition is unknown might hold: count it.
                (Effect::Deny, _) => return Decision::ExplicitDeny { policy: policy.name.clone() },
                (Effect::Allow, false) => allowed = true,
                (Effect::Allow, true) => conditional.push(policy.name.clone()),
            }
        }
    }
    if allowed { Decision::Allowed } else { Decision::ImplicitDeny { conditional } }
}

/// `*` any run of characters, `?` any one character.
pub fn wildcard(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::{Decision, Policy, evaluate, wildcard};

    #[test]
    fn wildcards() {
        assert!(wildcard("arn:*:table/t", "arn:aws:dynamodb:r:1:table/t"));
        assert!(wildcard("arn:aws:dynamodb:r:1:table/t/index/*", "arn:aws:dynamodb:r:1:table/t/index/by-x"));
        assert!(!wildcard("arn:aws:dynamodb:r:1:table/t", "arn:aws:dynamodb:r:1:table/t/index/by-x"));
        assert!(wildcard("mcp-tool-*", "mcp-tool-word-count"));
        assert!(!wildcard("mcp-tool-*", "tool-word-count"));
        assert!(wildcard("a?c", "abc") && !wildcard("a?c", "ac"));
    }

    #[test]
    fn deny_wins_allow_is_needed_conditions_never_allow() {
        let allow = Policy::from_document(
            "allow",
            &json!({"Statement": [{"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Query"], "Resource": "arn:t"}]}),
        )
        .unwrap();
        let deny = Policy::from_document(
            "deny",
            &json!({"Statement": {"Effect": "Deny", "NotAction": "dynamodb:GetItem", "Resource": "*"}}),
        )
        .unwrap();
        let conditional = Policy::from_document(
            "conditional",
            &json!({"Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}}]}),
        )
        .unwrap();
        assert_eq!(evaluate(std::slice::from_ref(&allow), "DynamoDB:getitem", "arn:t"), Decision::Allowed);
        assert_eq!(
            evaluate(&[allow.clone(), deny.clone()], "dynamodb:Query", "arn:t"),
            Decision::ExplicitDeny { policy: "deny".into() }
        );
        assert_eq!(evaluate(&[allow, deny], "dynamodb:GetItem", "arn:t"), Decision::Allowed);
        assert_eq!(
            evaluate(&[conditional], "dynamodb:PutItem", "arn:t"),
            Decision::ImplicitDeny { conditional: vec!["conditional".into()] }
        );
    }
}
