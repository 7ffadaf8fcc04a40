//! `mcp-local new NAME`: a workspace for a server of one's own, from `templates/server/`
//! (the server crate with a tool and its test, the Lambda functions, a local gateway) and
//! the deployment's own `infra/template.yaml` and `samconfig.toml`, all built into this
//! binary. The workspace depends on the framework's crates by path, and starts from the
//! framework's `Cargo.lock`: the versions the framework was tested with.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// The name the template's files use for the server, replaced by the new one's.
const TEMPLATE_NAME: &str = "starter-server";

/// A template file: its path in the new workspace and its text.
const FILES: &[(&str, &str)] = &[
    ("Cargo.toml", include_str!("../../../templates/server/Cargo.toml")),
    ("README.md", include_str!("../../../templates/server/README.md")),
    (".gitignore", include_str!("../../../templates/server/.gitignore")),
    ("server/Cargo.toml", include_str!("../../../templates/server/server/Cargo.toml")),
    ("server/src/lib.rs", include_str!("../../../templates/server/server/src/lib.rs")),
    ("server/tests/tools.rs", include_str!("../../../templates/server/server/tests/tools.rs")),
    ("functions/Cargo.toml", include_str!("../../../templates/server/functions/Cargo.toml")),
    ("functions/src/bin/ws-connect.rs", include_str!("../../../templates/server/functions/src/bin/ws-connect.rs")),
    ("functions/src/bin/ws-message.rs", include_str!("../../../templates/server/functions/src/bin/ws-message.rs")),
    (
        "functions/src/bin/ws-disconnect.rs",
        include_str!("../../../templates/server/functions/src/bin/ws-disconnect.rs"),
    ),
    ("functions/src/bin/ws-sweeper.rs", include_str!("../../../templates/server/functions/src/bin/ws-sweeper.rs")),
    (
        "functions/src/bin/ws-authorizer.rs",
        include_str!("../../../templates/server/functions/src/bin/ws-authorizer.rs"),
    ),
    (
        "functions/src/bin/http-function.rs",
        include_str!("../../../templates/server/functions/src/bin/http-function.rs"),
    ),
    ("functions/src/bin/task-worker.rs", include_str!("../../../templates/server/functions/src/bin/task-worker.rs")),
    ("gateway/Cargo.toml", include_str!("../../../templates/server/gateway/Cargo.toml")),
    ("gateway/src/main.rs", include_str!("../../../templates/server/gateway/src/main.rs")),
];

/// The deployment template, of which a new server gets all but what serves this
/// repository's own servers.
const DEPLOYMENT_TEMPLATE: &str = include_str!("../../../infra/template.yaml");
const SAMCONFIG: &str = include_str!("../../../infra/samconfig.toml");

/// The checkout this binary was built from.
fn built_from() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Creates the workspace of the server `name` in `dir`.
pub fn create(name: &str, dir: &Path, framework: Option<&Path>) -> Result<()> {
    if !is_crate_name(name) {
        bail!("{name:?}: a server's name is lower-case letters, digits and dashes, starting with a letter");
    }
    if dir.exists() {
        bail!("{} exists already", dir.display());
    }
    let framework = framework.map(Path::to_path_buf).unwrap_or_else(built_from);
    let framework = framework
        .canonicalize()
        .with_context(|| format!("the framework's checkout {} (give it with --framework)", framework.display()))?;
    if !framework.join("shared/mcp-server/Cargo.toml").is_file() {
        bail!(
            "{} is not the framework's checkout (no shared/mcp-server): give it with --framework",
            framework.display()
        );
    }
    for (path, text) in FILES {
        let text = text.replace("path = \"../../", &format!("path = \"{}/", framework.display()));
        write(dir, path, &rename(&text, name))?;
    }
    write(dir, "infra/template.yaml", &without_repository_only(DEPLOYMENT_TEMPLATE))?;
    let samconfig = format!("{SAMCONFIG}\n[default.global.parameters]\nstack_name = \"{name}\"\n");
    write(dir, "infra/samconfig.toml", &samconfig)?;
    if let Ok(lock) = std::fs::read_to_string(framework.join("Cargo.lock")) {
        write(dir, "Cargo.lock", &lock)?;
    }
    Ok(())
}

fn write(dir: &Path, path: &str, text: &str) -> Result<()> {
    let path = dir.join(path);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
}

/// The template's text with the new server's name (as a crate, and as a Rust path).
fn rename(text: &str, name: &str) -> String {
    text.replace(TEMPLATE_NAME, name).replace(&TEMPLATE_NAME.replace('-', "_"), &name.replace('-', "_"))
}

/// A name cargo accepts for a package, and one that cannot clash with the workspace's own
/// `functions` and `gateway`.
fn is_crate_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-')
        && !["functions", "gateway", "test", "core", "std"].contains(&name)
}

/// The deployment template without the lines marked `# this repository only` and the blocks
/// between `# this repository only: begin` and `...: end`.
fn without_repository_only(template: &str) -> String {
    let mut kept = String::with_capacity(template.len());
    let mut skipping = false;
    for line in template.lines() {
        let marker = line.trim_start();
        if marker.starts_with("# this repository only: begin") {
            skipping = true;
        } else if marker.starts_with("# this repository only: end") {
            skipping = false;
        } else if !skipping && !line.trim_end().ends_with("# this repository only") {
            kept.push_str(line);
            kept.push('\n');
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_servers_template_keeps_everything_but_the_repositorys_own_servers() {
        let template = without_repository_only(DEPLOYMENT_TEMPLATE);
        assert!(!template.contains("ServerName") && !template.contains("MCP_SERVER"), "{template}");
        assert!(!template.contains("this repository only"));
        let kept = DEPLOYMENT_TEMPLATE.lines().count() - template.lines().count();
        assert!(kept < 15, "{kept} lines left out");
        for resource in ["WsMessageFunction", "HttpFunction", "Table", "RegistryTable", "WebSocketApi"] {
            assert!(template.contains(&format!("\n  {resource}:\n")), "{resource}");
        }
    }

    #[test]
    fn names_become_the_crates_and_the_rust_paths() {
        let text = "starter-server = { path = \"server\" }\nmcp_aws::run_http(starter_server::server)";
        assert_eq!(rename(text, "my-tools"), "my-tools = { path = \"server\" }\nmcp_aws::run_http(my_tools::server)");
        for bad in ["", "My", "1st", "a_b", "gateway", "ends-", "a b"] {
            assert!(!is_crate_name(bad), "{bad:?}");
        }
        assert!(is_crate_name("weather-2"));
    }

    #[test]
    fn a_workspace_is_made_once_and_depends_on_the_framework_by_path() {
        let dir = std::env::temp_dir().join(format!("mcp-local-new-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        create("weather", &dir, None).unwrap();
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        let framework = built_from().canonicalize().unwrap();
        assert!(manifest.contains(&format!("path = \"{}/shared/mcp-server\"", framework.display())), "{manifest}");
        assert!(manifest.contains("weather = { path = \"server\" }"), "{manifest}");
        let main = std::fs::read_to_string(dir.join("functions/src/bin/ws-message.rs")).unwrap();
        assert!(main.contains("mcp_aws::run_websocket(weather::server)"), "{main}");
        assert!(dir.join("infra/template.yaml").is_file() && dir.join("Cargo.lock").is_file());
        let again = create("weather", &dir, None).unwrap_err().to_string();
        assert!(again.contains("exists already"), "{again}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
