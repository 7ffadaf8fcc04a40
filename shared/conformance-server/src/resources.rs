//! Resources of the conformance scenarios.

use serde_json::json;

use mcp_protocol::model::{CacheHint, ReadResourceResult, Resource, ResourceContents, ResourceTemplate};
use mcp_server::{DefinitionError, ResourceDef, ResourceTemplateDef};

use crate::media::PNG_1X1;

fn resource(uri: &str, name: &str, description: &str, mime: &str) -> Resource {
    Resource {
        uri: uri.into(),
        name: name.into(),
        title: None,
        description: Some(description.into()),
        mime_type: Some(mime.into()),
        size: None,
        annotations: None,
        icons: None,
        meta: None,
    }
}

pub fn fixed() -> Vec<ResourceDef> {
    vec![
        ResourceDef::new(
            resource("test://static-text", "static-text", "A static text resource", "text/plain"),
            |_ctx, uri| {
                Box::pin(async move {
                    Ok(ReadResourceResult {
                        contents: vec![ResourceContents::text(
                            uri,
                            "text/plain",
                            "This is the content of the static text resource.",
                        )],
                    })
                })
            },
        )
        .cache(CacheHint::public(300_000)),
        ResourceDef::new(
            resource("test://static-binary", "static-binary", "A static binary resource (PNG)", "image/png"),
            |_ctx, uri| {
                Box::pin(async move {
                    Ok(ReadResourceResult { contents: vec![ResourceContents::blob(uri, "image/png", PNG_1X1)] })
                })
            },
        )
        .cache(CacheHint::public(300_000)),
        ResourceDef::new(
            resource("test://watched-resource", "watched-resource", "A resource clients subscribe to", "text/plain"),
            |_ctx, uri| {
                Box::pin(async move {
                    Ok(ReadResourceResult {
                        contents: vec![ResourceContents::text(uri, "text/plain", "Watched resource content.")],
                    })
                })
            },
        ),
    ]
}

pub fn template() -> Result<ResourceTemplateDef, DefinitionError> {
    let t = ResourceTemplate {
        uri_template: "test://template/{id}/data".into(),
        name: "template".into(),
        title: None,
        description: Some("Data for any id".into()),
        mime_type: Some("application/json".into()),
        annotations: None,
        icons: None,
        meta: None,
    };
    ResourceTemplateDef::new(t, |_ctx, uri, vars| {
        Box::pin(async move {
            let id = vars.get("id").cloned().unwrap_or_default();
            let text = json!({ "id": id, "templateTest": true, "data": format!("Data for ID: {id}") }).to_string();
            Ok(ReadResourceResult { contents: vec![ResourceContents::text(uri, "application/json", text)] })
        })
    })
}
