// The status page itself: one self-contained HTML document (inline CSS and
// JS, no external assets) that polls /api/torrents every second.
#pragma once

#include <string_view>

namespace actorrent {

std::string_view status_page_html() noexcept;

} // namespace actorrent
