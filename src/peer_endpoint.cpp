#include "peer_endpoint.hpp"
#include "ascii.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

namespace actorrent {

namespace {

using ascii::is_alpha;
using ascii::is_digit;

constexpr std::size_t max_host_length = 253;

} // namespace

namespace host_syntax {

// Host names as they appear in tracker URLs and peer lists; '_' is not legal
// in DNS host names but does occur in the wild and is harmless.
static bool valid_host_name(std::string_view h) noexcept {
  if (h.empty() || h.size() > max_host_length) return false;
  return std::all_of(h.begin(), h.end(), [](char c) {
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_';
  });
}

bool valid_ipv6(std::string_view h) {
  if (h.empty() || h.size() > 45) return false;
  std::string s(h);
  in6_addr a{};
  return inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

static bool valid_ipv4(std::string_view h) {
  if (h.empty() || h.size() > 15) return false;
  std::string s(h);
  in_addr a{};
  return inet_pton(AF_INET, s.c_str(), &a) == 1;
}

// A name made only of digits and dots is meant as an IPv4 address, so it must
// be a well-formed one ("1.2.3" or "300.1.1.1" is junk, not a host name).
bool valid_unbracketed_host(std::string_view h) {
  if (!valid_host_name(h)) return false;
  bool numeric = std::all_of(h.begin(), h.end(), [](char c) { return is_digit(c) || c == '.'; });
  return !numeric || valid_ipv4(h);
}

// Port digits: 1..65535, no sign, no spaces.
std::optional<std::uint16_t> parse_port(std::string_view s) {
  if (s.empty() || s.size() > 5) return std::nullopt;
  if (!std::all_of(s.begin(), s.end(), is_digit)) return std::nullopt;
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || v == 0 || v > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(v);
}

std::string bracketed(const std::string& host) {
  if (host.find(':') == std::string::npos) return host;
  std::string out;
  out.reserve(host.size() + 2);
  out.append(1, '[').append(host).append(1, ']');
  return out;
}

} // namespace host_syntax

using namespace host_syntax;

std::string peer_endpoint::to_string() const {
  std::string out = bracketed(host);
  out.append(1, ':').append(std::to_string(port));
  return out;
}

result<peer_endpoint> parse_endpoint(std::string_view host_port) {
  std::string_view host, port;
  if (!host_port.empty() && host_port.front() == '[') {
    auto close = host_port.find(']');
    if (close == std::string_view::npos)
      return error{errc::invalid_argument, "endpoint: '[' without ']'"};
    host = host_port.substr(1, close - 1);
    auto rest = host_port.substr(close + 1);
    if (rest.empty() || rest.front() != ':')
      return error{errc::invalid_argument, "endpoint: missing ':port' after ']'"};
    port = rest.substr(1);
    if (!valid_ipv6(host))
      return error{errc::invalid_argument, "endpoint: bad IPv6 address '" + std::string(host) + "'"};
  } else {
    auto colon = host_port.rfind(':');
    if (colon == std::string_view::npos)
      return error{errc::invalid_argument, "endpoint: missing ':port'"};
    host = host_port.substr(0, colon);
    port = host_port.substr(colon + 1);
    if (host.find(':') != std::string_view::npos)
      return error{errc::invalid_argument, "endpoint: IPv6 address needs brackets"};
    if (!valid_unbracketed_host(host))
      return error{errc::invalid_argument, "endpoint: bad host '" + std::string(host) + "'"};
  }
  auto p = parse_port(port);
  if (!p) return error{errc::invalid_argument, "endpoint: port must be 1..65535"};
  return peer_endpoint{std::string(host), *p};
}

} // namespace actorrent
