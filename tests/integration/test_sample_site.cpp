// Self-test of the sample vendor site: the other integration tests trust it to behave like a real
// HTTP server (validators, ranges) and to misbehave exactly as told (faults).
#include <catch2/catch.hpp>

#include <archive.h>
#include <archive_entry.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <set>
#include <thread>

#include "support/archive_builder.hpp"
#include "support/sample_site.hpp"
#include "support/site_server.hpp"

using namespace esxmirror::testing;

namespace {

httplib::Client client_for(const SiteServer& server) {
  std::string base = server.base_url();
  base.pop_back();  // httplib wants "http://host:port"
  httplib::Client client(base);
  client.set_read_timeout(10, 0);
  return client;
}

std::string path_of(const std::string& site_path) { return "/" + site_path; }

struct ReadEntry {
  std::string path, link_target;
  unsigned type = 0;
  std::string content;
};

// Lists an in-memory archive with libarchive's read side (any format/filter).
std::vector<ReadEntry> read_archive(const std::string& bytes) {
  std::unique_ptr<archive, decltype(&archive_read_free)> reader(archive_read_new(), &archive_read_free);
  archive_read_support_format_all(reader.get());
  archive_read_support_filter_all(reader.get());
  REQUIRE(archive_read_open_memory(reader.get(), bytes.data(), bytes.size()) == ARCHIVE_OK);
  std::vector<ReadEntry> out;
  archive_entry* entry = nullptr;
  while (archive_read_next_header(reader.get(), &entry) == ARCHIVE_OK) {
    ReadEntry read;
    read.path = archive_entry_pathname(entry);
    read.type = archive_entry_filetype(entry);
    if (const char* target = archive_entry_symlink(entry)) read.link_target = target;
    if (const char* target = archive_entry_hardlink(entry)) read.link_target = target;
    char buffer[65536];
    la_ssize_t got = 0;
    while ((got = archive_read_data(reader.get(), buffer, sizeof buffer)) > 0)
      read.content.append(buffer, static_cast<std::size_t>(got));
    out.push_back(read);
  }
  return out;
}

}  // namespace

TEST_CASE("sample site: every detail page prints the md5 of the bundle it links", "[sample_site]") {
  SiteServer server(SampleSite::standard());
  server.start();
  auto client = client_for(server);
  const SampleSite site = server.site();

  const auto index = client.Get(path_of(SampleSite::index_path()));
  REQUIRE(index);
  REQUIRE(index->status == 200);
  CHECK(index->body.find(SampleSite::base_token) == std::string::npos);  // absolute links were filled in
  CHECK(index->body.find(server.url("download/vi/")) != std::string::npos);

  std::set<std::string> versions;
  for (const SamplePatch& patch : site.patches()) {
    for (const auto& version : patch.versions) versions.insert(version);
    const auto page = client.Get(path_of(site.page_path(patch.id)));
    REQUIRE(page);
    REQUIRE(page->status == 200);
    CHECK(index->body.find(patch.kb + "-patch.html") != std::string::npos);
    if (patch.kb_note) {
      CHECK(site.bundle_path(patch.id).empty());
      CHECK(page->body.find("Download Now") == std::string::npos);
      continue;
    }
    const auto bundle = client.Get(path_of(site.bundle_path(patch.id)));
    REQUIRE(bundle);
    REQUIRE(bundle->status == 200);
    CHECK(bundle->get_header_value("Content-Type") == "application/x-gzip");
    CHECK(md5_hex(bundle->body) == site.md5_of(patch.id));
    CHECK((page->body.find(site.md5_of(patch.id)) != std::string::npos) == patch.md5_on_page);

    // The bundle unpacks to exactly what bundle_contents() promises, under one top directory.
    const auto entries = read_archive(bundle->body);
    const auto expected = site.bundle_contents(patch.id);
    REQUIRE(entries.size() == expected.size());
    for (std::size_t i = 0; i < entries.size(); ++i) {
      CHECK(entries[i].path == expected[i].path);
      CHECK(entries[i].path.rfind(patch.id + "/", 0) == 0);
      CHECK(entries[i].content == expected[i].content);
    }
  }
  CHECK(versions == std::set<std::string>{"3.0.1", "3.0.2", "3.0.10", "3.0.1a"});
}

