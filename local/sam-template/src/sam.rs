//! What SAM makes of an `AWS::Serverless::Function`: its properties merged with the
//! template's `Globals` (SAM's rules: maps merge with the function's entries winning, lists
//! are the global entries followed by the function's, anything else, intrinsic calls
//! included, is the function's if it has one), then resolved. From that: the binary
//! cargo-lambda builds, the timeout, memory and environment Lambda gives it, whether it runs
//! in the VPC, its role's policies, and its schedules.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::TemplateError;
use crate::iam::Policy;
use crate::stack::{Stack, is_call, scalar_text};

/// Lambda's defaults when a template says nothing.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);
const DEFAULT_MEMORY_MB: u32 = 128;

#[derive(Clone, Debug)]
pub struct Function {
    pub logical_id: String,
    /// The function's name (`FunctionName`, or the stack's name for it).
    pub name: String,
    pub arn: String,
    /// `Metadata.BuildProperties.Binary` (what `rust-cargolambda` builds), if any.
    pub binary: Option<String>,
    pub timeout: Duration,
    pub memory_mb: u32,
    /// `ReservedConcurrentExecutions`: at most this many invocations at once, if set.
    pub reserved_concurrency: Option<u32>,
    pub architecture: String,
    pub environment: BTreeMap<String, String>,
    /// Whether it runs in the VPC (`VpcConfig` with subnets): its AWS calls then go through
    /// the VPC's endpoints, whose policies apply too.
    pub in_vpc: bool,
    /// Its role's policies that this crate can evaluate.
    pub policies: Vec<Policy>,
    /// Policies of its role this crate does not model (AWS managed policies, SAM policy
    /// templates), by name: reported beside a denial.
    pub unmodelled_policies: Vec<String>,
    /// `Events` of type `Schedule` with a `rate(...)` expression.
    pub schedules: Vec<Duration>,
    /// How often an asynchronous invocation that failed is tried again
    /// (`EventInvokeConfig.MaximumRetryAttempts`; Lambda's default is 2).
    pub async_retries: u32,
    /// How long an asynchronous invocation may wait to be run
    /// (`EventInvokeConfig.MaximumEventAgeInSeconds`; Lambda's default is 6 hours).
    pub max_event_age: Duration,
    /// `FunctionUrlConfig.InvokeMode` (`BUFFERED` or `RESPONSE_STREAM`), when it has a URL.
    pub url_invoke_mode: Option<String>,
}

/// A VPC gateway endpoint: the service it carries and its policy.
#[derive(Clone, Debug)]
pub struct GatewayEndpoint {
    pub logical_id: String,
    /// The service's signing name (`dynamodb`, `s3`).
    pub service: String,
    pub policy: Policy,
}

impl Stack {
    /// Every `AWS::Serverless::Function` whose condition holds.
    pub fn functions(&self) -> Result<Vec<Function>, TemplateError> {
        let ids: Vec<String> =
            self.resources_of_type("AWS::Serverless::Function").map(|(id, _)| id.to_owned()).collect();
        ids.iter().map(|id| self.function(id)).collect()
    }

    pub fn function(&self, logical_id: &str) -> Result<Function, TemplateError> {
        let resource = self.resource(logical_id)?;
        let global = self.section("Globals").get("Function").cloned().unwrap_or(Value::Object(Map::new()));
        let merged = merge(global, resource.get("Properties").cloned().unwrap_or(Value::Object(Map::new())));
        let p = self.resolve(&merged)?.unwrap_or_default();
        let context = |what: &str| format!("{logical_id}: {what}");
        let name = match p.get("FunctionName") {
            Some(n) => scalar_text(n),
            None => self.physical_name(logical_id),
        };
        let number = |key: &str| -> Result<Option<u64>, TemplateError> {
            p.get(key)
                .map(|v| {
                    scalar_text(v)
                        .parse::<u64>()
                        .map_err(|_| TemplateError::Invalid(context(&format!("{key} is not a number"))))
                })
                .transpose()
        };
        let event_invoke = |key: &str| -> Result<Option<u64>, TemplateError> {
            p["EventInvokeConfig"]
                .get(key)
                .map(|v| {
                    scalar_text(v).parse::<u64>().map_err(|_| {
                        TemplateError::Invalid(context(&format!("EventInvokeConfig.{key} is not a number")))
                    })
                })
                .transpose()
        };
        let environment = p["Environment"]["Variables"]
            .as_object()
            .map(|vars| vars.iter().map(|(k, v)| (k.clone(), scalar_text(v))).collect())
            .unwrap_or_default();
        let in_vpc = p["VpcConfig"]["SubnetIds"].as_array().is_some_and(|s| !s.is_empty());
        let (policies, unmodelled_policies) = self.role_policies(logical_id, p.get("Policies"))?;
        let mut schedules = Vec::new();
        for (event, definition) in p["Events"].as_object().into_iter().flatten() {
            if definition["Type"] == "Schedule" {
                let expression = scalar_text(&definition["Properties"]["Schedule"]);
                schedules.push(
                    rate(&expression)
                        .ok_or_else(|| TemplateError::Unsupported(context(&format!("event {event}: {expression}"))))?,
                );
            }
        }
        let arn = format!("arn:aws:lambda:{}:{}:function:{name}", self.settings().region, self.settings().account);
        Ok(Function {
            logical_id: logical_id.to_owned(),
            binary: resource["Metadata"]["BuildProperties"]["Binary"].as_str().map(str::to_owned),
            timeout: number("Timeout")?.map_or(DEFAULT_TIMEOUT, Duration::from_secs),
            memory_mb: number("MemorySize")?.map_or(DEFAULT_MEMORY_MB, |m| m as u32),
            reserved_concurrency: number("ReservedConcurrentExecutions")?.map(|n| n as u32),
            async_retries: event_invoke("MaximumRetryAttempts")?.map_or(2, |n| n as u32),
            max_event_age: Duration::from_secs(event_invoke("MaximumEventAgeInSeconds")?.unwrap_or(6 * 3600)),
            architecture: p["Architectures"][0].as_str().unwrap_or("x86_64").to_owned(),
            environment,
            in_vpc,
            policies,
            unmodelled_policies,
            schedules,
            url_invoke_mode: p
                .get("FunctionUrlConfig")
                .map(|u| u["InvokeMode"].as_str().unwrap_or("BUFFERED").to_owned()),
            name,
            arn,
        })
    }

