// Self-test of the served sample depot: the depot integration tests trust it to answer like the vendor
// (token: 401/403/200), like a real HTTP server (validators, ranges) and to log without the token.
#include <catch2/catch.hpp>

#include <httplib.h>

#include <algorithm>
#include <barrier>
#include <thread>

#include "esxmirror/source/depot.hpp"
#include "support/sample_depot.hpp"
#include "support/site_server.hpp"

using namespace esxmirror::testing;
namespace depot = esxmirror::source::depot;

namespace {

const std::string kToken = "9f2c4e1aTOKENb77d";

httplib::Client client_for(const SiteServer& server) {
  std::string base = server.base_url();
  base.pop_back();
  httplib::Client client(base);
  client.set_read_timeout(10, 0);
  return client;
}

// The path part of a URL the server gave ("/<token>/PROD/...").
std::string path_of_url(const SiteServer& server, const std::string& url) {
  return "/" + url.substr(server.base_url().size());
}

struct Served {
  SiteServer server{SampleDepot::standard()};
  Served() {
    DepotTokens tokens;
    tokens.valid = kToken;
    tokens.expired = {"expired0TOKEN"};
    tokens.fresh = "fresh0TOKEN";
    tokens.fresh_denials = 2;
    server.set_depot_tokens(tokens);
    server.start();
  }
  std::string depot_path(const std::string& path) const { return "/" + kToken + "/PROD/COMP/ESX_HOST/main/" + path; }
};

}  // namespace

TEST_CASE("sample depot server: the token decides 200, 401 or 403, and is never logged", "[sample_depot]") {
  Served served;
  auto client = client_for(served.server);
  const std::string index = "PROD/COMP/ESX_HOST/main/vmw-depot-index.xml";

  CHECK(served.server.depot_url() == served.server.base_url() + kToken + "/" + index);
  CHECK(served.server.depot_url_template() == served.server.base_url() + "{token}/" + index);
  CHECK(served.server.depot_path("main", "vmw-depot-index.xml") == index);

  const auto ok = client.Get(path_of_url(served.server, served.server.depot_url()));
  REQUIRE(ok);
  CHECK(ok->status == 200);
  CHECK(ok->get_header_value("Content-Type") == "text/xml");
  CHECK(depot::is_depot_index(ok->body));

  CHECK(client.Get("/expired0TOKEN/" + index)->status == 401);
  CHECK(client.Get("/not-a-token/" + index)->status == 403);
  CHECK(client.Get("/" + index)->status == 403);  // no token at all
  // A new token is not entitled for a while, then works.
  CHECK(client.Get("/fresh0TOKEN/" + index)->status == 403);
  CHECK(client.Get("/fresh0TOKEN/" + index)->status == 403);
  CHECK(client.Get("/fresh0TOKEN/" + index)->status == 200);
  CHECK(client.Get("/" + kToken + "/download/vi/missing.html")->status == 404);

  std::vector<std::string> verdicts;
  for (const Hit& hit : served.server.hits()) {
    verdicts.push_back(hit.token);
    CHECK(hit.path.find("TOKEN") == std::string::npos);  // neither the token nor the bad ones
  }
  CHECK(verdicts == std::vector<std::string>{"valid", "expired", "invalid", "missing", "not-entitled", "not-entitled",
                                             "valid", "valid"});
  CHECK(served.server.count(index) == 7);
}

