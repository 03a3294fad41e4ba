// Handlers and the Responder through which they answer.
//
// Handlers are asynchronous so that slow work (database calls on storage worker threads,
// outgoing HTTP) never blocks the server's event loop: a handler gets the request and a
// Responder, starts its work, returns, and later calls the Responder from any thread.
//
// Thread-safety: Responder is a cheap copyable handle; all copies share one answer slot,
// and calling any copy from any thread is safe. Only the first answer counts.
#pragma once

#include <functional>
#include <memory>
#include <optional>

#include "http/request.hpp"

namespace ms::http {

class Responder {
 public:
  // `on_answer` runs on the answering thread right after the first answer is stored (the
  // server uses it to wake the connection). `keep_alive` is held until every copy is gone;
  // the server uses it to keep the Request alive while a handler may still read it.
  explicit Responder(std::function<void()> on_answer = {}, std::shared_ptr<const void> keep_alive = {});

  // Answers the request. Returns true if this was the first answer; false (and the response
  // is dropped) if the request was already answered or given up on (handler timeout).
  bool operator()(Response response) const;

  // True once answered or abandoned.
  bool done() const;

  // Server side: gives up on the answer (e.g. the handler timed out). Returns true if no
  // answer had arrived, so the caller now owns the reply; false if an answer is stored.
  bool abandon() const;

  // Server side: moves the stored answer out; nullopt if none (not yet, abandoned, or taken).
  std::optional<Response> take() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

// Asynchronous handler: must call `respond` exactly once, from any thread, within the
// server's handler timeout (after it the client gets 504 and a late answer is dropped).
// The Request stays valid until the Responder is called. A handler that throws before
// answering makes the client get 500; the server keeps serving.
using Handler = std::function<void(Request& request, Responder respond)>;

// Synchronous handler, run on the event loop: only for work that never blocks.
using SyncHandler = std::function<Response(Request& request)>;

}  // namespace ms::http