TEST_CASE("sample site: conditional GET answers 304 until the content changes", "[sample_site]") {
  SiteServer server(SampleSite::standard());
  server.start();
  auto client = client_for(server);
  const std::string id = "ESX-1000039";
  const std::string path = server.site().bundle_path(id);

  const auto first = client.Get(path_of(path));
  REQUIRE(first);
  const std::string etag = first->get_header_value("ETag");
  const std::string modified = first->get_header_value("Last-Modified");
  CHECK(etag == "\"" + server.site().md5_of(id) + "\"");
  CHECK_FALSE(modified.empty());

  auto by_etag = client.Get(path_of(path), {{"If-None-Match", etag}});
  REQUIRE(by_etag);
  CHECK(by_etag->status == 304);
  CHECK(by_etag->body.empty());
  auto by_date = client.Get(path_of(path), {{"If-Modified-Since", modified}});
  REQUIRE(by_date);
  CHECK(by_date->status == 304);
  CHECK(server.body_count(path) == 1);

  // A re-released bundle: new bytes, new validators, and the old ones no longer match.
  server.edit([&](SampleSite& site) {
    SamplePatch patch = site.patch(id);
    patch.bundle_bytes += 1000;
    site.add_patch(patch);
  });
  const auto changed = client.Get(path_of(path), {{"If-None-Match", etag}});
  REQUIRE(changed);
  CHECK(changed->status == 200);
  CHECK(changed->get_header_value("ETag") != etag);
  CHECK(changed->get_header_value("Last-Modified") != modified);
  CHECK(md5_hex(changed->body) == server.site().md5_of(id));
  const auto since_old = client.Get(path_of(path), {{"If-Modified-Since", modified}});
  REQUIRE(since_old);
  CHECK(since_old->status == 200);
}

TEST_CASE("sample site: byte ranges honour If-Range", "[sample_site]") {
  SiteServer server(SampleSite::standard());
  server.start();
  auto client = client_for(server);
  const std::string path = server.site().bundle_path("ESX-1002087");
  const std::string full = server.site().files().at(path);
  const auto head = client.Head(path_of(path));
  REQUIRE(head);
  const std::string etag = head->get_header_value("ETag");
  CHECK(head->get_header_value("Content-Length") == std::to_string(full.size()));

  const auto tail = client.Get(path_of(path), {{"Range", "bytes=1000-"}});
  REQUIRE(tail);
  CHECK(tail->status == 206);
  CHECK(tail->body == full.substr(1000));
  CHECK(tail->get_header_value("Content-Range") ==
        "bytes 1000-" + std::to_string(full.size() - 1) + "/" + std::to_string(full.size()));

  const auto middle = client.Get(path_of(path), {{"Range", "bytes=10-19"}, {"If-Range", etag}});
  REQUIRE(middle);
  CHECK(middle->status == 206);
  CHECK(middle->body == full.substr(10, 10));

  // A validator from an older version: the whole current body, not a splice of two versions.
  const auto stale = client.Get(path_of(path), {{"Range", "bytes=1000-"}, {"If-Range", "\"0123456789abcdef\""}});
  REQUIRE(stale);
  CHECK(stale->status == 200);
  CHECK(stale->body == full);

  const auto beyond = client.Get(path_of(path), {{"Range", "bytes=" + std::to_string(full.size()) + "-"}});
  REQUIRE(beyond);
  CHECK(beyond->status == 416);
  CHECK(beyond->get_header_value("Content-Range") == "bytes */" + std::to_string(full.size()));
}

