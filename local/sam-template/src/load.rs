//! YAML to JSON, with CloudFormation's short-form tags turned into the long form
//! (`!Ref X` -> `{"Ref": "X"}`, `!GetAtt A.B` -> `{"Fn::GetAtt": ["A", "B"]}`,
//! `!Sub s` -> `{"Fn::Sub": s}`, ...), which is what the rest of the crate evaluates.

use serde_json::{Map, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::TemplateError;

/// Parses a template (YAML or JSON, which is YAML).
pub fn parse(text: &str) -> Result<Value, TemplateError> {
    let mut builder = Builder::default();
    Parser::new_from_str(text).load(&mut builder, false).map_err(|e| TemplateError::Parse(e.to_string()))?;
    if let Some(error) = builder.error {
        return Err(TemplateError::Parse(error));
    }
    builder.done.ok_or_else(|| TemplateError::Parse("empty document".into()))
}

/// A node being built: a list or a map (with the key waiting for its value), and the tag
/// that wraps it once complete.
enum Open {
    List(Vec<Value>, Option<Tag>),
    Map(Map<String, Value>, Option<String>, Option<Tag>),
}

#[derive(Default)]
struct Builder {
    stack: Vec<Open>,
    done: Option<Value>,
    error: Option<String>,
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        let node = match event {
            Event::SequenceStart(_, tag) => {
                self.stack.push(Open::List(Vec::new(), tag));
                return;
            }
            Event::MappingStart(_, tag) => {
                self.stack.push(Open::Map(Map::new(), None, tag));
                return;
            }
            Event::SequenceEnd | Event::MappingEnd => match self.stack.pop() {
                Some(Open::List(items, tag)) => tagged(Value::Array(items), tag),
                Some(Open::Map(map, _, tag)) => tagged(Value::Object(map), tag),
                None => return,
            },
            Event::Scalar(text, style, _, tag) => {
                let value =
                    if style == TScalarStyle::Plain && tag.is_none() { plain(&text) } else { Value::String(text) };
                tagged(value, tag)
            }
            Event::Alias(_) => {
                self.error = Some(format!("line {}: YAML aliases are not supported in templates", mark.line()));
                return;
            }
            _ => return,
        };
        self.insert(node);
    }
}

impl Builder {
    fn insert(&mut self, node: Value) {
        match self.stack.last_mut() {
            None => self.done = Some(node),
            Some(Open::List(items, _)) => items.push(node),
            Some(Open::Map(map, key, _)) => match key.take() {
                None => match node {
                    Value::String(k) => *key = Some(k),
                    other => *key = Some(other.to_string()),
                },
                Some(k) => {
                    map.insert(k, node);
                }
            },
        }
    }
}

/// A plain scalar's YAML type: null, booleans and numbers; anything else is a string.
fn plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        _ => {
            if let Ok(n) = text.parse::<i64>() {
                Value::from(n)
            } else if let Some(n) = text.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
                Value::Number(n)
            } else {
                Value::String(text.to_owned())
            }
        }
    }
}

/// A node under a CloudFormation short-form tag, in the long form.
fn tagged(value: Value, tag: Option<Tag>) -> Value {
    let Some(tag) = tag else { return value };
    if tag.handle != "!" {
        return value; // a standard YAML tag (`!!str`): the value as it is
    }
    let name = tag.suffix;
    let single = |key: &str, value: Value| Value::Object(Map::from_iter([(key.to_owned(), value)]));
    match name.as_str() {
        "Ref" => single("Ref", value),
        "Condition" => single("Condition", value),
        "GetAtt" => match value {
            // `!GetAtt Resource.Attribute.With.Dots`: the resource is up to the first dot.
            Value::String(s) => {
                let (resource, attribute) = s.split_once('.').unwrap_or((&s, ""));
                single("Fn::GetAtt", Value::from(vec![resource.to_owned(), attribute.to_owned()]))
            }
            other => single("Fn::GetAtt", other),
        },
        _ => single(&format!("Fn::{name}"), value),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::parse;

    #[test]
    fn short_forms_become_long_forms() {
        let v = parse(
            "A: !Ref X\nB: !GetAtt Cache.Endpoint.Address\nC: !Sub \"${X}-y\"\nD: !If [c, 1, !Ref AWS::NoValue]\nE: \"2012-10-17\"\nF: 29\nG: [a, 'b']\n",
        )
        .unwrap();
        assert_eq!(
            v,
            json!({
                "A": {"Ref": "X"},
                "B": {"Fn::GetAtt": ["Cache", "Endpoint.Address"]},
                "C": {"Fn::Sub": "${X}-y"},
                "D": {"Fn::If": ["c", 1, {"Ref": "AWS::NoValue"}]},
                "E": "2012-10-17",
                "F": 29,
                "G": ["a", "b"],
            })
        );
    }

    #[test]
    fn a_bad_document_is_an_error() {
        assert!(parse("A: [unclosed").is_err());
        assert!(parse("A: &x 1\nB: *x\n").is_err(), "aliases");
    }
}
