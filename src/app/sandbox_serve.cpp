// `mothership sandbox`: the Bot API emulator on its own.
#include <spdlog/spdlog.h>

#include "app/app.hpp"
#include "app/runtime.hpp"
#include "http/health.hpp"
#include "http/middleware.hpp"
#include "http/server.hpp"
#include "sandbox/emulator.hpp"
#include "sandbox/routes.hpp"

namespace ms::app {

int sandbox_serve(const Config& config, const ServeOptions& options) {
  http::ServerOptions server_options;
  server_options.listen = config.http_listen;
  server_options.threads = config.http_threads;
  server_options.body_limit = static_cast<std::size_t>(config.http_body_limit);
  server_options.handler_timeout = std::chrono::seconds(60);  // long polls last up to 50 s
  http::Server server(server_options);
  server.use(http::request_id_middleware());
  server.use(http::access_log_middleware());
  server.use(http::metrics_middleware());
  sandbox::Emulator emulator;
  sandbox::add_sandbox_routes(server.router(), emulator);
  http::add_health_routes(server.router(), {});
  if (auto started = server.start(); !started) {
    spdlog::error("cannot listen on {}: {}", config.http_listen, started.error().message);
    return 1;
  }
  if (options.port_file) {
    if (auto written = write_port_file(*options.port_file, server.bound_port()); !written)
      return report("port file", written.error(), 1);
  }
  spdlog::info("sandbox Bot API on port {}: /sandbox/bot<token>/<method>, people at /sandbox/api (docs/sandbox.md)",
               server.bound_port());
  server.run_until_signal(std::chrono::seconds(5));
  return 0;
}

}  // namespace ms::app