TEST_CASE("sample site: faults are injected as configured and used up", "[sample_site]") {
  SiteServer server(SampleSite::standard());
  server.start();
  auto client = client_for(server);
  const SampleSite site = server.site();
  const std::string path = site.bundle_path("ESX-1000070");
  const std::string full = site.files().at(path);

  SECTION("a status twice, with Retry-After, then the real answer") {
    Fault fault;
    fault.status = 503, fault.status_times = 2, fault.retry_after_s = 7;
    server.set_fault(path, fault);
    for (int i = 0; i < 2; ++i) {
      const auto busy = client.Get(path_of(path));
      REQUIRE(busy);
      CHECK(busy->status == 503);
      CHECK(busy->get_header_value("Retry-After") == "7");
    }
    const auto ok = client.Get(path_of(path));
    REQUIRE(ok);
    CHECK(ok->status == 200);
    CHECK(server.count(path) == 3);
    CHECK(server.body_count(path) == 1);
  }
  SECTION("a connection cut after N bytes, once") {
    Fault fault;
    fault.cut_after_bytes = 5000, fault.cut_times = 1;
    server.set_fault(path, fault);
    std::string received;
    const auto cut = client.Get(path_of(path), [&](const char* data, std::size_t length) {
      received.append(data, length);
      return true;
    });
    CHECK_FALSE(cut);  // the client sees a short body and an error
    CHECK(received == full.substr(0, 5000));
    const auto ok = client.Get(path_of(path));
    REQUIRE(ok);
    CHECK(ok->body == full);
  }
  SECTION("a flipped byte, and a HEAD probe does not use it up") {
    Fault fault;
    fault.flip_offset = 100, fault.flip_times = 1;
    server.set_fault(path, fault);
    REQUIRE(client.Head(path_of(path)));
    const auto bad = client.Get(path_of(path));
    REQUIRE(bad);
    REQUIRE(bad->body.size() == full.size());
    CHECK(bad->body[100] == static_cast<char>(full[100] ^ 0xff));
    CHECK(bad->body.substr(101) == full.substr(101));
    CHECK(client.Get(path_of(path))->body == full);
  }
  SECTION("a redirect, and a redirect loop") {
    Fault moved;
    moved.redirect_to = "mirror/" + path;
    server.set_fault(path, moved);
    const auto redirect = client.Get(path_of(path));
    REQUIRE(redirect);
    CHECK(redirect->status == 302);
    CHECK(redirect->get_header_value("Location") == server.url("mirror/" + path));

    Fault to_b, to_a;
    to_b.redirect_to = "b.tgz", to_a.redirect_to = "/a.tgz";
    server.set_fault("a.tgz", to_b);
    server.set_fault("b.tgz", to_a);
    client.set_follow_location(true);
    const auto loop = client.Get("/a.tgz");
    CHECK_FALSE(loop);  // httplib gives up after its redirect limit
    CHECK(server.count("a.tgz") > 2);
    CHECK(server.count("b.tgz") > 2);
  }
  SECTION("a captive portal answering 200 text/html") {
    Fault portal;
    portal.serve_html = true;
    server.set_fault(path, portal);
    const auto html = client.Get(path_of(path));
    REQUIRE(html);
    CHECK(html->status == 200);
    CHECK(html->get_header_value("Content-Type") == "text/html");
    CHECK(html->body.find("<html>") != std::string::npos);
  }
  SECTION("a Content-Length that promises more than is sent") {
    Fault liar;
    liar.content_length_delta = 100;
    server.set_fault(path, liar);
    std::string received;
    const auto short_body = client.Get(path_of(path), [&](const char* data, std::size_t length) {
      received.append(data, length);
      return true;
    });
    CHECK_FALSE(short_body);
    CHECK(received == full);
  }
  SECTION("a slow drip") {
    Fault drip;
    drip.drip_bytes_per_s = 20000;
    server.set_fault(path, drip);
    const auto started = std::chrono::steady_clock::now();
    const auto slow = client.Get(path_of(path), {{"Range", "bytes=0-9999"}});
    const auto took = std::chrono::steady_clock::now() - started;
    REQUIRE(slow);
    CHECK(slow->body == full.substr(0, 10000));
    CHECK(took >= std::chrono::milliseconds(400));
  }
  SECTION("basic auth") {
    server.require_auth("mirror:s3cret");
    const auto anonymous = client.Get(path_of(SampleSite::index_path()));
    REQUIRE(anonymous);
    CHECK(anonymous->status == 401);
    CHECK(anonymous->get_header_value("WWW-Authenticate").rfind("Basic", 0) == 0);
    client.set_basic_auth("mirror", "wrong");
    CHECK(client.Get(path_of(SampleSite::index_path()))->status == 401);
    client.set_basic_auth("mirror", "s3cret");
    CHECK(client.Get(path_of(SampleSite::index_path()))->status == 200);
  }
  SECTION("the request log") {
    server.reset_hits();
    client.Get(path_of(path), {{"Range", "bytes=10-"}, {"User-Agent", "esxmirror-test"}});
    const auto hits = server.hits();
    REQUIRE(hits.size() == 1);
    CHECK(hits[0].method == "GET");
    CHECK(hits[0].path == path);
    CHECK(hits[0].status == 206);
    CHECK(hits[0].range == "bytes=10-");
    CHECK(hits[0].user_agent == "esxmirror-test");
    CHECK(hits[0].body_bytes == full.size() - 10);
    CHECK(server.body_bytes() == full.size() - 10);
  }
}

