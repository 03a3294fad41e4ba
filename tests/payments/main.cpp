// payment_test_servers: the strict NOWPayments, Zarinpal, Stripe and PayPal test servers as
// a process, for trying the payment flows by hand or from other tests.
//   payment_test_servers [--stripe-webhook-url URL] [--paypal-webhook-url URL]
// Prints "listening on http://127.0.0.1:<port>" and runs until SIGINT/SIGTERM.
#include <signal.h>

#include <cstring>
#include <iostream>

#include "gateway_servers.hpp"

int main(int argc, char** argv) {
  ms::payments::testing::GatewayServerOptions options;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--stripe-webhook-url") == 0)
      options.stripe_webhook_url = argv[i + 1];
    else if (std::strcmp(argv[i], "--paypal-webhook-url") == 0)
      options.paypal_webhook_url = argv[i + 1];
    else {
      std::cerr << "usage: payment_test_servers [--stripe-webhook-url URL] [--paypal-webhook-url URL]\n";
      return 2;
    }
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // before any thread starts
  ms::payments::testing::GatewayTestServers servers(options);
  if (auto started = servers.start(); !started) {
    std::cerr << "payment_test_servers: " << started.error().to_string() << "\n";
    return 1;
  }
  std::cout << "listening on " << servers.base_url() << std::endl;
  int sig = 0;
  sigwait(&set, &sig);
  servers.stop();
  return 0;
}
