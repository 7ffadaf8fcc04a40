//! JSON Schemas from Rust types. A tool's input schema comes from its arguments' type, its
//! output schema from its structured result's, a prompt's arguments from a type's fields:
//! one definition, so the schema a client reads and the serde type the handler receives
//! cannot drift apart. Derive [`JsonSchema`] beside `Deserialize`:
//!
//! - doc comments become `description`s;
//! - `Option` fields and `#[serde(default)]` are not `required`;
//! - `#[serde(deny_unknown_fields)]` becomes `additionalProperties: false`;
//! - `#[schemars(length(max = 1000))]`, `range(..)`, `regex(..)`, `example = ..` add
//!   constraints and examples.
//!
//! Schemas are JSON Schema 2020-12, MCP's dialect.

use schemars::generate::SchemaSettings;
use serde_json::{Map, Value};

use mcp_protocol::model::PromptArgument;

pub use schemars::JsonSchema;

/// The JSON Schema of `T`, as a tool's `inputSchema` or `outputSchema`: 2020-12, with its
/// definitions inline under `$defs`, without the `$schema` and `title` that schemars adds
/// (2020-12 is MCP's default, and the Rust type's name means nothing to a client).
pub fn schema_of<T: JsonSchema>() -> Value {
    let schema = SchemaSettings::draft2020_12().into_generator().into_root_schema_for::<T>();
    let mut value = schema.to_value();
    if let Value::Object(map) = &mut value {
        map.remove("$schema");
        map.remove("title");
    }
    value
}

/// A prompt's arguments from the fields of `T` (prompt arguments are strings: `String` and
/// `Option<String>` fields): each field's name, its doc comment as the description, its
/// `title` if the type gives one, and whether it is required. Required arguments come
/// first, each group by name (a schema's properties keep no order).
pub fn prompt_arguments<T: JsonSchema>() -> Vec<PromptArgument> {
    let schema = schema_of::<T>();
    let required: Vec<&str> =
        schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
    let empty = Map::new();
    let properties = schema.get("properties").and_then(Value::as_object).unwrap_or(&empty);
    let mut arguments = properties
        .iter()
        .map(|(name, property)| {
            let text = |key: &str| property.get(key).and_then(Value::as_str).map(str::to_owned);
            PromptArgument {
                name: name.clone(),
                title: text("title"),
                description: text("description"),
                required: Some(required.contains(&name.as_str())),
            }
        })
        .collect::<Vec<_>>();
    // A stable sort: each group stays in name order.
    arguments.sort_by_key(|a| a.required != Some(true));
    arguments
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    /// Arguments of a tool that refuses what it does not know.
    #[derive(Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Strict {
        /// Text to repeat.
        text: String,
        /// How often.
        #[schemars(range(min = 1, max = 10))]
        times: Option<u8>,
    }

    /// Whether serde accepts `value` as a `Strict`, and whether the derived schema does.
    fn verdicts(value: &Value) -> (bool, bool) {
        let validator = jsonschema::draft202012::new(&schema_of::<Strict>()).unwrap();
        (serde_json::from_value::<Strict>(value.clone()).is_ok(), validator.is_valid(value))
    }

    #[test]
    fn a_derived_schema_and_serde_agree_on_good_and_bad_input() {
        for (case, value, accepted) in [
            ("all fields", json!({ "text": "hi", "times": 3 }), true),
            ("an optional field left out", json!({ "text": "hi" }), true),
            ("a wrong type", json!({ "text": 5 }), false),
            ("a wrong type in an optional field", json!({ "text": "hi", "times": "3" }), false),
            ("a missing field", json!({ "times": 3 }), false),
            ("an extra field", json!({ "text": "hi", "loud": true }), false),
            ("not an object", json!(["hi"]), false),
        ] {
            assert_eq!(verdicts(&value), (accepted, accepted), "{case}: {value}");
        }
    }

    #[test]
    fn a_schema_says_what_the_type_says_and_nothing_rust_only() {
        let schema = schema_of::<Strict>();
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(schema["required"], json!(["text"]));
        assert_eq!(schema["properties"]["text"]["description"], "Text to repeat.");
        assert_eq!(schema["properties"]["times"]["maximum"], 10);
        assert!(schema.get("$schema").is_none() && schema.get("title").is_none(), "{schema}");
    }

    #[test]
    fn prompt_arguments_come_from_the_fields() {
        #[derive(JsonSchema)]
        #[allow(dead_code)]
        struct Review {
            /// Which note.
            name: String,
            /// What to look at.
            focus: Option<String>,
        }
        let arguments = prompt_arguments::<Review>();
        let summary: Vec<_> =
            arguments.iter().map(|a| (a.name.as_str(), a.description.as_deref(), a.required)).collect();
        assert_eq!(
            summary,
            [("name", Some("Which note."), Some(true)), ("focus", Some("What to look at."), Some(false))]
        );
    }
}
