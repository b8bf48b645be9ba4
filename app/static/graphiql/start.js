// Mounts GraphiQL on #graphiql, sending queries to the endpoint named in its data-endpoint.
(function () {
  var element = document.getElementById('graphiql');
  var fetcher = GraphiQL.createFetcher({ url: element.dataset.endpoint });
  ReactDOM.createRoot(element).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      // Tokens go in the Headers tab: {"Authorization": "Bearer <token>"}.
      defaultEditorToolsVisibility: 'headers',
      shouldPersistHeaders: true,
    })
  );
})();
