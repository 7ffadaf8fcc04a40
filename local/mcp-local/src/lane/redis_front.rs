//! The cache's front door, one per function: ElastiCache checks a connection's IAM token
//! when it authenticates, against `elasticache:Connect` on the cache and the user. Each
//! function's Redis URL points at a port of its own here; the first command of every
//! connection (`AUTH` or `HELLO ... AUTH`) is checked against what the template grants the
//! function, and the token against the cache and user it must be signed for. Then the bytes
//! flow to Redis untouched (cluster mode then connects to the node Redis names directly).

use std::collections::BTreeMap;

use anyhow::Context;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use sam_template::{Function, Stack};

use super::permissions::Permissions;
use crate::cli::Args;

/// How much of a connection's first command is read before it is judged.
const MAX_FIRST_COMMAND: usize = 64 * 1024;

/// A front for every function configured with Redis; its port by function name.
pub async fn start(
    args: &Args,
    stack: &Stack,
    functions: &[Function],
    permissions: Permissions,
) -> anyhow::Result<BTreeMap<String, u16>> {
    let Some(url) = &args.redis_url else { return Ok(BTreeMap::new()) };
    let (host, port) = super::stack::host_port(url);
    let upstream = format!("{host}:{port}");
    let (region, account) = (stack.settings().region.clone(), stack.settings().account.clone());
    let mut fronts = BTreeMap::new();
    for f in functions
        .iter()
        .filter(|f| f.environment.contains_key("MCP_REDIS_URL") || f.environment.contains_key("MCP_REDIS_CACHE"))
    {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        fronts.insert(f.name.clone(), listener.local_addr()?.port());
        let iam = f.environment.get("MCP_REDIS_IAM_USER").cloned().zip(f.environment.get("MCP_REDIS_CACHE").cloned());
        let door = Door {
            function: f.name.clone(),
            iam,
            upstream: upstream.clone(),
            permissions: permissions.clone(),
            arn: format!("arn:aws:elasticache:{region}:{account}"),
        };
        tokio::spawn(door.serve(listener));
    }
    Ok(fronts)
}

#[derive(Clone)]
struct Door {
    function: String,
    /// The IAM user and the cache its tokens are for, when the function authenticates so.
    iam: Option<(String, String)>,
    upstream: String,
    permissions: Permissions,
    /// `arn:aws:elasticache:{region}:{account}`.
    arn: String,
}

impl Door {
    async fn serve(self, listener: TcpListener) {
        while let Ok((client, _)) = listener.accept().await {
            let door = self.clone();
            tokio::spawn(async move {
                if let Err(e) = door.connection(client).await {
                    tracing::debug!(function = %door.function, error = %e, "Redis front: connection ended");
                }
            });
        }
    }

    async fn connection(&self, mut client: TcpStream) -> anyhow::Result<()> {
        client.set_nodelay(true)?;
        let mut first = Vec::new();
        let command = loop {
            let mut chunk = [0u8; 4096];
            let n = client.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            first.extend_from_slice(&chunk[..n]);
            if let Some(command) = parse_command(&first) {
                break command;
            }
            if first.len() > MAX_FIRST_COMMAND {
                anyhow::bail!("first command too long");
            }
        };
        if let Err(refusal) = self.judge(&command) {
            client.write_all(format!("-WRONGPASS {refusal}\r\n").as_bytes()).await?;
            return Ok(());
        }
        let mut redis = TcpStream::connect(&self.upstream).await?;
        redis.set_nodelay(true)?;
        redis.write_all(&first).await?;
        tokio::io::copy_bidirectional(&mut client, &mut redis).await?;
        Ok(())
    }

    /// The connection's credentials against the template: the token must be for the
    /// function's cache and user, and the role must allow `elasticache:Connect` on both.
    fn judge(&self, command: &[String]) -> Result<(), String> {
        let Some((user, cache)) = &self.iam else { return Ok(()) };
        let upper: Vec<String> = command.iter().map(|a| a.to_ascii_uppercase()).collect();
        let credentials = match upper.first().map(String::as_str) {
            Some("AUTH") if command.len() == 3 => Some((&command[1], &command[2])),
            Some("HELLO") => {
                upper.iter().position(|a| a == "AUTH").and_then(|i| command.get(i + 1).zip(command.get(i + 2)))
            }
            _ => None,
        };
        let Some((name, token)) = credentials else {
            return Err("the connection did not authenticate (ElastiCache's default user is off)".into());
        };
        if name != user {
            return Err(format!("user {name} is not the function's IAM user {user}"));
        }
        let signed_for = token.split('/').next().unwrap_or("");
        if signed_for != cache || !token.contains(&format!("User={user}")) {
            return Err(format!("the IAM token is not signed for cache {cache} and user {user}"));
        }
        for resource in [format!("{}:serverlesscache:{cache}", self.arn), format!("{}:user:{user}", self.arn)] {
            self.permissions.check(&self.function, "elasticache", "elasticache:Connect", &resource)?;
        }
        Ok(())
    }
}

/// A complete RESP array of bulk strings at the start of `buf`, if there is one yet.
fn parse_command(buf: &[u8]) -> Option<Vec<String>> {
    let mut at = 0;
    let line = |at: &mut usize| -> Option<String> {
        let end = buf[*at..].windows(2).position(|w| w == b"\r\n")? + *at;
        let text = String::from_utf8_lossy(&buf[*at..end]).into_owned();
        *at = end + 2;
        Some(text)
    };
    let header = line(&mut at)?;
    let Some(count) = header.strip_prefix('*').and_then(|n| n.parse::<usize>().ok()) else {
        // An inline command: the words of the line.
        return Some(header.split_whitespace().map(str::to_owned).collect());
    };
    let mut args = Vec::with_capacity(count.min(16));
    for _ in 0..count {
        let len = line(&mut at)?.strip_prefix('$')?.parse::<usize>().ok()?;
        if buf.len() < at + len + 2 {
            return None;
        }
        args.push(String::from_utf8_lossy(&buf[at..at + len]).into_owned());
        at += len + 2;
    }
    Some(args)
}

/// Sends one command to Redis at `url` and fails on an error reply (for provisioning).
pub async fn command(url: &str, args: &[String]) -> anyhow::Result<()> {
    let (host, port) = super::stack::host_port(url);
    let mut redis = TcpStream::connect(format!("{host}:{port}")).await.with_context(|| format!("Redis at {url}"))?;
    let mut out = format!("*{}\r\n", args.len());
    for a in args {
        out.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    redis.write_all(out.as_bytes()).await?;
    let mut reply = [0u8; 512];
    let n = redis.read(&mut reply).await?;
    let reply = String::from_utf8_lossy(&reply[..n]);
    if reply.starts_with('-') {
        anyhow::bail!("Redis answered {}", reply.trim());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_command;

    #[test]
    fn resp_commands_parse_once_complete() {
        let full = b"*3\r\n$4\r\nAUTH\r\n$4\r\nuser\r\n$5\r\ntoken\r\n";
        assert_eq!(parse_command(full), Some(vec!["AUTH".into(), "user".into(), "token".into()]));
        assert_eq!(parse_command(&full[..20]), None);
        assert_eq!(parse_command(b"PING\r\n"), Some(vec!["PING".into()]));
    }
}
