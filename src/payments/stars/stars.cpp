#include "payments/stars/stars.hpp"

namespace ms::payments {

Result<StartResult> StarsProvider::start(const StartRequest& request) {
  if (request.amount.currency != Currency::kXtr || request.amount.minor <= 0)
    return fail(ErrorCode::kInvalidArgument, "a Stars invoice is a positive whole number of XTR");
  if (request.reference.empty() || request.reference.size() > 128)
    return fail(ErrorCode::kInvalidArgument, "a Stars invoice payload is 1-128 bytes");
  StartResult out;
  out.action.kind = PayerAction::Kind::kStarsInvoice;
  out.action.amount = request.amount;
  out.action.invoice_title = settings_.invoice_title.substr(0, 32);
  out.action.invoice_description =
      request.description.empty() ? settings_.invoice_title : request.description.substr(0, 255);
  out.action.invoice_payload = request.reference;
  return out;
}

Result<std::vector<GatewayReport>> StarsProvider::parse_callback(const http::Request&) {
  return fail(ErrorCode::kInvalidArgument, "Telegram Stars payments arrive as bot updates");
}

Result<GatewayReport> StarsProvider::poll(const ProviderPayment& payment) {
  GatewayReport r;
  r.reference = payment.reference;
  r.status = GatewayStatus::kPending;
  return r;
}

Result<RefundResult> StarsProvider::refund(const ProviderPayment& payment, const RefundRequest& request) {
  if (!refunder_) return fail(ErrorCode::kPermissionDenied, "no bot is connected to refund Stars");
  if (request.amount && *request.amount != payment.amount)
    return fail(ErrorCode::kPermissionDenied,
                "Telegram Stars has no partial refunds (refundStarPayment returns the whole payment): refund "
                "all " +
                    std::to_string(payment.amount.minor) + " XTR or nothing");
  if (request.charge_id.empty() || payment.payer_telegram_id == 0)
    return fail(ErrorCode::kInvalidArgument, "a Stars refund needs the payer and the charge id");
  if (auto r = refunder_->refund_star_payment(payment.payer_telegram_id, request.charge_id); !r)
    return fail(std::move(r.error()));
  return RefundResult{request.charge_id, false};
}

}  // namespace ms::payments
