// Mounts GraphiQL on #graphiql, sending queries and mutations over HTTP to the endpoint named in
// its data-endpoint, and subscriptions over a WebSocket to the same path (graphql-ws client,
// graphql-transport-ws protocol). The Headers tab's Authorization goes in each request's
// headers, and a subscription's connection carries it in connection_init.
(function () {
  var element = document.getElementById('graphiql');
  var endpoint = element.dataset.endpoint;
  var http = GraphiQL.createFetcher({ url: endpoint });
  var socketUrl = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + endpoint;
  var socket = null; // { authorization, client }: one connection per token

  function authorization(headers) {
    for (var name in headers || {}) {
      if (name.toLowerCase() === 'authorization') return String(headers[name]);
    }
    return null;
  }

  function clientFor(token) {
    if (socket && socket.authorization === token) return socket.client;
    if (socket) socket.client.dispose();
    socket = {
      authorization: token,
      client: graphqlWs.createClient({
        url: socketUrl,
        connectionParams: token ? { Authorization: token } : {},
        lazy: true, // connects for the first subscription, closes after the last
        retryAttempts: 0,
      }),
    };
    return socket.client;
  }

  function isSubscription(params, opts) {
    var document = opts && opts.documentAST;
    if (!document) return /^\s*subscription\b/.test(params.query);
    var operations = document.definitions.filter(function (d) {
      return d.kind === 'OperationDefinition';
    });
    var chosen = params.operationName
      ? operations.filter(function (o) { return o.name && o.name.value === params.operationName; })
      : operations;
    return chosen.length === 1 && chosen[0].operation === 'subscription';
  }

  async function* subscribe(client, params) {
    try {
      for await (var result of client.iterate(params)) yield result;
    } catch (error) {
      if (Array.isArray(error)) {
        yield { errors: error }; // the server refused the subscription
      } else if (error && typeof error.code === 'number') {
        var why = error.code === 4403 ? ' (is the Authorization header a valid token?)' : '';
        yield { errors: [{ message: 'the connection closed: ' + error.code + ' ' +
                           (error.reason || '') + why }] };
      } else {
        throw error;
      }
    }
  }

  function fetcher(params, opts) {
    if (!isSubscription(params, opts)) return http(params, opts);
    var client = clientFor(authorization(opts && opts.headers));
    return subscribe(client, {
      query: params.query, variables: params.variables, operationName: params.operationName,
    });
  }

  ReactDOM.createRoot(element).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      // Tokens go in the Headers tab: {"Authorization": "Bearer <token>"}.
      defaultEditorToolsVisibility: 'headers',
      shouldPersistHeaders: true,
    })
  );
})();
