//! Content blocks (text, image, audio, resource links, embedded resources), annotations,
//! resource contents and icons.

use serde::{Deserialize, Serialize};

use super::meta::Meta;

/// The sender or recipient of a message, or the audience of content: `"user"` or `"assistant"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// `"user"`: the human side of the conversation.
    User,
    /// `"assistant"`: the model side of the conversation.
    Assistant,
}

/// Hints about how a client should use or show an object.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Annotations {
    /// `audience`: who the object is meant for, one or both roles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<Vec<Role>>,
    /// `priority`: importance from 0 (least) to 1 (most, effectively required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<f64>,
    /// `lastModified`: when the object last changed, as an ISO 8601 timestamp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
}

/// An icon a client may show for a tool, prompt, resource or implementation (2025-11-25 and later).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Icon {
    /// `src`: an HTTP(S) URL or a `data:` URI of the image.
    pub src: String,
    /// `mimeType`: the image's media type, when the URL does not make it clear.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// `sizes`: the sizes the image suits, such as `"48x48"`, or `"any"` for scalable formats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sizes: Option<Vec<String>>,
    /// `theme`: the background the icon is made for, `"light"` or `"dark"`; absent means any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theme: Option<String>,
}

/// The contents of a resource: text or base64 bytes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceContents {
    /// The resource's URI.
    pub uri: String,
    /// `mimeType`: the media type of the contents, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// The contents as text, for text resources; `None` when `blob` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Base64 of the bytes, for binary resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blob: Option<String>,
    /// `_meta`: metadata attached to these contents.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl ResourceContents {
    /// Text contents of `uri` with the given media type.
    pub fn text(uri: impl Into<String>, mime_type: impl Into<String>, text: impl Into<String>) -> Self {
        ResourceContents {
            uri: uri.into(),
            mime_type: Some(mime_type.into()),
            text: Some(text.into()),
            blob: None,
            meta: None,
        }
    }

    /// `blob` is the base64 encoding of the bytes.
    pub fn blob(uri: impl Into<String>, mime_type: impl Into<String>, blob: impl Into<String>) -> Self {
        ResourceContents {
            uri: uri.into(),
            mime_type: Some(mime_type.into()),
            text: None,
            blob: Some(blob.into()),
            meta: None,
        }
    }
}

/// One block of content in a tool result, prompt message or sampling message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentBlock {
    /// `type: "text"`: plain text.
    Text {
        /// The text.
        text: String,
        /// Hints about audience and priority.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        annotations: Option<Annotations>,
        /// `_meta`: metadata attached to the block.
        #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
        meta: Option<Meta>,
    },
    /// `type: "image"`: base64 image bytes and their media type.
    Image {
        /// Base64 of the image bytes.
        data: String,
        /// `mimeType`: the image's media type, such as `image/png`.
        #[serde(rename = "mimeType")]
        mime_type: String,
        /// Hints about audience and priority.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        annotations: Option<Annotations>,
        /// `_meta`: metadata attached to the block.
        #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
        meta: Option<Meta>,
    },
    /// `type: "audio"`: base64 audio bytes and their media type (2025-03-26 and later).
    Audio {
        /// Base64 of the audio bytes.
        data: String,
        /// `mimeType`: the audio's media type, such as `audio/wav`.
        #[serde(rename = "mimeType")]
        mime_type: String,
        /// Hints about audience and priority.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        annotations: Option<Annotations>,
        /// `_meta`: metadata attached to the block.
        #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
        meta: Option<Meta>,
    },
    /// `type: "resource_link"`: a link to a resource, not its contents (2025-06-18 and later).
    ResourceLink(ResourceLink),
    /// `type: "resource"`: a resource's contents embedded in the block.
    Resource {
        /// The embedded contents.
        resource: ResourceContents,
        /// Hints about audience and priority.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        annotations: Option<Annotations>,
        /// `_meta`: metadata attached to the block.
        #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
        meta: Option<Meta>,
    },
}

/// A link to a resource the client may read (or subscribe to) later.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceLink {
    /// The linked resource's URI.
    pub uri: String,
    /// `name`: a programmatic identifier of the resource.
    pub name: String,
    /// `title`: a human-readable name for display.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What the resource is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `mimeType`: the resource's media type, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// The size of the raw contents in bytes, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Hints about audience and priority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Annotations>,
}

impl ContentBlock {
    /// A text block without annotations or `_meta`.
    pub fn text(text: impl Into<String>) -> Self {
        ContentBlock::Text { text: text.into(), annotations: None, meta: None }
    }

    /// `data` is base64.
    pub fn image(data: impl Into<String>, mime_type: impl Into<String>) -> Self {
        ContentBlock::Image { data: data.into(), mime_type: mime_type.into(), annotations: None, meta: None }
    }

    /// `data` is base64.
    pub fn audio(data: impl Into<String>, mime_type: impl Into<String>) -> Self {
        ContentBlock::Audio { data: data.into(), mime_type: mime_type.into(), annotations: None, meta: None }
    }

    /// An embedded-resource block holding `resource`.
    pub fn resource(resource: ResourceContents) -> Self {
        ContentBlock::Resource { resource, annotations: None, meta: None }
    }

    /// A resource-link block with only the required `uri` and `name`.
    pub fn resource_link(uri: impl Into<String>, name: impl Into<String>) -> Self {
        ContentBlock::ResourceLink(ResourceLink {
            uri: uri.into(),
            name: name.into(),
            title: None,
            description: None,
            mime_type: None,
            size: None,
            annotations: None,
        })
    }
}
