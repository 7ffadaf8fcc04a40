// Starts the local gateway (target/debug/mcp-local unless MCP_LOCAL_BIN says otherwise) on a
// free loopback port and returns its URLs. Every test file starts its own gateway and stops it.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

// The test command runs the suites a second time against real backends: MCP_LOCAL_INSTANCES
// and MCP_LOCAL_EXTRA_ARGS (e.g. "--dynamodb-endpoint http://127.0.0.1:PORT --create-table")
// then override the defaults. MCP_LOCAL_LAUNCHER runs the gateway through a script that
// execs it (local/gateway, which first creates the table from the template).
export async function startGateway({ server = 'reference', instances = 2, args: more = [], extraArgs } = {}) {
  const bin = process.env.MCP_LOCAL_LAUNCHER ?? process.env.MCP_LOCAL_BIN ?? path.join(repoRoot, 'target/debug/mcp-local');
  const count = process.env.MCP_LOCAL_INSTANCES ?? String(instances);
  const extra = extraArgs ?? laneArgs();
  // The repository's gateway serves the server MCP_SERVER names; in the Lambda lane the
  // template's ServerName parameter names it for the functions (reference by default).
  const choice = server === 'reference' ? [] : ['--parameter', `ServerName=${server}`];
  const args = ['--host', '127.0.0.1', '--port', '0', ...choice, '--instances', count, ...extra, ...more];
  const child = spawn(bin, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, MCP_SERVER: server, RUST_LOG: process.env.RUST_LOG ?? 'warn' },
  });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  let out = '';
  const base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start:\n${out}\n${stderr}`)), 30_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/Streamable HTTP\s+(http:\/\/[^\s]+)\/mcp/);
      if (m && /access key id \S+\)/.test(out)) { clearTimeout(timer); resolve(m[1]); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`gateway exited (${code}):\n${stderr}`)); });
  });
  const port = new URL(base).port;
  // The key the gateway's @connections endpoint admits (its own instances sign with it).
  const connectionsKey = out.match(/access key id (\S+)\)/)[1];
  return {
    base,
    httpUrl: `${base}/mcp`,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    connectionsUrl: `${base}/@connections`,
    connectionsKey,
    alive: () => child.exitCode === null,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      return new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)));
    },
  };
}

/** The extra arguments the test command gives every gateway (MCP_LOCAL_EXTRA_ARGS). */
export function laneArgs() {
  return (process.env.MCP_LOCAL_EXTRA_ARGS ?? '').split(/\s+/).filter(Boolean);
}
