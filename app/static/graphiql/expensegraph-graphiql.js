// Renders GraphiQL from the config block of the page (app/graphiql.py). A file, not an
// inline script, so the page's Content-Security-Policy can be script-src 'self'.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("graphiql-config").textContent);
  // Subscriptions run over graphql-transport-ws on the same path of the page's own origin
  // (wss: when the page came over https). graphiql.min.js bundles the graphql-ws client and
  // uses it for a subscriptionUrl; it sends the headers typed in the editor (as filtered
  // below) as connection_init's payload, where the server reads the Authorization.
  var wsScheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  var fetchGraphQL = GraphiQL.createFetcher({
    url: config.url,
    subscriptionUrl: wsScheme + "//" + window.location.host + config.url,
  });

  // Until a token is pasted in, the headers hold a placeholder; sent as it is, the server
  // would answer 401 to everything, the schema's introspection (which needs none) too.
  function fetcher(params, opts) {
    var given = (opts && opts.headers) || {};
    var headers = {};
    Object.keys(given).forEach(function (name) {
      if (String(given[name]).indexOf(config.tokenPlaceholder) === -1) {
        headers[name] = given[name];
      }
    });
    return fetchGraphQL(params, Object.assign({}, opts, { headers: headers }));
  }

  var plugins = [];
  if (window.GraphiQLPluginExplorer) {
    plugins.push(window.GraphiQLPluginExplorer.explorerPlugin());
  }
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: config.defaultQuery,
      // the first tab and every new tab start with these; the user pastes a token in
      defaultHeaders: config.defaultHeaders,
      defaultEditorToolsVisibility: "headers",
      // tokens stay out of localStorage (and GraphiQL hides the setting that would store them)
      shouldPersistHeaders: false,
      plugins: plugins,
    })
  );
})();
