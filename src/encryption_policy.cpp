#include "actorrent/encryption.hpp"

namespace actorrent {

std::string_view to_string(encryption_policy p) noexcept {
  switch (p) {
  case encryption_policy::prefer: return "prefer";
  case encryption_policy::require: return "require";
  case encryption_policy::off: return "off";
  }
  return "prefer";
}

std::optional<encryption_policy> parse_encryption_policy(std::string_view s) noexcept {
  if (s == "prefer") return encryption_policy::prefer;
  if (s == "require") return encryption_policy::require;
  if (s == "off") return encryption_policy::off;
  return std::nullopt;
}

} // namespace actorrent
