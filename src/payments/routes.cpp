#include "payments/routes.hpp"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "core/i18n/catalog.hpp"

namespace ms::payments {
namespace {

std::optional<PaymentMethod> webhook_method(std::string_view provider) {
  if (provider == "nowpayments") return PaymentMethod::kNowPayments;
  if (provider == "stripe") return PaymentMethod::kStripe;
  if (provider == "paypal") return PaymentMethod::kPayPal;
  return std::nullopt;
}

http::Response page(std::string_view key) {
  static const i18n::Catalog catalog;
  // Both languages: the gateway's page does not tell us which one the payer reads.
  std::string body = "<!doctype html><html><head><meta charset=\"utf-8\"><title>Payment</title></head><body>";
  body += "<p dir=\"rtl\" lang=\"fa\">" + catalog.render(i18n::Lang::kFa, key) + "</p>";
  body += "<p lang=\"en\">" + catalog.render(i18n::Lang::kEn, key) + "</p></body></html>";
  return http::Response::text(200, std::move(body), "text/html; charset=utf-8");
}

std::string_view page_key(const Result<Outcome>& outcome) {
  if (!outcome) return "payment.return.unknown";
  switch (*outcome) {
    case Outcome::kPaid:
    case Outcome::kAlreadyApplied: return "payment.return.paid";
    case Outcome::kCreditedToWallet: return "payment.return.wallet";
    case Outcome::kRejected:
    case Outcome::kExpired:
    case Outcome::kRefunded: return "payment.return.failed";
    case Outcome::kFlagged:
    case Outcome::kNoChange: return "payment.return.pending";
  }
  return "payment.return.unknown";
}

void run(WorkerPool* pool, http::Responder respond, std::function<http::Response()> work) {
  auto posted = pool->post([respond, work = std::move(work)] {
    try {
      respond(work());
    } catch (const std::exception& e) {
      spdlog::error("payments route threw: {}", e.what());
      respond(http::Response::error(500, "internal", "internal error"));
    }
  });
  if (!posted) respond(http::Response::error(503, "unavailable", "busy, retry later"));
}

}  // namespace

AuditSink master_audit_sink(storage::Database& master, const Clock& clock) {
  return [&master, &clock](const AuditEvent& e) {
    nlohmann::json details = {{"provider", e.provider}, {"account", e.account}, {"reason", e.reason}};
    auto r = master.with_session([&](storage::Session& s) {
      return s.exec(
          "INSERT INTO audit_log (at, actor_kind, actor_id, action, target_kind, target_id, details, ip) "
          "VALUES (:at, 'gateway', :actor, :action, 'payment_account', :target, :details, :ip)",
          {{"at", clock.unix_seconds()},
           {"actor", e.provider},
           {"action", e.action},
           {"target", e.account},
           {"details", details.dump()},
           {"ip", e.ip}});
    });
    if (!r) spdlog::error("audit log: cannot record {}: {}", e.action, r.error().message);
  };
}

void add_payment_routes(http::Router& router, PaymentRoutes routes) {
  if (routes.pool == nullptr || !routes.resolve) throw std::invalid_argument("add_payment_routes: pool and resolver");
  auto shared = std::make_shared<PaymentRoutes>(std::move(routes));

  router.add(
      http::Method::kPost, "/payments/{provider}/{account}/webhook",
      [shared](http::Request& req, http::Responder respond) {
        const std::string provider(req.path_param("provider").value_or(""));
        const std::string account(req.path_param("account").value_or(""));
        auto method = webhook_method(provider);
        if (!method) {
          respond(http::Response::error(404, "not_found", "no such payment provider"));
          return;
        }
        run(shared->pool, respond, [shared, &req, method, provider, account]() -> http::Response {
          auto service = shared->resolve(account);
          if (!service || service->provider(*method) == nullptr)
            return http::Response::error(404, "not_found", "no such payment account");
          auto outcomes = service->handle_callback(*method, req);
          if (!outcomes) {
            const Error& e = outcomes.error();
            if (e.code == ErrorCode::kUnauthenticated) {
              spdlog::warn("payments: rejected a {} webhook for {}: {}", provider, account, e.message);
              if (shared->audit)
                shared->audit(AuditEvent{"payment.webhook_rejected", provider, account, e.message, req.remote_address});
              return http::Response::error(400, "bad_signature", "signature verification failed");
            }
            if (e.code == ErrorCode::kInvalidArgument) return http::Response::error(400, "invalid_argument", e.message);
            spdlog::warn("payments: {} webhook for {} not processed: {}", provider, account, e.to_string());
            return http::Response::error(503, "unavailable", "try again later");
          }
          nlohmann::json list = nlohmann::json::array();
          for (auto o : *outcomes) list.push_back(to_string(o));
          return http::Response::json(200, {{"ok", true}, {"outcomes", list}});
        });
      });

  router.add(http::Method::kGet, "/payments/zarinpal/{account}/callback",
             [shared](http::Request& req, http::Responder respond) {
               const std::string account(req.path_param("account").value_or(""));
               run(shared->pool, respond, [shared, &req, account]() -> http::Response {
                 auto service = shared->resolve(account);
                 if (!service || service->provider(PaymentMethod::kZarinpal) == nullptr)
                   return http::Response::error(404, "not_found", "no such payment account");
                 auto outcomes = service->handle_callback(PaymentMethod::kZarinpal, req);
                 if (!outcomes) {
                   if (outcomes.error().code == ErrorCode::kInvalidArgument) return page("payment.return.unknown");
                   return page("payment.return.pending");
                 }
                 return page(page_key(outcomes->empty() ? Result<Outcome>(Outcome::kNoChange)
                                                        : Result<Outcome>(outcomes->front())));
               });
             });

  router.add(http::Method::kGet, "/payments/{provider}/{account}/return",
             [shared](http::Request& req, http::Responder respond) {
               const std::string provider(req.path_param("provider").value_or(""));
               const std::string account(req.path_param("account").value_or(""));
               run(shared->pool, respond, [shared, &req, provider, account]() -> http::Response {
                 auto method = webhook_method(provider);
                 auto service = shared->resolve(account);
                 if (!method || !service) return http::Response::error(404, "not_found", "no such payment account");
                 // The redirect is unsigned: it only makes us ask the gateway.
                 std::optional<std::string_view> id;
                 if (*method == PaymentMethod::kStripe) id = req.query_param("session_id");
                 if (*method == PaymentMethod::kPayPal) id = req.query_param("token");
                 if (!id || id->empty()) return page("payment.return.pending");
                 GatewayReport claim;
                 claim.provider_ref = std::string(*id);
                 claim.status = GatewayStatus::kClaimedPaid;
                 return page(page_key(service->apply(*method, claim)));
               });
             });
}

}  // namespace ms::payments
