#include "content_listing.hpp"

#include "printable.hpp"

#include <algorithm>
#include <limits>
#include <optional>
#include <system_error>

namespace actorrent {

namespace {

namespace fs = std::filesystem;

// Deeper than any real tree; keeps a hostile one from exhausting the stack.
constexpr std::size_t max_depth = 256;
// Each file costs at least 24 bytes of metainfo; more than this many could
// not fit in the 64 MiB a .torrent may have, so the walk stops early.
constexpr std::size_t max_files = std::size_t{1} << 21;

// Built by appending: `"\"" + std::string` trips a false -Wrestrict in GCC 12.
std::string shown(const fs::path& p) {
  std::string out(1, '"');
  out += printable(p.string());
  out += '"';
  return out;
}

error io(const fs::path& p, const std::string& what, const std::error_code& ec) {
  errc code = ec == std::errc::permission_denied || ec == std::errc::operation_not_permitted
                  ? errc::permission
                  : errc::io_error;
  return error{code, "cannot " + what + " " + shown(p) + ": " + ec.message()};
}

const char* kind_of(fs::file_type t) {
  switch (t) {
    case fs::file_type::fifo: return "a fifo";
    case fs::file_type::socket: return "a socket";
    case fs::file_type::block: return "a block device";
    case fs::file_type::character: return "a character device";
    default: return "not a regular file or directory";
  }
}

// Whether `inner` is `outer` or lies below it; both canonical.
bool inside(const fs::path& outer, const fs::path& inner) {
  auto [o, i] = std::mismatch(outer.begin(), outer.end(), inner.begin(), inner.end());
  return o == outer.end();
}

std::string joined(const std::vector<std::string>& parts) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i != 0) out += '/';
    out += parts[i];
  }
  return out;
}

class walker {
public:
  walker(fs::path root, fs::path root_canonical)
    : root_(std::move(root)), root_canonical_(std::move(root_canonical)) {}

  std::optional<error> walk(const fs::path& dir, std::vector<std::string>& rel,
                            std::vector<fs::path>& stack) {
    if (rel.size() > max_depth)
      return error{errc::io_error, "directories nested more than " + std::to_string(max_depth) +
                                       " deep at " + shown(dir)};
    std::error_code ec;
    fs::directory_iterator it(dir, ec);
    if (ec) return io(dir, "read directory", ec);
    for (; it != fs::directory_iterator(); it.increment(ec)) {
      const fs::path entry = it->path();
      const std::string name = entry.filename().string();
      if (name.find('\\') != std::string::npos)
        return error{errc::unsafe_path,
                     shown(entry) + " has a '\\' in its name, which other clients read as a "
                                    "directory separator: rename it"};
      auto st = it->symlink_status(ec);
      if (ec) return io(entry, "examine", ec);
      fs::path target = entry;
      const bool link = fs::is_symlink(st);
      if (link) {
        fs::path real = fs::canonical(entry, ec);
        if (ec) {
          std::error_code ec2;
          auto to = fs::read_symlink(entry, ec2);
          return error{errc::io_error, shown(entry) + " is a symbolic link to " +
                                           shown(ec2 ? fs::path("?") : to) +
                                           ", which cannot be followed: " + ec.message()};
        }
        if (!inside(root_canonical_, real))
          return error{errc::unsafe_path,
                       shown(entry) + " is a symbolic link to " + shown(real) + ", outside " +
                           shown(root_) +
                           ": refused (only links that stay inside are followed; copy the "
                           "file in or remove the link)"};
        st = fs::status(real, ec);
        if (ec) return io(entry, "examine", ec);
        target = real;
      }
      rel.push_back(name);
      if (fs::is_regular_file(st)) {
        auto size = fs::file_size(target, ec);
        if (ec) return io(entry, "examine", ec);
        if (size > static_cast<std::uintmax_t>(std::numeric_limits<std::int64_t>::max()) ||
            static_cast<std::int64_t>(size) >
                std::numeric_limits<std::int64_t>::max() - out_.total_length)
          return error{errc::io_error, "the content is over 2^63 bytes at " + shown(entry)};
        if (out_.files.size() >= max_files)
          return error{errc::invalid_argument,
                       "more than " + std::to_string(max_files) +
                           " files, more than a .torrent can list (at " + shown(entry) + ")"};
        out_.total_length += static_cast<std::int64_t>(size);
        out_.files.push_back({rel, entry, static_cast<std::int64_t>(size)});
      } else if (fs::is_directory(st)) {
        fs::path real = link ? target : fs::canonical(entry, ec);
        if (ec) return io(entry, "examine", ec);
        if (std::find(stack.begin(), stack.end(), real) != stack.end())
          return error{errc::io_error, shown(entry) + " is a symbolic link back to " +
                                           shown(real) + ", a directory it is inside (a loop)"};
        stack.push_back(real);
        if (auto err = walk(entry, rel, stack)) return err;
        stack.pop_back();
      } else {
        return error{errc::io_error,
                     shown(entry) + " is " + kind_of(st.type()) + ": refused (a torrent holds "
                                                                  "regular files only)"};
      }
      rel.pop_back();
    }
    if (ec) return io(dir, "read directory", ec);
    return std::nullopt;
  }

