// Where a peer or a tracker is: host and port, and the syntax of hosts as
// they appear in tracker URLs, peer lists and on the command line.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "actorrent/error.hpp"

namespace actorrent {

/// A peer or tracker address: dotted IPv4, IPv6 text (no brackets) or a host name.
struct peer_endpoint {
  std::string host;
  std::uint16_t port = 0;

  friend bool operator==(const peer_endpoint&, const peer_endpoint&) = default;
  friend auto operator<=>(const peer_endpoint&, const peer_endpoint&) = default;

  /// "1.2.3.4:6881", or "[::1]:6881" when the host contains a colon.
  std::string to_string() const;
};

/// Parses "host:port" or "[v6]:port"; the port must be 1..65535.
result<peer_endpoint> parse_endpoint(std::string_view host_port);

namespace host_syntax {

/// An IPv6 address in text form, without brackets.
bool valid_ipv6(std::string_view h);
/// A host name or a well-formed dotted IPv4 address (digits and dots alone
/// must be a valid IPv4 address).
bool valid_unbracketed_host(std::string_view h);
/// Port digits: 1..65535, no sign, no spaces.
std::optional<std::uint16_t> parse_port(std::string_view s);
/// The host as it is written before ":port": IPv6 in brackets.
std::string bracketed(const std::string& host);

} // namespace host_syntax

} // namespace actorrent
