// Feeds arbitrary bytes to the fast-resume decoder: it must never crash, and
// whatever it accepts must be exactly what encode_resume() would write.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "resume_data.hpp"

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace actorrent;
  std::string_view in(reinterpret_cast<const char*>(data), size);

  auto r = decode_resume(in);
  if (!r.has_value()) {
    require(r.err().code == errc::resume_invalid);
    require(!r.err().message.empty());
    return 0;
  }
  require(r->pieces.size() == r->num_pieces);
  for (const auto& f : r->files) require(f.size >= -1);
  const std::string again = encode_resume(*r);
  // Strict decoding leaves one encoding per value.
  require(again == in);
  auto back = decode_resume(again);
  require(back.has_value() && *back == *r);
  return 0;
}