    /// SAM's `Policies` (a string, a document, or a list of them), resolved: managed policies
    /// of this stack (by their ARN) and inline documents become [`Policy`]s.
    fn role_policies(
        &self,
        function: &str,
        policies: Option<&Value>,
    ) -> Result<(Vec<Policy>, Vec<String>), TemplateError> {
        let items = match policies {
            None => Vec::new(),
            Some(Value::Array(l)) => l.clone(),
            Some(other) => vec![other.clone()],
        };
        let managed: BTreeMap<String, String> = self
            .resources_of_type("AWS::IAM::ManagedPolicy")
            .filter_map(|(id, _)| {
                self.resolve_string(&serde_json::json!({"Ref": id})).ok().flatten().map(|arn| (arn, id.to_owned()))
            })
            .collect();
        let (mut modelled, mut unmodelled) = (Vec::new(), Vec::new());
        for (i, item) in items.iter().enumerate() {
            match item {
                Value::String(arn) => match managed.get(arn) {
                    Some(id) => {
                        let document = self.resource(id)?["Properties"]["PolicyDocument"].clone();
                        let document = self.resolve(&document)?.unwrap_or_default();
                        modelled.push(Policy::from_document(id, &document)?);
                    }
                    None => unmodelled.push(arn.clone()),
                },
                Value::Object(map) if map.contains_key("Statement") => {
                    modelled.push(Policy::from_document(&format!("{function} inline policy {}", i + 1), item)?);
                }
                Value::Object(map) => unmodelled.extend(map.keys().map(|k| format!("SAM policy template {k}"))),
                other => unmodelled.push(other.to_string()),
            }
        }
        Ok((modelled, unmodelled))
    }

    /// The VPC gateway endpoints whose condition holds, with their policies (a missing
    /// policy allows everything).
    pub fn gateway_endpoints(&self) -> Result<Vec<GatewayEndpoint>, TemplateError> {
        let mut endpoints = Vec::new();
        for (id, resource) in self.resources_of_type("AWS::EC2::VPCEndpoint") {
            let p = self.resolve(&resource["Properties"])?.unwrap_or_default();
            if p.get("VpcEndpointType").and_then(Value::as_str).unwrap_or("Gateway") != "Gateway" {
                continue;
            }
            let service_name = scalar_text(&p["ServiceName"]);
            let service = service_name.rsplit('.').next().unwrap_or("").to_owned();
            let document = p.get("PolicyDocument").cloned().unwrap_or_else(
                || serde_json::json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
            );
            endpoints.push(GatewayEndpoint {
                logical_id: id.to_owned(),
                service,
                policy: Policy::from_document(id, &document)?,
            });
        }
        Ok(endpoints)
    }
}

/// SAM's Globals merge: maps merge (the function's entries win), lists are the global
/// items then the function's, anything else is the function's. An intrinsic call is a
/// scalar to this rule, whatever it evaluates to.
fn merge(global: Value, local: Value) -> Value {
    match (global, local) {
        (Value::Object(mut g), Value::Object(l))
            if !is_call(&Value::Object(g.clone())) && !is_call(&Value::Object(l.clone())) =>
        {
            for (k, v) in l {
                let merged = match g.remove(&k) {
                    Some(gv) => merge(gv, v),
                    None => v,
                };
                g.insert(k, merged);
            }
            Value::Object(g)
        }
        (Value::Array(mut g), Value::Array(l)) => {
            g.extend(l);
            Value::Array(g)
        }
        (_, local) => local,
    }
}

/// `rate(1 minute)`, `rate(5 minutes)`, `rate(1 hour)`, ...
fn rate(expression: &str) -> Option<Duration> {
    let inner = expression.strip_prefix("rate(")?.strip_suffix(')')?;
    let (n, unit) = inner.trim().split_once(' ')?;
    let n: u64 = n.parse().ok()?;
    let seconds = match unit.trim_end_matches('s') {
        "minute" => 60,
        "hour" => 3600,
        "day" => 86_400,
        _ => return None,
    };
    Some(Duration::from_secs(n * seconds))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{merge, rate};

    #[test]
    fn globals_merge_as_sam_merges_them() {
        let global = json!({"Timeout": 29, "Environment": {"Variables": {"A": "1", "B": "2"}}, "VpcConfig": {"If": 1}, "Layers": ["g"]});
        let local = json!({"Timeout": 60, "Environment": {"Variables": {"B": "3"}}, "VpcConfig": {"Ref": "AWS::NoValue"}, "Layers": ["l"]});
        assert_eq!(
            merge(global, local),
            json!({"Timeout": 60, "Environment": {"Variables": {"A": "1", "B": "3"}}, "VpcConfig": {"Ref": "AWS::NoValue"}, "Layers": ["g", "l"]})
        );
    }

    #[test]
    fn schedule_rates() {
        assert_eq!(rate("rate(1 minute)").map(|d| d.as_secs()), Some(60));
        assert_eq!(rate("rate(2 hours)").map(|d| d.as_secs()), Some(7200));
        assert_eq!(rate("cron(0 * * * ? *)"), None);
    }
}