TEST_CASE("sample depot server: content types, validators and ranges on depot files", "[sample_depot]") {
  Served served;
  auto client = client_for(served.server);
  const SampleDepot depot = served.server.depot();
  const std::string vib_id = depot.release("8.0.3").vib_ids.front();
  const std::string vib = depot.vib_path(vib_id);
  const std::string& full = depot.file(vib);

  const auto whole = client.Get(served.depot_path(vib));
  REQUIRE(whole);
  CHECK(whole->status == 200);
  CHECK(whole->get_header_value("Content-Type") == "application/octet-stream");
  CHECK(whole->body == full);
  CHECK(client.Get(served.depot_path(depot.zip_path("8.0.3")))->get_header_value("Content-Type") == "application/zip");
  CHECK(client.Get(served.depot_path(depot.vendor_index_path()))->get_header_value("Content-Type") == "text/xml");

  const std::string etag = whole->get_header_value("ETag");
  const std::string modified = whole->get_header_value("Last-Modified");
  CHECK(client.Get(served.depot_path(vib), {{"If-None-Match", etag}})->status == 304);
  CHECK(client.Get(served.depot_path(vib), {{"If-Modified-Since", modified}})->status == 304);

  const auto tail = client.Get(served.depot_path(vib), {{"Range", "bytes=1000-"}, {"If-Range", etag}});
  REQUIRE(tail);
  CHECK(tail->status == 206);
  CHECK(tail->body == full.substr(1000));
  const auto stale = client.Get(served.depot_path(vib), {{"Range", "bytes=1000-"}, {"If-Range", "\"0ld\""}});
  CHECK(stale->status == 200);
  CHECK(stale->body == full);

  SECTION("faults are keyed by the path as logged, without the token") {
    Fault fault;
    fault.status = 404, fault.status_times = -1;
    served.server.set_fault(served.server.depot_path("main", vib), fault);
    CHECK(client.Get(served.depot_path(vib))->status == 404);
    fault = Fault{};
    fault.cut_after_bytes = 100, fault.cut_times = 1;
    served.server.set_fault(served.server.depot_path("main", vib), fault);
    CHECK_FALSE(client.Get(served.depot_path(vib)));
    CHECK(client.Get(served.depot_path(vib))->body == full);
  }
  SECTION("an edit changes the validators of what changed, and only of that") {
    const std::string zip = served.depot_path(depot.zip_path("8.0.3"));
    const std::string zip_etag = client.Get(zip)->get_header_value("ETag");
    const std::string old_zip_etag = client.Get(served.depot_path(depot.zip_path("7.0.3")))->get_header_value("ETag");
    served.server.edit_depot("main", [&](SampleDepot& edited) { edited.replace_vib(vib_id, "a re-released VIB"); });
    CHECK(client.Get(zip, {{"If-None-Match", zip_etag}})->status == 200);
    CHECK(client.Get(served.depot_path(depot.zip_path("7.0.3")), {{"If-None-Match", old_zip_etag}})->status == 304);
    CHECK(client.Get(served.depot_path(vib))->body == "a re-released VIB");
    CHECK(client.Get(served.depot_path(vib), {{"If-None-Match", etag}})->status == 200);
  }
}

TEST_CASE("sample depot server: two depots, and absolute VIB URLs holding the served address", "[sample_depot]") {
  SampleDepotOptions options;
  options.absolute_url_inside = options.absolute_url_outside = true;
  SiteServer server(SampleDepot::standard(options));
  server.add_depot(SampleDepot::addon());
  DepotTokens tokens;
  tokens.valid = kToken;
  server.set_depot_tokens(tokens);
  server.start();
  auto client = client_for(server);

  CHECK(client.Get(path_of_url(server, server.depot_url("addon-main")))->status == 200);
  const std::string main_root = server.depot_url("main", "");
  CHECK(server.depot("main").base_url() == main_root);
  const std::string zip = server.depot("main").file(server.depot("main").zip_path("8.0.3"));
  CHECK(zip.find("PK") == 0);

  // The inside URL is fetchable as written; the outside one is not served at all.
  const SampleDepot main = server.depot("main");
  std::string inside, outside;
  for (const std::string& id : main.release("8.0.3").vib_ids) {
    const std::string& written = main.vib(id).relative_path;
    if (written.rfind(main_root, 0) == 0)
      inside = written;
    else if (written.rfind("http://", 0) == 0)
      outside = written;
  }
  REQUIRE_FALSE(inside.empty());
  REQUIRE_FALSE(outside.empty());
  CHECK(client.Get(path_of_url(server, inside))->status == 200);
  CHECK(client.Get(path_of_url(server, outside))->status == 404);
  for (const Hit& hit : server.hits()) CHECK(hit.path.find(kToken) == std::string::npos);
}

TEST_CASE("sample depot server: 16 connections opened at once are all answered at once", "[sample_depot]") {
  // A listen backlog of 5 (cpp-httplib's) drops SYNs of such a burst in about half the tries, and the
  // kernel retries them 1 s later; the request log's arrival times show whether a connection waited.
  Served served;
  constexpr int kClients = 16;
  for (int round = 0; round < 3; ++round) {
    served.server.reset_hits();
    std::barrier start(kClients);
    std::vector<std::thread> clients;
    std::atomic<int> answered{0};
    for (int i = 0; i < kClients; ++i) {
      clients.emplace_back([&] {
        auto client = client_for(served.server);
        client.set_keep_alive(false);
        start.arrive_and_wait();
        const auto reply = client.Get(served.depot_path("vmw-depot-index.xml"));
        if (reply && reply->status == 200) ++answered;
      });
    }
    for (auto& client : clients) client.join();
    CHECK(answered == kClients);
    const auto hits = served.server.hits();
    REQUIRE(hits.size() == kClients);
    const auto [first, last] = std::minmax_element(
        hits.begin(), hits.end(), [](const Hit& a, const Hit& b) { return a.received_ms < b.received_ms; });
    CHECK(last->received_ms - first->received_ms < 900);  // well under the 1 s SYN retry
  }
}