TEST_CASE("sample site: many parallel transfers while the site is edited", "[sample_site]") {
  SiteServer server(SampleSite::generated(24, 256 * 1024));
  server.start();
  const SampleSite site = server.site();
  std::vector<std::thread> clients;
  std::atomic<int> good{0};
  for (const SamplePatch& patch : site.patches()) {
    clients.emplace_back([&, id = patch.id] {
      auto client = client_for(server);
      const auto bundle = client.Get(path_of(site.bundle_path(id)));
      if (bundle && bundle->status == 200 && md5_hex(bundle->body) == site.md5_of(id)) ++good;
    });
  }
  // Edits swap the site under running transfers; those keep the bytes they started with.
  for (int i = 0; i < 3; ++i)
    server.edit([i](SampleSite& edited) { edited.set_file("download/vi/news.html", std::to_string(i)); });
  for (auto& client : clients) client.join();
  CHECK(good == 24);
  CHECK(server.body_bytes() >= 24u * 256 * 1024);
  CHECK(client_for(server).Get("/download/vi/news.html")->body == "2");
}

TEST_CASE("sample site: global latency delays every answer", "[sample_site]") {
  SiteServer server(SampleSite::standard(), 300);
  server.start();
  const auto started = std::chrono::steady_clock::now();
  REQUIRE(client_for(server).Head(path_of(SampleSite::index_path())));
  CHECK(std::chrono::steady_clock::now() - started >= std::chrono::milliseconds(300));
}

TEST_CASE("sample site: the server stops promptly with idle connections open", "[sample_site]") {
  auto server = std::make_unique<SiteServer>(SampleSite::standard());
  server->start();
  auto client = client_for(*server);
  client.set_keep_alive(true);
  REQUIRE(client.Get(path_of(SampleSite::index_path())));
  const auto started = std::chrono::steady_clock::now();
  server.reset();
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(3));
}

TEST_CASE("archive builder: hostile entries are stored verbatim", "[sample_site]") {
  const std::vector<ArchiveEntry> hostile = {
      {"../evil", ArchiveEntry::Type::file, "x", "", 0644},
      {"/etc/x", ArchiveEntry::Type::file, "y", "", 04755},
      {"ESX-1/link", ArchiveEntry::Type::symlink, "", "../../outside", 0777},
      {"ESX-1/hard", ArchiveEntry::Type::hardlink, "", "/etc/passwd", 0644},
      {"ESX-1/dev", ArchiveEntry::Type::char_device, "", "", 0600},
      {"ESX-1/pipe", ArchiveEntry::Type::fifo, "", "", 0600},
  };
  for (const auto format : {ArchiveFormat::tar_gz, ArchiveFormat::tar}) {
    const auto entries = read_archive(build_archive(hostile, format));
    REQUIRE(entries.size() == hostile.size());
    CHECK(entries[0].path == "../evil");
    CHECK(entries[1].path == "/etc/x");
    CHECK(entries[2].type == AE_IFLNK);
    CHECK(entries[2].link_target == "../../outside");
    CHECK(entries[3].link_target == "/etc/passwd");
    CHECK(entries[4].type == AE_IFCHR);
    CHECK(entries[5].type == AE_IFIFO);
  }
  const auto zip =
      read_archive(build_archive({{"../zip-evil", ArchiveEntry::Type::file, "z", "", 0644}}, ArchiveFormat::zip));
  REQUIRE(zip.size() == 1);
  CHECK(zip[0].path == "../zip-evil");
  CHECK(zip[0].content == "z");

  // Same inputs, same bytes: bundles can be regenerated instead of stored.
  CHECK(build_archive(bundle_entries("ESX-9", 100000, 7)) == build_archive(bundle_entries("ESX-9", 100000, 7)));
}
