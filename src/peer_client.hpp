// Which software a peer runs, read from its 20-byte peer id: the
// Azureus-style "-XX1234-" prefix most clients use, and aria2's "A2-1-36-0-".
// A guess for people (the status page), never a basis for decisions: any
// peer can send any id.
#pragma once

#include <string>
#include <string_view>

namespace actorrent {

/// "libtorrent 2.0.8.0", "aria2 1.36.0", "XX 1.2.3.4" for an unknown
/// Azureus code, "" when the id follows no known style. Printable ASCII only.
std::string client_from_peer_id(std::string_view peer_id);

} // namespace actorrent
