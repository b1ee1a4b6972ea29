// js-hello: a wasi:http handler written in JavaScript, built by
// componentize-js (StarlingMonkey) with its `fetch-event` feature: the engine
// exports wasi:http/incoming-handler and dispatches each call to this listener.
//
// Contract: any request -> 200, `content-type: text/plain`,
// body exactly "Hello from JavaScript!\n".
addEventListener('fetch', (event) => {
  event.respondWith(
    new Response('Hello from JavaScript!\n', {
      status: 200,
      headers: { 'content-type': 'text/plain' },
    }),
  );
});
