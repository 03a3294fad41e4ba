#include <mutex>

#include "http/handler.hpp"

namespace ms::http {

struct Responder::State {
  std::mutex mutex;
  bool done = false;
  std::optional<Response> answer;
  std::function<void()> on_answer;
  std::shared_ptr<const void> keep_alive;
};

Responder::Responder(std::function<void()> on_answer, std::shared_ptr<const void> keep_alive)
    : state_(std::make_shared<State>()) {
  state_->on_answer = std::move(on_answer);
  state_->keep_alive = std::move(keep_alive);
}

bool Responder::operator()(Response response) const {
  {
    std::lock_guard lock(state_->mutex);
    if (state_->done) return false;
    state_->done = true;
    state_->answer = std::move(response);
  }
  // Outside the lock: the callback may post to an executor that calls take() at once.
  if (state_->on_answer) state_->on_answer();
  return true;
}

bool Responder::done() const {
  std::lock_guard lock(state_->mutex);
  return state_->done;
}

bool Responder::abandon() const {
  std::lock_guard lock(state_->mutex);
  if (state_->done) return false;
  state_->done = true;
  return true;
}

std::optional<Response> Responder::take() const {
  std::lock_guard lock(state_->mutex);
  std::optional<Response> out = std::move(state_->answer);
  state_->answer.reset();
  return out;
}

}  // namespace ms::http
