#include "resume_data.hpp"

#include "atomic_file.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <span>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "actorrent/bencode.hpp"

namespace actorrent {

namespace {

constexpr std::int64_t format_version = 1;
constexpr std::size_t file_record_size = 16;

error invalid(std::string msg) {
  return error{errc::resume_invalid, "resume data: " + std::move(msg)};
}

void put_i64(std::string& out, std::int64_t v) {
  auto u = static_cast<std::uint64_t>(v);
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((u >> shift) & 0xff));
}

std::int64_t get_i64(std::string_view in) {
  std::uint64_t u = 0;
  for (std::size_t i = 0; i < 8; ++i) u = (u << 8) | static_cast<std::uint8_t>(in[i]);
  return static_cast<std::int64_t>(u);
}

std::string file_name(const file_layout& layout, std::uint32_t i) {
  std::string out = "file " + std::to_string(i) + " (";
  const auto& path = layout.files()[i].path;
  for (std::size_t c = 0; c < path.size(); ++c) {
    if (c) out += '/';
    out += path[c];
  }
  return out + ")";
}

// A file that holds bytes now. Storage reads a missing file or the part
// beyond its end as zeros, so a piece made only of such files cannot pass.
bool has_data(const storage::file_status& s) { return s.size > 0; }

// Full check: every piece that can hold data, padding-only pieces included
// (they are zeros, which the hash check confirms at once).
recheck_plan full_check(const file_layout& layout, const std::vector<storage::file_status>& now,
                        std::string why) {
  const std::uint32_t n = layout.num_pieces();
  recheck_plan plan{bitfield(n), bitfield(n), {}};
  const bool statuses_known = now.size() == layout.files().size();
  std::size_t skipped = 0;
  for (std::uint32_t p = 0; p < n; ++p) {
    bool real_file = false, data = false;
    for (const auto& s : layout.map(p, 0, layout.piece_size(p))) {
      if (layout.files()[s.file].pad) continue;
      real_file = true;
      if (!statuses_known || has_data(now[s.file])) data = true;
    }
    if (!real_file || data) plan.check.set(p);
    else ++skipped;
  }
  plan.reason = std::move(why) + ": full check of " + std::to_string(plan.check.count()) + " pieces";
  if (skipped > 0) plan.reason += " (" + std::to_string(skipped) + " in missing files skipped)";
  return plan;
}

} // namespace

std::string encode_resume(const resume_data& r) {
  std::string files;
  files.reserve(r.files.size() * file_record_size);
  for (const auto& f : r.files) {
    put_i64(files, f.size);
    put_i64(files, f.mtime_ns);
  }
  const auto& bits = r.pieces.bytes();
  bencode::dict d;
  d.emplace_back("files", std::move(files));
  d.emplace_back("info-hash", r.info_hash.raw());
  d.emplace_back("num-pieces", static_cast<std::int64_t>(r.num_pieces));
  d.emplace_back("pieces", std::string(bits.begin(), bits.end()));
  d.emplace_back("version", format_version);
  return bencode::encode(bencode::value(std::move(d)));
}

