// HTTP routes of the sandbox on an ms::http::Router:
//   /sandbox/bot<token>/<method>              the Bot API (GET and POST, all four encodings)
//   /sandbox/file/bot<token>/<dir>/<name>     file downloads (getFile's file_path)
//   /sandbox/api/...                          BotFather and the person side, JSON in and out
// Every route is documented in docs/sandbox.md.
//
// getUpdates long polls without holding an event-loop thread: the Responder is answered by
// the Emulator from its own thread. Give the server a handler_timeout longer than the
// emulator's max_long_poll, or long polls end in 504.
//
// Thread-safety: register before the server starts; the emulator must outlive the server.
#pragma once

#include "http/router.hpp"
#include "sandbox/emulator.hpp"

namespace ms::sandbox {

void add_sandbox_routes(http::Router& router, Emulator& emulator);

}  // namespace ms::sandbox
