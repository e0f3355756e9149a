#include "actorrent/status_server.hpp"

#include "actorrent/session.hpp"

#include "http_server.hpp"
#include "log.hpp"
#include "net_service.hpp"
#include "status_json.hpp"
#include "status_page_html.hpp"
#include "status_routes.hpp"
#include "json_writer.hpp"

#include <caf/event_based_actor.hpp>

#include <algorithm>
#include <optional>

namespace actorrent {

namespace {

using namespace std::chrono_literals;

/// How long the torrents get to answer a status request: a torrent busy
/// for longer is left out of that answer rather than holding it up.
constexpr auto status_timeout = 3s;

/// Asks every torrent for its status (files and peers included) and calls
/// `done` once with those that answered in time, in the order given.
void collect_status(caf::actor_system& sys, std::vector<torrent_handle> handles,
                    std::function<void(std::vector<torrent_status>)> done) {
  sys.spawn([handles = std::move(handles), done = std::move(done)](
              caf::event_based_actor* self) -> caf::behavior {
    struct gathering {
      std::vector<std::optional<torrent_status>> answers;
      std::size_t pending = 0;
    };
    auto g = std::make_shared<gathering>();
    g->answers.resize(handles.size());
    g->pending = handles.size();
    auto finish = [self, g, done] {
      std::vector<torrent_status> out;
      for (auto& a : g->answers)
        if (a) out.push_back(std::move(*a));
      done(std::move(out));
      self->quit();
    };
    if (handles.empty()) {
      finish();
      return {};
    }
    for (std::size_t i = 0; i < handles.size(); ++i) {
      self->request(handles[i].control(), status_timeout, status_request{true, true})
        .then(
          [g, i, finish](torrent_status& st) {
            g->answers[i] = std::move(st);
            if (--g->pending == 0) finish();
          },
          [g, finish](caf::error&) {
            // Gone or busy: left out.
            if (--g->pending == 0) finish();
          });
    }
    return {[](const std::string&) {}};
  });
}

http_reply json_ok(std::string body) {
  http_reply r;
  r.body = std::move(body);
  return r;
}

} // namespace

struct status_server::impl {
  session& ses;
  status_server_options opts;
  status_access access;
  error listen_error;
  std::shared_ptr<http_server> server;
  // Reset in ~status_server, after the server: see there.
  std::unique_ptr<net_service> net;

  impl(session& s, status_server_options o)
    : ses(s), opts(std::move(o)), access{opts.token, is_loopback_address(opts.bind_address)} {}

  void on_request(http_request req, http_server::respond_fn respond) {
    auto route = route_status_request(req, access);
    switch (route.what) {
      case status_route::kind::reply:
        respond(std::move(route.reply));
        return;
      case status_route::kind::page: {
        http_reply r;
        r.content_type = "text/html; charset=utf-8";
        r.body = std::string(status_page_html());
        respond(std::move(r));
        return;
      }
      case status_route::kind::torrents: {
        auto handles = ses.torrents();
        std::sort(handles.begin(), handles.end(), [](const auto& a, const auto& b) {
          return std::tie(a.name(), a.info_hash()) < std::tie(b.name(), b.info_hash());
        });
        collect_status(ses.system(), std::move(handles),
                       [respond](std::vector<torrent_status> all) {
                         respond(json_ok(torrents_json(all)));
                       });
        return;
      }
      case status_route::kind::control: {
        for (const auto& h : ses.torrents()) {
          if (h.info_hash().hex() != route.info_hash) continue;
          if (route.action == "pause")
            h.pause();
          else if (route.action == "resume")
            h.resume();
          else
            h.recheck();
          ACTORRENT_LOG(info, "status page: " << route.action << " " << h.name());
          json_writer w;
          w.begin_object().key("ok").value(true).key("info_hash").value(route.info_hash)
            .key("action").value(route.action).end_object();
          respond(json_ok(w.take()));
          return;
        }
        respond(json_error(404, "no torrent with info-hash " + route.info_hash));
        return;
      }
    }
  }
};

status_server::status_server(session& ses, status_server_options opts)
  : impl_(std::make_unique<impl>(ses, std::move(opts))) {
  impl_->net = std::make_unique<net_service>(1);
  http_server::options so;
  so.bind_address = impl_->opts.bind_address;
  so.port = impl_->opts.port;
  auto* self = impl_.get();
  auto started = http_server::start(impl_->net->io(), so,
                                    [self](http_request req, http_server::respond_fn respond) {
                                      self->on_request(std::move(req), std::move(respond));
                                    });
  if (!started) {
    impl_->listen_error = started.err();
    return;
  }
  impl_->server = std::move(*started);
}

status_server::~status_server() {
  if (impl_->server) impl_->server->stop();
  // The server's acceptor and timer must go before the io_context that
  // owns their services: only handlers still queued may hold it now, and
  // they are dropped while the io_context shuts down, before its services.
  impl_->server.reset();
  impl_->net.reset();
}

const error& status_server::listen_error() const noexcept { return impl_->listen_error; }

std::uint16_t status_server::port() const noexcept {
  return impl_->server ? impl_->server->port() : 0;
}

std::string status_server::url() const {
  if (!impl_->server) return {};
  const auto& a = impl_->server->address();
  bool v6 = a.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + a + "]" : a) + ":" + std::to_string(port()) + "/";
}

} // namespace actorrent