result<resume_data> decode_resume(std::string_view bytes) {
  if (bytes.size() > max_resume_size)
    return invalid(std::to_string(bytes.size()) + " bytes, more than the " +
                   std::to_string(max_resume_size) + " allowed");
  // Five keys and their values; nothing nests, so tight bounds cost nothing.
  bencode::limits lim;
  lim.max_depth = 1;
  lim.max_input = max_resume_size;
  lim.max_items = 16;
  auto v = bencode::decode(bytes, lim);
  if (!v) return invalid(v.err().to_string());
  const bencode::dict* d = v->as_dict();
  if (!d) return invalid("not a dictionary");
  for (const auto& [key, val] : *d) {
    if (key != "files" && key != "info-hash" && key != "num-pieces" && key != "pieces" &&
        key != "version")
      return invalid("unknown key \"" + key + "\"");
  }
  auto int_of = [&](const char* key) -> const std::int64_t* {
    const bencode::value* x = v->find(key);
    return x ? x->as_int() : nullptr;
  };
  auto string_of = [&](const char* key) -> const std::string* {
    const bencode::value* x = v->find(key);
    return x ? x->as_string() : nullptr;
  };

  const std::int64_t* version = int_of("version");
  if (!version) return invalid("\"version\" missing or not an integer");
  if (*version != format_version)
    return invalid("unsupported version " + std::to_string(*version));

  resume_data r;
  const std::string* hash = string_of("info-hash");
  if (!hash || hash->size() != 20) return invalid("\"info-hash\" missing or not 20 bytes");
  r.info_hash = sha1_hash::from_raw(*hash);

  const std::int64_t* count = int_of("num-pieces");
  if (!count || *count < 0 || *count > std::int64_t{UINT32_MAX})
    return invalid("\"num-pieces\" missing or out of range");
  r.num_pieces = static_cast<std::uint32_t>(*count);

  const std::string* bits = string_of("pieces");
  if (!bits) return invalid("\"pieces\" missing or not a string");
  std::span<const std::uint8_t> bit_bytes(reinterpret_cast<const std::uint8_t*>(bits->data()),
                                          bits->size());
  if (!r.pieces.assign_wire(bit_bytes, r.num_pieces))
    return invalid("\"pieces\" has " + std::to_string(bits->size()) + " bytes for " +
                   std::to_string(r.num_pieces) + " pieces, or a spare bit set");

  const std::string* files = string_of("files");
  if (!files) return invalid("\"files\" missing or not a string");
  if (files->size() % file_record_size != 0)
    return invalid("\"files\" is " + std::to_string(files->size()) +
                   " bytes, not a multiple of " + std::to_string(file_record_size));
  const std::string_view packed(*files);
  r.files.reserve(packed.size() / file_record_size);
  for (std::size_t off = 0; off < packed.size(); off += file_record_size) {
    storage::file_status s{get_i64(packed.substr(off)), get_i64(packed.substr(off + 8))};
    if (s.size < -1)
      return invalid("file " + std::to_string(off / file_record_size) + " has size " +
                     std::to_string(s.size));
    r.files.push_back(s);
  }
  return r;
}

std::filesystem::path resume_path(const std::filesystem::path& download_dir,
                                  const sha1_hash& info_hash) {
  return download_dir / ".actorrent" / (info_hash.hex() + ".resume");
}

error write_resume_file(const std::filesystem::path& path, const resume_data& r) {
  return write_file_atomically(path, encode_resume(r));
}

error remove_resume_file(const std::filesystem::path& path) { return remove_file_nofollow(path); }

