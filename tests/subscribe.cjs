// Subscribes with the graphql-ws client (the standard one) and prints what arrives, one JSON
// line each: {"name", "type": "connected" | "next" | "error" | "complete" | "closed", ...}.
//
//   node subscribe.cjs <ws url> '<JSON list of {name, connectionParams, query, variables}>'
//
// Each subscriber has a client (a connection) of its own. Runs until standard input closes.
const { createClient } = require('graphql-ws');
const WebSocket = require('ws');

const [url, spec] = process.argv.slice(2);
const print = (line) => process.stdout.write(JSON.stringify(line) + '\n');

const clients = JSON.parse(spec).map(({ name, connectionParams, query, variables }) => {
  const client = createClient({
    url,
    webSocketImpl: WebSocket,
    connectionParams,
    lazy: false,
    retryAttempts: 0,
    on: {
      connected: () => print({ name, type: 'connected' }),
      closed: (event) => print({ name, type: 'closed', code: event.code, reason: event.reason }),
    },
    onNonLazyError: () => {}, // reported by the closed event
  });
  client.subscribe({ query, variables }, {
    next: (payload) => print({ name, type: 'next', payload }),
    error: (error) => print({
      name, type: 'error',
      payload: Array.isArray(error) ? error : { code: error.code, reason: error.reason },
    }),
    complete: () => print({ name, type: 'complete' }),
  });
  return client;
});

process.stdin.resume();
process.stdin.on('end', async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  process.exit(0);
});
