// Which database a PaymentService (and its Ledger) works on. A tenant's database sells VPN
// plans to end users; the master database sells packages to customers. The same tables
// play the same parts there under other names, so one service serves both: its SQL names
// the parts ({payers}, {payer_id}, {orders}, {ledger}) and the Schema chosen at
// construction fills them in. payments, payment_events, payment_outbox, payment_refunds and
// exchange_rates have the same names and columns in both.
#pragma once

#include <string>
#include <string_view>

namespace ms::payments {

struct Schema {
  std::string payers = "users";          // who pays: id, telegram_id, currency (of the wallet), balance_minor
  std::string payer_id = "user_id";      // the column naming the payer in payments, {orders} and {ledger}
  std::string orders = "orders";         // what is bought: status, amount_minor, currency, expires_at, cancel_reason
  std::string ledger = "wallet_ledger";  // the payers' wallet rows

  // A tenant database (tenant migrations 3 and 4).
  static Schema tenant() { return Schema{}; }
  // The master database (master migration 3): customers paying for package_orders.
  static Schema master() { return Schema{"customers", "customer_id", "package_orders", "customer_ledger"}; }

  // `text` with every {payers}, {payer_id}, {orders} and {ledger} replaced by its name.
  std::string sql(std::string_view text) const {
    std::string out;
    out.reserve(text.size() + 16);
    for (std::size_t i = 0; i < text.size();) {
      if (text[i] == '{') {
        const auto end = text.find('}', i);
        if (end != std::string_view::npos) {
          const std::string_view key = text.substr(i + 1, end - i - 1);
          const std::string* name = key == "payers"     ? &payers
                                    : key == "payer_id" ? &payer_id
                                    : key == "orders"   ? &orders
                                    : key == "ledger"   ? &ledger
                                                        : nullptr;
          if (name != nullptr) {
            out += *name;
            i = end + 1;
            continue;
          }
        }
      }
      out += text[i++];
    }
    return out;
  }
};

}  // namespace ms::payments
