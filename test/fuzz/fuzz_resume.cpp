// Feeds arbitrary bytes to the fast-resume decoder. Properties: whatever it
// accepts is exactly what encode_resume() writes for the decoded data, and
// writing then reading gives the same data back. For data that fits a
// layout of its files, the start-up plan trusts exactly the recorded pieces
// while no file changed, and none touching a file whose mtime changed.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "file_layout.hpp"
#include "fuzz_check.hpp"
#include "resume_data.hpp"

using namespace actorrent;

namespace {

bool disjoint(const bitfield& a, const bitfield& b) {
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a.test(i) && b.test(i)) return false;
  return true;
}

bool subset(const bitfield& a, const bitfield& b) {
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a.test(i) && !b.test(i)) return false;
  return true;
}

void check_plan(const resume_data& r, std::size_t seed) {
  const std::uint32_t n = r.num_pieces;
  if (n == 0 || r.files.empty()) return;
  // Files as long as recorded; the piece length that gives n pieces if any does.
  std::vector<layout_file> files;
  std::int64_t total = 0;
  for (std::size_t i = 0; i < r.files.size(); ++i) {
    const std::int64_t len = r.files[i].size < 0 ? 0 : r.files[i].size;
    if (len > std::numeric_limits<std::int64_t>::max() - total) return;
    total += len;
    files.push_back({{std::to_string(i)}, len, false});
  }
  if (total == 0) return;
  const std::int64_t piece_length = total / n + (total % n != 0);
  auto layout = file_layout::make(std::move(files), piece_length);
  if (!layout || layout->num_pieces() != n) return;

  const result<resume_data> resume(r);
  recheck_plan same = plan_recheck(resume, r.info_hash, *layout, r.files);
  FUZZ_CHECK(same.have == r.pieces);
  FUZZ_CHECK(same.check.none());

  auto now = r.files;
  const std::uint32_t changed = static_cast<std::uint32_t>(seed % now.size());
  now[changed].mtime_ns ^= 1;
  recheck_plan plan = plan_recheck(resume, r.info_hash, *layout, now);
  FUZZ_CHECK(plan.have.size() == n && plan.check.size() == n);
  FUZZ_CHECK(disjoint(plan.have, plan.check));
  FUZZ_CHECK(subset(plan.have, r.pieces));
  auto [first, last] = layout->pieces_of_file(changed);
  for (std::uint32_t p = first; p <= last && first <= last; ++p) {
    FUZZ_CHECK(!plan.have.test(p));
    FUZZ_CHECK(plan.check.test(p));
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);

  auto r = decode_resume(in);
  if (!r.has_value()) {
    FUZZ_CHECK(r.err().code == errc::resume_invalid);
    FUZZ_CHECK(!r.err().message.empty());
    return 0;
  }
  FUZZ_CHECK(r->pieces.size() == r->num_pieces);
  for (const auto& f : r->files) FUZZ_CHECK(f.size >= -1);
  const std::string again = encode_resume(*r);
  // Strict decoding leaves one encoding per value.
  FUZZ_CHECK(again == in);
  auto back = decode_resume(again);
  FUZZ_CHECK(back.has_value() && *back == *r);
  check_plan(*r, size);
  return 0;
}