result<resume_data> read_resume_file(const std::filesystem::path& path) {
  unique_fd dirfd;
  if (auto e = open_dir_nofollow(path.parent_path(), false, dirfd)) return e;
  if (dirfd.fd < 0) return error{errc::io_error, "no resume file at " + path.string()};
  unique_fd fd(::openat(dirfd.fd, path.filename().c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (fd.fd < 0) {
    if (errno == ENOENT) return error{errc::io_error, "no resume file at " + path.string()};
    if (errno == ELOOP) return error{errc::unsafe_path, "refusing to follow the symlink " + path.string()};
    return os_error(errno, path, "cannot open");
  }
  struct stat st {};
  if (::fstat(fd.fd, &st) != 0) return os_error(errno, path, "cannot stat");
  if (!S_ISREG(st.st_mode)) return error{errc::io_error, path.string() + " is not a regular file"};
  if (st.st_size > static_cast<off_t>(max_resume_size))
    return invalid(path.string() + " is " + std::to_string(st.st_size) +
                   " bytes, more than the " + std::to_string(max_resume_size) + " allowed");
  // Read until end of file rather than trusting st_size: the file may have
  // grown since, and must still stay under the cap.
  std::string data;
  data.resize(static_cast<std::size_t>(st.st_size) + 1);
  std::size_t used = 0;
  for (;;) {
    if (used == data.size()) {
      if (data.size() > max_resume_size)
        return invalid(path.string() + " grew beyond " + std::to_string(max_resume_size) +
                       " bytes");
      data.resize(std::min(data.size() * 2, max_resume_size + 1));
    }
    ssize_t n = ::read(fd.fd, data.data() + used, data.size() - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      return os_error(errno, path, "cannot read");
    }
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  data.resize(used);
  auto r = decode_resume(data);
  if (!r) return error{r.err().code, r.err().message + " (in " + path.string() + ")"};
  return r;
}

recheck_plan plan_recheck(const result<resume_data>& resume, const sha1_hash& info_hash,
                          const file_layout& layout,
                          const std::vector<storage::file_status>& now) {
  const auto& files = layout.files();
  const std::uint32_t n = layout.num_pieces();
  if (now.size() != files.size())
    return full_check(layout, now,
                      "file status has " + std::to_string(now.size()) + " entries for " +
                          std::to_string(files.size()) + " files");
  if (!resume) return full_check(layout, now, "no resume data (" + resume.err().to_string() + ")");
  const resume_data& r = *resume;
  if (r.info_hash != info_hash)
    return full_check(layout, now, "resume data is for another torrent (" + r.info_hash.hex() + ")");
  if (r.num_pieces != n || r.pieces.size() != n)
    return full_check(layout, now,
                      "resume data has " + std::to_string(r.num_pieces) + " pieces, torrent " +
                          std::to_string(n));
  if (r.files.size() != files.size())
    return full_check(layout, now,
                      "resume data has " + std::to_string(r.files.size()) + " files, torrent " +
                          std::to_string(files.size()));

  std::vector<bool> changed(files.size(), false);
  std::size_t changed_count = 0;
  std::uint32_t first_changed = 0;
  for (std::uint32_t i = 0; i < files.size(); ++i) {
    // A zero-length file touches no piece, whatever happened to it.
    if (files[i].pad || files[i].length <= 0 || r.files[i] == now[i]) continue;
    changed[i] = true;
    if (changed_count++ == 0) first_changed = i;
  }

  recheck_plan plan{bitfield(n), bitfield(n), {}};
  std::size_t inconsistent = 0;
  for (std::uint32_t p = 0; p < n; ++p) {
    bool touches_changed = false, changed_missing = false, covered = true, data = false;
    for (const auto& s : layout.map(p, 0, layout.piece_size(p))) {
      if (files[s.file].pad) continue;
      const auto& st = now[s.file];
      if (has_data(st)) data = true;
      if (changed[s.file]) {
        touches_changed = true;
        if (!has_data(st)) changed_missing = true;
      }
      if (st.size < s.file_offset + s.length) covered = false;
    }
    if (touches_changed) {
      // The file may hold pieces verified after the resume file was saved
      // (a kill before the next save), so its unclaimed pieces are checked too.
      if (!changed_missing) plan.check.set(p);
    } else if (r.pieces.test(p)) {
      if (covered) {
        plan.have.set(p);
      } else {
        // The record says verified, yet the bytes cannot all be there: the
        // record is wrong, so the disk decides.
        ++inconsistent;
        if (data) plan.check.set(p);
      }
    }
  }

  const std::string counts = std::to_string(plan.check.count()) + " pieces to check, " +
                             std::to_string(plan.have.count()) + " trusted";
  if (changed_count == 0 && inconsistent == 0) {
    plan.reason = "resume data matches: " + std::to_string(plan.have.count()) + " pieces trusted";
  } else if (changed_count == 0) {
    plan.reason = "resume data claims " + std::to_string(inconsistent) +
                  " pieces beyond the end of their files: " + counts;
  } else {
    std::string what = file_name(layout, first_changed) +
                       (has_data(now[first_changed]) ? " changed" : " missing");
    if (changed_count > 1)
      what = std::to_string(changed_count) + " files changed, first " + what;
    plan.reason = what + ": " + counts;
  }
  return plan;
}

} // namespace actorrent
