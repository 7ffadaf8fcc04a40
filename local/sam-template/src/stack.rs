//! A template deployed as a stack: parameter values (defaults and overrides), conditions,
//! and intrinsic functions evaluated against the physical names and attributes of its
//! resources. Where CloudFormation would make up a name or an address, the stack's
//! [`StackSettings`] give one (a local emulator's endpoint, a table's name).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::TemplateError;

/// Where the stack is, and what its resources are called once "deployed".
#[derive(Clone, Debug)]
pub struct StackSettings {
    pub name: String,
    pub region: String,
    pub account: String,
    /// Parameter values given at deploy time (`ParameterKey=...`), by name; a
    /// `CommaDelimitedList` is given comma-separated.
    pub parameters: BTreeMap<String, String>,
    /// What `Ref` of a resource returns, by logical id, where the default would not do (an
    /// emulator's ARN for a secret, say).
    pub refs: BTreeMap<String, String>,
    /// Physical names by logical id; the default is `{stack}-{logical id}`.
    pub names: BTreeMap<String, String>,
    /// `Fn::GetAtt` values by `Resource.Attribute` (an emulator's address for a cache's
    /// `Endpoint.Address`, say), where the default would not do.
    pub attributes: BTreeMap<String, String>,
}

impl StackSettings {
    pub fn new(name: &str) -> StackSettings {
        StackSettings {
            name: name.to_owned(),
            region: "us-east-1".to_owned(),
            account: "123456789012".to_owned(),
            parameters: BTreeMap::new(),
            refs: BTreeMap::new(),
            names: BTreeMap::new(),
            attributes: BTreeMap::new(),
        }
    }
}

/// The template with its parameters and conditions settled.
#[derive(Debug)]
pub struct Stack {
    template: Value,
    settings: StackSettings,
    parameters: BTreeMap<String, Value>,
    conditions: BTreeMap<String, bool>,
}

/// What `AWS::NoValue` resolves to before it is taken out of its map or list.
const NO_VALUE: &str = "\u{0}AWS::NoValue";

impl Stack {
    pub fn new(template: Value, settings: StackSettings) -> Result<Stack, TemplateError> {
        let mut stack = Stack { template, settings, parameters: BTreeMap::new(), conditions: BTreeMap::new() };
        stack.parameters = stack.parameter_values()?;
        let names: Vec<String> = stack.section("Conditions").keys().cloned().collect();
        for name in names {
            let value = stack.condition_value(&name, 0)?;
            stack.conditions.insert(name, value);
        }
        stack.check_rules()?;
        Ok(stack)
    }

    /// The `Rules` section, as CloudFormation checks it before creating anything: each rule
    /// whose `RuleCondition` holds (or that has none) must see every `Assert` hold, or the
    /// stack is refused with the assertion's description.
    fn check_rules(&self) -> Result<(), TemplateError> {
        for (name, rule) in self.section("Rules") {
            let applies = match rule.get("RuleCondition") {
                Some(condition) => self.truth(condition, 0)?,
                None => true,
            };
            if !applies {
                continue;
            }
            let assertions = rule.get("Assertions").and_then(Value::as_array).into_iter().flatten();
            for assertion in assertions {
                if !self.truth(&assertion["Assert"], 0)? {
                    let why =
                        assertion.get("AssertDescription").and_then(Value::as_str).unwrap_or("an assertion failed");
                    return Err(TemplateError::Invalid(format!("rule {name}: {why}")));
                }
            }
        }
        Ok(())
    }

    pub fn settings(&self) -> &StackSettings {
        &self.settings
    }

    /// A top-level section (`Resources`, `Globals`, ...), empty if absent.
    pub fn section(&self, name: &str) -> &Map<String, Value> {
        static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
        self.template.get(name).and_then(Value::as_object).unwrap_or_else(|| EMPTY.get_or_init(Map::new))
    }

    /// A resource's definition (type, properties, metadata, ...).
    pub fn resource(&self, logical: &str) -> Result<&Value, TemplateError> {
        self.section("Resources").get(logical).ok_or_else(|| TemplateError::Unknown(format!("resource {logical}")))
    }