  content_listing take() { return std::move(out_); }

private:
  fs::path root_, root_canonical_;
  content_listing out_;
};

} // namespace

result<content_listing> list_content(const fs::path& root) {
  std::error_code ec;
  auto st = fs::status(root, ec);
  if (ec || !fs::exists(st)) {
    if (ec && ec != std::errc::no_such_file_or_directory) return io(root, "read", ec);
    return error{errc::io_error, shown(root) + " does not exist"};
  }
  fs::path canonical = fs::canonical(root, ec);
  if (ec) return io(root, "read", ec);

  // The name as the user wrote it ("dir/" and "dir" alike), unless that says
  // nothing ("." or ".."): then the directory's own name.
  fs::path named = root.lexically_normal();
  std::string name = named.filename().string();
  if (name.empty()) name = named.parent_path().filename().string();
  if (name.empty() || name == "." || name == "..") name = canonical.filename().string();
  if (name.empty())
    return error{errc::invalid_argument, shown(root) + " has no name to give the torrent"};
  if (name.find('\\') != std::string::npos)
    return error{errc::unsafe_path, shown(root) + " has a '\\' in its name, which other clients "
                                                   "read as a directory separator: rename it"};

  if (fs::is_regular_file(st)) {
    auto size = fs::file_size(root, ec);
    if (ec) return io(root, "examine", ec);
    content_listing out;
    out.name = name;
    out.total_length = static_cast<std::int64_t>(size);
    out.files.push_back({{name}, root, static_cast<std::int64_t>(size)});
    return out;
  }
  if (!fs::is_directory(st))
    return error{errc::io_error, shown(root) + " is " + kind_of(st.type()) +
                                     ": refused (a torrent holds regular files only)"};

  walker w(root, canonical);
  std::vector<std::string> rel;
  std::vector<fs::path> stack{canonical};
  if (auto err = w.walk(root, rel, stack)) return *err;
  content_listing out = w.take();
  out.name = name;
  out.multi_file = true;
  // Joined paths compare byte by byte (std::string compares as unsigned char).
  std::vector<std::pair<std::string, std::size_t>> keys;
  keys.reserve(out.files.size());
  for (std::size_t i = 0; i < out.files.size(); ++i) keys.emplace_back(joined(out.files[i].path), i);
  std::sort(keys.begin(), keys.end());
  std::vector<content_file> sorted;
  sorted.reserve(out.files.size());
  for (const auto& k : keys) sorted.push_back(std::move(out.files[k.second]));
  out.files = std::move(sorted);
  return out;
}

} // namespace actorrent
