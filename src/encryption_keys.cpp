#include "encryption_keys.hpp"

namespace actorrent {

void encryption_keys::add(const sha1_hash& info_hash) {
  auto req2 = mse::req2_hash(info_hash);
  std::lock_guard<std::mutex> guard(mutex_);
  by_req2_[req2] = info_hash;
}

void encryption_keys::remove(const sha1_hash& info_hash) {
  auto req2 = mse::req2_hash(info_hash);
  std::lock_guard<std::mutex> guard(mutex_);
  by_req2_.erase(req2);
}

std::optional<sha1_hash> encryption_keys::find(const sha1_hash& req2) const {
  std::lock_guard<std::mutex> guard(mutex_);
  auto it = by_req2_.find(req2);
  if (it == by_req2_.end()) return std::nullopt;
  return it->second;
}

} // namespace actorrent