    /// The resources of a type whose condition holds, by logical id.
    pub fn resources_of_type<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = (&'a str, &'a Value)> + 'a {
        self.section("Resources").iter().filter(move |(_, r)| r["Type"] == kind).filter_map(move |(id, r)| {
            let exists = r.get("Condition").and_then(Value::as_str).is_none_or(|c| self.condition(c).unwrap_or(false));
            exists.then_some((id.as_str(), r))
        })
    }

    pub fn condition(&self, name: &str) -> Result<bool, TemplateError> {
        self.conditions.get(name).copied().ok_or_else(|| TemplateError::Unknown(format!("condition {name}")))
    }

    /// A parameter's value: a string, or a list of strings for `CommaDelimitedList`.
    pub fn parameter(&self, name: &str) -> Option<&Value> {
        self.parameters.get(name)
    }

    /// A resource's physical name.
    pub fn physical_name(&self, logical: &str) -> String {
        self.settings.names.get(logical).cloned().unwrap_or_else(|| format!("{}-{logical}", self.settings.name))
    }

    /// Evaluates every intrinsic function in `value`; `AWS::NoValue` takes its key or list
    /// item out, and is `None` when it is the whole value.
    pub fn resolve(&self, value: &Value) -> Result<Option<Value>, TemplateError> {
        let v = self.eval(value, 0)?;
        Ok(strip_no_value(v))
    }

    /// [`resolve`](Self::resolve) to a string (numbers and booleans as CloudFormation
    /// passes them: their text).
    pub fn resolve_string(&self, value: &Value) -> Result<Option<String>, TemplateError> {
        Ok(self.resolve(value)?.map(|v| scalar_text(&v)))
    }

    fn parameter_values(&self) -> Result<BTreeMap<String, Value>, TemplateError> {
        let mut values = BTreeMap::new();
        for (name, declared) in self.section("Parameters") {
            let given = self.settings.parameters.get(name).cloned();
            let default = declared.get("Default").map(scalar_text);
            let Some(text) = given.or(default) else {
                return Err(TemplateError::Invalid(format!("parameter {name} has no value and no default")));
            };
            if let Some(allowed) = declared.get("AllowedValues").and_then(Value::as_array)
                && !allowed.iter().any(|a| scalar_text(a) == text)
            {
                return Err(TemplateError::Invalid(format!("parameter {name}: {text:?} is not an allowed value")));
            }
            let value = match declared["Type"].as_str() {
                Some(t) if t.starts_with("List<") || t == "CommaDelimitedList" => Value::from(
                    text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect::<Vec<_>>(),
                ),
                _ => Value::String(text),
            };
            values.insert(name.clone(), value);
        }
        Ok(values)
    }

    fn condition_value(&self, name: &str, depth: usize) -> Result<bool, TemplateError> {
        if let Some(v) = self.conditions.get(name) {
            return Ok(*v);
        }
        let definition =
            self.section("Conditions").get(name).ok_or_else(|| TemplateError::Unknown(format!("condition {name}")))?;
        self.truth(definition, depth + 1)
    }

    /// A condition function's value.
    fn truth(&self, node: &Value, depth: usize) -> Result<bool, TemplateError> {
        if depth > MAX_DEPTH {
            return Err(TemplateError::Invalid("conditions nest too deep (a cycle?)".into()));
        }
        let (function, args) =
            single(node).ok_or_else(|| TemplateError::Invalid(format!("not a condition: {node}")))?;
        let list = || args.as_array().ok_or_else(|| TemplateError::Invalid(format!("{function}: expects a list")));
        match function {
            "Condition" => self.condition_value(text(args, function)?, depth),
            "Fn::Equals" => {
                let l = list()?;
                if l.len() != 2 {
                    return Err(TemplateError::Invalid("Fn::Equals: expects two values".into()));
                }
                Ok(self.eval(&l[0], depth)? == self.eval(&l[1], depth)?)
            }
            "Fn::Not" => Ok(!self.truth(list()?.first().unwrap_or(&Value::Null), depth + 1)?),
            "Fn::And" => list()?.iter().try_fold(true, |all, c| Ok(all && self.truth(c, depth + 1)?)),
            "Fn::Or" => list()?.iter().try_fold(false, |any, c| Ok(any || self.truth(c, depth + 1)?)),
            other => Err(TemplateError::Unsupported(format!("{other} in a condition"))),
        }
    }

    fn eval(&self, node: &Value, depth: usize) -> Result<Value, TemplateError> {
        if depth > MAX_DEPTH {
            return Err(TemplateError::Invalid("intrinsic functions nest too deep".into()));
        }
        match node {
            Value::Array(items) => {
                let items = items.iter().map(|i| self.eval(i, depth + 1)).collect::<Result<Vec<_>, _>>()?;
                Ok(Value::Array(items))
            }
            Value::Object(map) => match single(node).filter(|(k, _)| is_intrinsic(k)) {
                Some((function, args)) => self.intrinsic(function, args, depth + 1),
                None => {
                    let mut out = Map::new();
                    for (k, v) in map {
                        out.insert(k.clone(), self.eval(v, depth + 1)?);
                    }
                    Ok(Value::Object(out))
                }
            },
            other => Ok(other.clone()),
        }
    }

    fn intrinsic(&self, function: &str, args: &Value, depth: usize) -> Result<Value, TemplateError> {
        let list = |n: usize| -> Result<&Vec<Value>, TemplateError> {
            match args.as_array() {
                Some(l) if l.len() == n => Ok(l),
                _ => Err(TemplateError::Invalid(format!("{function}: expects a list of {n}"))),
            }
        };
        match function {
            "Ref" => self.reference(text(args, "Ref")?),
            "Fn::GetAtt" => {
                let l = list(2)?;
                let resource = text(&self.eval(&l[0], depth)?, "Fn::GetAtt")?.to_owned();
                let attribute = text(&self.eval(&l[1], depth)?, "Fn::GetAtt")?.to_owned();
                self.attribute(&resource, &attribute).map(Value::String)
            }
            "Fn::Sub" => {
                let (pattern, vars) = match args {
                    Value::String(s) => (s.clone(), Map::new()),
                    Value::Array(l) if l.len() == 2 => {
                        let pattern = text(&l[0], "Fn::Sub")?.to_owned();
                        let vars = self.eval(&l[1], depth)?.as_object().cloned().unwrap_or_default();
                        (pattern, vars)
                    }
                    _ => return Err(TemplateError::Invalid("Fn::Sub: expects a string or [string, map]".into())),
                };
                self.substitute(&pattern, &vars).map(Value::String)
            }
            "Fn::If" => {
                let l = list(3)?;
                let chosen = if self.condition(text(&l[0], "Fn::If")?)? { &l[1] } else { &l[2] };
                self.eval(chosen, depth)
            }
            "Fn::Join" => {
                let l = list(2)?;
                let delimiter = text(&l[0], "Fn::Join")?.to_owned();
                let parts = self.eval(&l[1], depth)?;
                let parts =
                    parts.as_array().ok_or_else(|| TemplateError::Invalid("Fn::Join: expects a list".into()))?;
                let parts: Vec<String> = parts.iter().filter(|p| !is_no_value(p)).map(scalar_text).collect();
                Ok(Value::String(parts.join(&delimiter)))
            }
            "Fn::Select" => {
                let l = list(2)?;
                let index = scalar_text(&self.eval(&l[0], depth)?)
                    .parse::<usize>()
                    .map_err(|_| TemplateError::Invalid("Fn::Select: the index is not a number".into()))?;
                let items = self.eval(&l[1], depth)?;
                let items =
                    items.as_array().ok_or_else(|| TemplateError::Invalid("Fn::Select: expects a list".into()))?;
                items.get(index).cloned().ok_or_else(|| TemplateError::Invalid(format!("Fn::Select: no item {index}")))
            }
            "Fn::Split" => {
                let l = list(2)?;
                let delimiter = text(&l[0], "Fn::Split")?.to_owned();
                let whole = scalar_text(&self.eval(&l[1], depth)?);
                Ok(Value::from(whole.split(delimiter.as_str()).map(str::to_owned).collect::<Vec<_>>()))
            }
            "Fn::GetAZs" => {
                let region = &self.settings.region;
                Ok(Value::from(["a", "b", "c"].iter().map(|z| format!("{region}{z}")).collect::<Vec<_>>()))
            }
            "Fn::FindInMap" => {
                let l = list(3)?;
                let keys =
                    l.iter().map(|k| self.eval(k, depth).map(|v| scalar_text(&v))).collect::<Result<Vec<_>, _>>()?;
                self.section("Mappings")
                    .get(&keys[0])
                    .and_then(|m| m.get(&keys[1]))
                    .and_then(|m| m.get(&keys[2]))
                    .cloned()
                    .ok_or_else(|| TemplateError::Unknown(format!("mapping {}", keys.join("."))))
            }
            "Fn::Equals" | "Fn::Not" | "Fn::And" | "Fn::Or" | "Condition" => {
                let node = Value::Object(Map::from_iter([(function.to_owned(), args.clone())]));
                self.truth(&node, depth).map(Value::Bool)
            }
            other => Err(TemplateError::Unsupported(other.to_owned())),
        }
    }

    /// `Ref`: a parameter's value, a pseudo parameter, or a resource's physical id.
    fn reference(&self, name: &str) -> Result<Value, TemplateError> {
        if let Some(v) = self.parameters.get(name) {
            return Ok(v.clone());
        }
        let s = &self.settings;
        let pseudo = match name {
            "AWS::NoValue" => Some(NO_VALUE.to_owned()),
            "AWS::Region" => Some(s.region.clone()),
            "AWS::AccountId" => Some(s.account.clone()),
            "AWS::StackName" => Some(s.name.clone()),
            "AWS::StackId" => Some(self.stack_id()),
            "AWS::Partition" => Some("aws".to_owned()),
            "AWS::URLSuffix" => Some("amazonaws.com".to_owned()),
            _ => None,
        };
        if let Some(p) = pseudo {
            return Ok(Value::String(p));
        }
        if let Some(r) = s.refs.get(name) {
            return Ok(Value::String(r.clone()));
        }
        let resource = self.resource(name)?;
        let properties = &resource["Properties"];
        let id = match resource["Type"].as_str().unwrap_or("") {
            "AWS::IAM::ManagedPolicy" => format!("arn:aws:iam::{}:policy/{}", s.account, self.physical_name(name)),
            "AWS::SecretsManager::Secret" => {
                self.arn("secretsmanager", &format!("secret:{}", self.physical_name(name)))
            }
            "AWS::ElastiCache::User" => self.property_text(properties, "UserId", name)?,
            "AWS::ElastiCache::UserGroup" => self.property_text(properties, "UserGroupId", name)?,
            "AWS::ElastiCache::ServerlessCache" => self.property_text(properties, "ServerlessCacheName", name)?,
            // API Gateway ids are ten lowercase letters and digits.
            "AWS::ApiGatewayV2::Api" | "AWS::ApiGatewayV2::Authorizer" | "AWS::ApiGatewayV2::Integration" => {
                s.names.get(name).cloned().unwrap_or_else(|| api_id(&format!("{}{name}", s.name)))
            }
            _ => self.physical_name(name),
        };
        Ok(Value::String(id))
    }

    /// `Fn::GetAtt` of the attributes this crate knows how CloudFormation forms.
    fn attribute(&self, resource: &str, attribute: &str) -> Result<String, TemplateError> {
        if let Some(v) = self.settings.attributes.get(&format!("{resource}.{attribute}")) {
            return Ok(v.clone());
        }
        let definition = self.resource(resource)?;
        let kind = definition["Type"].as_str().unwrap_or("");
        let id = || self.reference(resource).map(|v| scalar_text(&v));
        let value = match (kind, attribute) {
            ("AWS::DynamoDB::Table", "Arn") => self.arn("dynamodb", &format!("table/{}", id()?)),
            ("AWS::Serverless::Function" | "AWS::Lambda::Function", "Arn") => {
                self.arn("lambda", &format!("function:{}", id()?))
            }
            ("AWS::ElastiCache::User", "Arn") => self.arn("elasticache", &format!("user:{}", id()?)),
            ("AWS::ElastiCache::UserGroup", "Arn") => self.arn("elasticache", &format!("usergroup:{}", id()?)),
            ("AWS::ElastiCache::ServerlessCache", "ARN") => {
                self.arn("elasticache", &format!("serverlesscache:{}", id()?))
            }
            ("AWS::ElastiCache::ServerlessCache", "Endpoint.Address") => {
                format!("{}.serverless.{}.cache.amazonaws.com", id()?, self.settings.region)
            }
            ("AWS::ElastiCache::ServerlessCache", "Endpoint.Port") => "6379".to_owned(),
            ("AWS::Logs::LogGroup", "Arn") => self.arn("logs", &format!("log-group:{}:*", id()?)),
            ("AWS::IAM::Role", "Arn") => format!("arn:aws:iam::{}:role/{}", self.settings.account, id()?),
            _ => return Err(TemplateError::Unsupported(format!("Fn::GetAtt {resource}.{attribute} ({kind})"))),
        };
        Ok(value)
    }

    fn arn(&self, service: &str, rest: &str) -> String {
        format!("arn:aws:{service}:{}:{}:{rest}", self.settings.region, self.settings.account)
    }

    fn property_text(&self, properties: &Value, property: &str, resource: &str) -> Result<String, TemplateError> {
        let value = properties.get(property).ok_or_else(|| TemplateError::Unknown(format!("{resource}.{property}")))?;
        self.resolve_string(value)?.ok_or_else(|| TemplateError::Unknown(format!("{resource}.{property}")))
    }

    /// A stable stack id: its UUID made from the stack's name.
    fn stack_id(&self) -> String {
        let h = fnv(self.settings.name.as_bytes());
        let uuid = format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            h >> 32,
            h & 0xffff,
            (h >> 16) & 0xfff,
            (h >> 8) & 0xfff,
            h & 0xffff_ffff_ffff
        );
        format!(
            "arn:aws:cloudformation:{}:{}:stack/{}/{uuid}",
            self.settings.region, self.settings.account, self.settings.name
        )
    }

    /// `Fn::Sub`: `${Name}`, `${Resource.Attribute}`, `${!Literal}`.
    fn substitute(&self, pattern: &str, vars: &Map<String, Value>) -> Result<String, TemplateError> {
        let mut out = String::new();
        let mut rest = pattern;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| TemplateError::Invalid(format!("Fn::Sub: unclosed ${{ in {pattern:?}")))?;
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some(v) = vars.get(name) {
                out.push_str(&scalar_text(v));
            } else if let Some((resource, attribute)) = name.split_once('.') {
                out.push_str(&self.attribute(resource, attribute)?);
            } else {
                out.push_str(&scalar_text(&self.reference(name)?));
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

const MAX_DEPTH: usize = 64;

fn single(node: &Value) -> Option<(&str, &Value)> {
    let map = node.as_object()?;
    if map.len() != 1 {
        return None;
    }
    map.iter().next().map(|(k, v)| (k.as_str(), v))
}

/// `Ref`, `Condition` and `Fn::*`: a map with one such key is a function call.
pub(crate) fn is_intrinsic(key: &str) -> bool {
    key == "Ref" || key == "Condition" || key.starts_with("Fn::")
}

/// Whether a value is one intrinsic function call (SAM's Globals treat those as scalars).
pub(crate) fn is_call(node: &Value) -> bool {
    single(node).is_some_and(|(k, _)| is_intrinsic(k))
}

fn text<'a>(v: &'a Value, what: &str) -> Result<&'a str, TemplateError> {
    v.as_str().ok_or_else(|| TemplateError::Invalid(format!("{what}: expects a string, got {v}")))
}

