// marzban_test_server: the strict Marzban test panel as a process, for CLI scenarios and
// by-hand checks. Prints "listening <base url>" once ready; SIGINT/SIGTERM stop it.
//   marzban_test_server --port P [--version 0.7.0|0.8.4] [--username U --password P]
//                       [--prefix /path] [--tls-cert F --tls-key F] [--port-file F]
#include <csignal>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

#include "marzban_server.hpp"

namespace {
volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }
}  // namespace

int main(int argc, char** argv) {
  ms::marzban_test::Options opt;
  int port = 0;
  std::string port_file;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "marzban_test_server: " << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--port") {
      port = std::stoi(value());
    } else if (a == "--version") {
      opt.version = value();
    } else if (a == "--username") {
      opt.username = value();
    } else if (a == "--password") {
      opt.password = value();
    } else if (a == "--prefix") {
      opt.path_prefix = value();
    } else if (a == "--tls-cert") {
      opt.tls_cert_file = value();
    } else if (a == "--tls-key") {
      opt.tls_key_file = value();
    } else if (a == "--port-file") {
      port_file = value();
    } else if (a == "--not-sudo") {
      opt.sudo = false;
    } else {
      std::cerr << "usage: marzban_test_server --port P [--version 0.7.0|0.8.4] [--username U --password P] "
                   "[--prefix /path] [--tls-cert F --tls-key F] [--port-file F] [--not-sudo]\n";
      return 2;
    }
  }
  opt.listen = "127.0.0.1:" + std::to_string(port);
  ms::marzban_test::MarzbanTestServer server(opt);
  if (auto started = server.start(); !started) {
    std::cerr << "marzban_test_server: " << started.error().to_string() << "\n";
    return 1;
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  if (!port_file.empty()) {
    std::ofstream(port_file + ".tmp") << server.port() << "\n";
    std::rename((port_file + ".tmp").c_str(), port_file.c_str());
  }
  std::cout << "listening " << server.base_url() << std::endl;
  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  server.stop();
  return 0;
}
