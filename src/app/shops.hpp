// The in-process shop bots of `serve`, kept in step with the master's bot_instances.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "core/crypto/keyring.hpp"
#include "shop/host.hpp"
#include "storage/storage.hpp"

namespace ms::app {

class ShopReconciler {
 public:
  ShopReconciler(storage::Storage& storage, const crypto::Keyring& keyring, shop::ShopHost& host);
  // Starts instances that should run here and are not (or run with an old token), stops
  // those that should not. Success: how many changed. Not thread-safe: one caller.
  Result<int> reconcile();

 private:
  storage::Storage& storage_;
  const crypto::Keyring& keyring_;
  shop::ShopHost& host_;
  std::map<std::int64_t, std::string> started_;  // instance -> the token it runs with
};

}  // namespace ms::app
