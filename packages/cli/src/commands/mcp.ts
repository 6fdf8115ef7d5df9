import type { Command } from 'commander';
import { endpointUrl, INSECURE_HTTP_ENV, serverUrl } from '../skills/http.js';

/**
 * `rampart mcp`: an MCP server on stdio for desktop clients, bridged to Rampart's `/mcp` endpoint with the
 * API key. Tools are the server's (listed from it, so they stay in step); with `--connection`, calls that name
 * no connection go to that one.
 */
export function registerMcpCommand(program: Command): void {
  program
    .command('mcp')
    .description(
      'serve Rampart’s database tools to a local MCP client over stdio (bridged to the server’s /mcp)',
    )
    .option('--server <url>', 'Rampart base URL (default: $RAMPART_SERVER)')
    .option('--connection <id>', 'default connection for tool calls that name none')
    .option('--model <name>', 'the AI model, recorded in the query audit (x-ai-model)')
    .action(async (opts: { server?: string; connection?: string; model?: string }) => {
      const server = opts.server ?? process.env.RAMPART_SERVER;
      const apiKey = process.env.RAMPART_API_KEY;
      if (!server || !apiKey) {
        process.stderr.write('rampart: mcp needs --server (or RAMPART_SERVER) and RAMPART_API_KEY\n');
        process.exitCode = 2;
        return;
      }
      let base: URL;
      try {
        base = serverUrl(server, { allowInsecureHttp: process.env[INSECURE_HTTP_ENV] === '1' });
      } catch (err) {
        process.stderr.write(`rampart: mcp: ${(err as Error).message}\n`);
        process.exitCode = 2;
        return;
      }
      const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
      const { StreamableHTTPClientTransport } = await import(
        '@modelcontextprotocol/sdk/client/streamableHttp.js'
      );
      const { Server } = await import('@modelcontextprotocol/sdk/server/index.js');
      const { StdioServerTransport } = await import('@modelcontextprotocol/sdk/server/stdio.js');
      const { CallToolRequestSchema, ListToolsRequestSchema } = await import(
        '@modelcontextprotocol/sdk/types.js'
      );

      const upstream = new Client({ name: 'rampart-mcp-bridge', version: '0.1.0' });
      // Read by the transport on every request, so headers added later go with every call after that.
      const headers: Record<string, string> = {
        authorization: `Bearer ${apiKey}`,
        ...(opts.model ? { 'x-ai-model': opts.model } : {}),
        // The server then adds one typed tool per table of this connection.
        ...(opts.connection ? { 'x-rampart-connection': opts.connection } : {}),
      };
      await upstream.connect(
        new StreamableHTTPClientTransport(endpointUrl(base, 'mcp'), { requestInit: { headers } }),
      );
      const local = new Server({ name: 'rampart', version: '0.1.0' }, { capabilities: { tools: {} } });
      // The query audit names the desktop client (its stdio initialize), not only this bridge: percent-encoded,
      // since a client name may hold characters a header cannot.
      local.oninitialized = () => {
        const client = local.getClientVersion();
        if (!client) return;
        headers['x-mcp-client-name'] = encodeURIComponent(client.name.slice(0, 100));
        headers['x-mcp-client-version'] = encodeURIComponent(client.version.slice(0, 100));
      };
      local.setRequestHandler(ListToolsRequestSchema, async () => upstream.listTools());
      local.setRequestHandler(CallToolRequestSchema, async (req) => {
        const args = { ...(req.params.arguments ?? {}) } as Record<string, unknown>;
        if (opts.connection && args.connectionId === undefined && req.params.name !== 'list_connections')
          args.connectionId = opts.connection;
        return upstream.callTool({ name: req.params.name, arguments: args });
      });
      await local.connect(new StdioServerTransport());
      const stop = () => {
        void upstream.close().finally(() => process.exit(0));
      };
      process.stdin.once('end', stop);
      process.once('SIGTERM', stop);
    });
}
