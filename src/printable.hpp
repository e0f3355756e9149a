// Strings from outside (torrent names, paths, comments) end up in messages
// and on terminals: control characters are escaped as \xNN so a message shows
// what was really there and a crafted name cannot drive the terminal.
#pragma once

#include <string>
#include <string_view>

namespace actorrent {

std::string printable(std::string_view s);

} // namespace actorrent