/// A scalar as CloudFormation passes it on: strings as they are, numbers and booleans as
/// their text.
pub fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn is_no_value(v: &Value) -> bool {
    v.as_str() == Some(NO_VALUE)
}

/// Takes `AWS::NoValue` out of maps and lists.
fn strip_no_value(v: Value) -> Option<Value> {
    match v {
        v if is_no_value(&v) => None,
        Value::Array(items) => Some(Value::Array(items.into_iter().filter_map(strip_no_value).collect())),
        Value::Object(map) => {
            Some(Value::Object(map.into_iter().filter_map(|(k, v)| strip_no_value(v).map(|v| (k, v))).collect()))
        }
        other => Some(other),
    }
}

/// A ten-character API id made from a name.
fn api_id(name: &str) -> String {
    let mut h = fnv(name.as_bytes());
    (0..10)
        .map(|_| {
            let c = b"abcdefghijklmnopqrstuvwxyz0123456789"[(h % 36) as usize] as char;
            h /= 36;
            c
        })
        .collect()
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::{Stack, StackSettings};
    use crate::load::parse;

    const TEMPLATE: &str = r#"
Parameters:
  Tier: { Type: String, Default: serverless, AllowedValues: [serverless, none] }
  Origins: { Type: CommaDelimitedList, Default: "" }
  Limit: { Type: Number, Default: 600 }
Conditions:
  UseRedis: !Equals [!Ref Tier, serverless]
  NoRedis: !Not [!Condition UseRedis]
Resources:
  Table: { Type: AWS::DynamoDB::Table, Properties: {} }
  User:
    Type: AWS::ElastiCache::User
    Properties:
      UserId: !Join ["-", ["fn", !Select [0, !Split ["-", !Select [2, !Split ["/", !Ref AWS::StackId]]]]]]
"#;

    fn stack(parameters: &[(&str, &str)]) -> Stack {
        let mut settings = StackSettings::new("demo");
        settings.parameters = parameters.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Stack::new(parse(TEMPLATE).unwrap(), settings).unwrap()
    }

    #[test]
    fn parameters_and_conditions_take_defaults_and_overrides() {
        let s = stack(&[]);
        assert!(s.condition("UseRedis").unwrap());
        assert!(!s.condition("NoRedis").unwrap());
        assert_eq!(s.resolve(&json!({"Ref": "Limit"})).unwrap(), Some(json!("600")), "Ref of a Number is a string");
        let s = stack(&[("Tier", "none"), ("Origins", "a, b")]);
        assert!(!s.condition("UseRedis").unwrap());
        assert_eq!(s.resolve(&json!({"Ref": "Origins"})).unwrap(), Some(json!(["a", "b"])));
        let mut settings = StackSettings::new("demo");
        settings.parameters.insert("Tier".into(), "other".into());
        assert!(Stack::new(parse(TEMPLATE).unwrap(), settings).is_err(), "not an allowed value");
    }

    #[test]
    fn intrinsics_resolve_and_no_value_disappears() {
        let s = stack(&[]);
        let v = json!({
            "A": {"Fn::If": ["NoRedis", "x", {"Ref": "AWS::NoValue"}]},
            "B": [1, {"Ref": "AWS::NoValue"}, 2],
            "C": {"Fn::Sub": "${Table.Arn}/index/*"},
            "D": {"Fn::Sub": ["${X}-${AWS::Region}-${!Literal}", {"X": {"Ref": "Table"}}]},
            "E": {"Ref": "User"},
        });
        let r = s.resolve(&v).unwrap().unwrap();
        assert_eq!(r.get("A"), None);
        assert_eq!(r["B"], json!([1, 2]));
        assert_eq!(r["C"], "arn:aws:dynamodb:us-east-1:123456789012:table/demo-Table/index/*");
        assert_eq!(r["D"], "demo-Table-us-east-1-${Literal}");
        let user = r["E"].as_str().unwrap();
        assert!(user.starts_with("fn-") && user.len() == 11, "{user}: the stack id's first UUID group");
    }
}
