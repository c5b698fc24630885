// The legacy crawl over a fake fetcher: which documents it asks for, conditionally or not, and what it
// makes of the answers, with no network and no state of its own.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "esxmirror/core/error.hpp"
#include "esxmirror/source/legacy_crawl.hpp"
#include "support/fake_fetcher.hpp"

using namespace esxmirror;
using namespace esxmirror::source;

namespace {

const std::string kSite = "http://vendor.test/vi/";
const std::string kIndex = kSite + "vi3_patches.html";

std::string detail_page(int n) {
  return fmt::format(
      "<html><body><h2>Download Patch ESX-{0} for VMware ESX Server 3.0.1</h2>"
      "<p><b>Released 3/29/07</b></p><p><b>Patch Classification:</b> Critical</p>"
      "<p>md5sum: 2c4fe3e1d1bdcf0a1d6d6e3f7c2e{0}</p>"
      "<p><a href=\"http://download.vendor.test/vi/ESX-{0}.tgz\">Download Now</a></p></body></html>",
      1000 + n);
}

std::string page_url(int n) { return fmt::format("{}{}-patch.html", kSite, 1000 + n); }

using testing::FakeFetcher;

// A site of `pages` detail pages, plus a KB note (no download) for 3.0.1.
FakeFetcher site(int pages) {
  FakeFetcher fetcher;
  std::string index = "<html><body>";
  for (int n = 1; n <= pages; ++n) {
    index += fmt::format("<a href=\"{}-patch.html\">ESX-{}</a>\n", 1000 + n, 1000 + n);
    fetcher.documents[page_url(n)] = {detail_page(n), fmt::format("\"p{}\"", n)};
  }
  index += "<a href=\"1999-patch.html\">note</a></body></html>";
  fetcher.documents[kSite + "1999-patch.html"] = {
      "<html><body><h2>Download Patch KB-NOTE for VMware ESX Server 3.0.1</h2><p>Released 4/2/07</p>"
      "<p>Nothing to download: see the KB article.</p></body></html>",
      "\"kb\""};
  fetcher.documents[kIndex] = {index, "\"index-1\""};
  return fetcher;
}

const Rules& vi3() {
  static const Rules rules(RuleSpec::vi3());
  return rules;
}

CrawlPolicy policy(int window = 3, int min_pages = 0) {
  return {kIndex, {"download.vendor.test"}, {"3.0.1"}, window, min_pages};
}

// What a caller keeps of a crawl for the next one: every page read, at `checked_at`, and the patches it
// placed.
CrawlMemory remember(const CrawlResult& crawl, std::int64_t checked_at, CrawlMemory memory = {}) {
  memory.index = CrawlMemory::Index{crawl.index->validators, crawl.links};
  for (const auto& [read, record] : crawl.pages) {
    if (record) {
      memory.pages[read.url] = {read.validators, checked_at, *record};
    } else {
      memory.pages.at(read.url).checked_at = checked_at;
    }
  }
  for (const PatchRecord& patch : crawl.patches) memory.settled.insert(patch.id);
  return memory;
}

// Answers each round of requests in the order given (in reverse, or as asked), logging "page <url>" as
// each answer is handed to the crawl.
class OrderedFetcher final : public Fetcher {
 public:
  OrderedFetcher(FakeFetcher& site, bool reverse, std::vector<std::string>& log)
      : site_(site), reverse_(reverse), log_(log) {}
  void fetch(std::vector<net::Request> requests, const std::function<void(net::Response&&)>& done) override {
    std::vector<net::Response> answers;
    site_.fetch(std::move(requests), [&](net::Response&& r) { answers.push_back(std::move(r)); });
    if (reverse_) std::reverse(answers.begin(), answers.end());
    for (net::Response& r : answers) {
      log_.push_back("page " + r.url);
      done(std::move(r));
    }
  }

 private:
  FakeFetcher& site_;
  bool reverse_;
  std::vector<std::string>& log_;
};

// True when the request carries no validators (If-None-Match, If-Modified-Since): a full GET.
bool unconditional(const net::Request& r) { return r.conditional.etag.empty() && r.conditional.last_modified.empty(); }

}  // namespace

TEST_CASE(
    "legacy crawl: a first crawl reads the index and every page unconditionally, and returns the patches and the KB "
    "note to record",
    "[crawl]") {
  FakeFetcher fetcher = site(4);
  CrawlResult crawl = crawl_legacy_site(vi3(), policy(), {}, util::Secrets{}, fetcher);
  REQUIRE(fetcher.asked.size() == 6);
  for (const net::Request& r : fetcher.asked) CHECK(unconditional(r));
  CHECK(crawl.index->changed);
  CHECK(crawl.pages_fetched == 6);
  CHECK(crawl.pages_not_modified == 0);
  REQUIRE(crawl.patches.size() == 4);
  CHECK(crawl.patches[0].id == "ESX-1001");
  CHECK(crawl.patches[0].bundle_url() == "http://download.vendor.test/vi/ESX-1001.tgz");
  REQUIRE(crawl.fresh.size() == 5);  // the four patches, then the note
  CHECK_FALSE(crawl.fresh.back().has_bundle());
  CHECK(crawl.warnings.empty());
  CHECK(crawl.page_failures == 0);
}

TEST_CASE(
    "legacy crawl: with the index unchanged, settled pages are revalidated in slices, the least recently checked "
    "first, and the remembered patches still come back",
    "[crawl]") {
  FakeFetcher fetcher = site(6);
  CrawlResult first = crawl_legacy_site(vi3(), policy(), {}, util::Secrets{}, fetcher);
  CrawlMemory memory = remember(first, 100);
  memory.pages.at(page_url(5)).checked_at = 10;  // the two least recently checked
  memory.pages.at(page_url(2)).checked_at = 20;

  fetcher.asked.clear();
  fetcher.rounds.clear();
  CrawlResult second = crawl_legacy_site(vi3(), policy(3), memory, util::Secrets{}, fetcher);
  // The index (conditional, 304) and, in the same round trip, ceil(7 settled / 3) = 3 pages: 5, 2, then
  // the first by URL.
  REQUIRE(fetcher.urls_asked() == std::vector<std::string>{kIndex, page_url(5), page_url(2), page_url(1)});
  CHECK(fetcher.rounds == std::vector<std::size_t>{4});
  for (const net::Request& r : fetcher.asked) CHECK_FALSE(unconditional(r));
  CHECK_FALSE(second.index->changed);
  CHECK(second.pages_not_modified == 4);
  CHECK(second.pages_fetched == 0);
  CHECK(second.patches.size() == 6);
  CHECK(second.fresh.empty());

  SECTION("a patch not settled (not placed yet) has its page asked every run") {
    memory.settled.erase("ESX-1004");
    fetcher.asked.clear();
    crawl_legacy_site(vi3(), policy(3), memory, util::Secrets{}, fetcher);
    // The index, page 4, then ceil(6 settled / 3) = 2 pages of the slice.
    CHECK(fetcher.urls_asked() == std::vector<std::string>{kIndex, page_url(4), page_url(5), page_url(2)});
  }
  SECTION("a changed index has every page asked, and a changed page's new record is returned to record") {
    fetcher.documents[kIndex].etag = "\"index-2\"";
    fetcher.documents[page_url(3)] = {detail_page(3) + "<!-- edited -->", "\"p3-b\""};
    fetcher.asked.clear();
    fetcher.rounds.clear();
    CrawlResult third = crawl_legacy_site(vi3(), policy(3), memory, util::Secrets{}, fetcher);
    // The index and the three pages of the slice, then the other four: no page asked twice.
    CHECK(fetcher.rounds == std::vector<std::size_t>{4, 4});
    std::vector<std::string> asked = fetcher.urls_asked();
    std::sort(asked.begin(), asked.end());
    CHECK(std::adjacent_find(asked.begin(), asked.end()) == asked.end());
    CHECK(asked.size() == 8);
    CHECK(third.index->changed);
    REQUIRE(third.fresh.size() == 1);
    CHECK(third.fresh[0].id == "ESX-1003");
    CHECK(third.patches.size() == 6);
  }
  SECTION("a page asked with the index that the changed index no longer links to is dropped") {
    std::string& index = fetcher.documents[kIndex].body;
    const std::string link_to_5 = "<a href=\"1005-patch.html\">ESX-1005</a>\n";
    REQUIRE(index.find(link_to_5) != std::string::npos);
    index.erase(index.find(link_to_5), link_to_5.size());
    fetcher.documents[kIndex].etag = "\"index-2\"";
    fetcher.asked.clear();
    CrawlResult third = crawl_legacy_site(vi3(), policy(3), memory, util::Secrets{}, fetcher);
    CHECK(fetcher.asked[1].url == page_url(5));  // asked early, with the index
    for (const auto& [read, record] : third.pages) CHECK(read.url != page_url(5));
    CHECK(third.patches.size() == 5);
    CHECK(third.page_failures == 0);
    CHECK(third.warnings.empty());
  }
}

TEST_CASE(
    "legacy crawl: links to other hosts are refused and named, unreadable pages are counted, and the rest is read",
    "[crawl]") {
  FakeFetcher fetcher = site(2);
  fetcher.documents[kIndex].body +=
      "<a href=\"http://elsewhere.test/1009-patch.html\">x</a>"
      "<a href=\"1099-patch.html\">gone</a>";
  CrawlResult crawl = crawl_legacy_site(vi3(), policy(), {}, util::Secrets{}, fetcher);
  CHECK(crawl.patches.size() == 2);
  CHECK(crawl.page_failures == 1);
  for (const std::string& url : fetcher.urls_asked()) CHECK(url.find("elsewhere.test") == std::string::npos);
  REQUIRE(crawl.warnings.size() == 2);
  CHECK(crawl.warnings[0] ==
        "ignoring link to another host: http://elsewhere.test/1009-patch.html (add it to "
        "allowed_hosts to follow it)");
  CHECK(crawl.warnings[1].find("cannot read patch page " + kSite + "1099-patch.html") == 0);
}

TEST_CASE(
    "legacy crawl: an index that refuses access or links to no page is an Error(source) naming it, and a prefetched "
    "index is not asked again",
    "[crawl]") {
  FakeFetcher fetcher = site(1);
  fetcher.documents[kIndex].outcome = net::Outcome::auth;
  fetcher.documents[kIndex].status = 403;
  try {
    crawl_legacy_site(vi3(), policy(), {}, util::Secrets{}, fetcher);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::source);
    CHECK(std::string(e.what()).find("the patch index " + kIndex + " refused access (HTTP 403)") == 0);
  }

  net::Response empty_index;
  empty_index.outcome = net::Outcome::ok;
  empty_index.body = "<html><body>nothing here</body></html>";
  CHECK_THROWS_WITH(crawl_legacy_site(vi3(), policy(), {}, util::Secrets{}, fetcher, empty_index),
                    Catch::StartsWith(kIndex + " is not a patch index"));

  FakeFetcher good = site(1);
  net::Response prefetched;
  prefetched.outcome = net::Outcome::ok;
  prefetched.body = good.documents[kIndex].body;
  CrawlResult crawl = crawl_legacy_site(vi3(), policy(), {}, util::Secrets{}, good, prefetched);
  CHECK(good.urls_asked() == std::vector<std::string>{page_url(1), kSite + "1999-patch.html"});
  CHECK(crawl.patches.size() == 1);
}

TEST_CASE("legacy crawl: a secret in the source's URLs is returned in its stored form only", "[crawl]") {
  util::Secrets secrets;
  secrets.add_placeholder("token", "s3cr3tT0ken");
  FakeFetcher fetcher;
  const std::string base = "http://vendor.test/{token}/vi/";
  fetcher.documents[base + "index.html"] = {"<a href=\"http://vendor.test/s3cr3tT0ken/vi/1001-patch.html\">p</a>",
                                            "\"i\""};
  fetcher.documents[base + "1001-patch.html"] = {
      "<h2>Download Patch ESX-1001 for VMware ESX Server 3.0.1</h2><p>Released 3/29/07</p>"
      "<a href=\"http://vendor.test/s3cr3tT0ken/vi/ESX-1001.tgz\">Download</a>",
      "\"p\""};
  CrawlPolicy p{base + "index.html", {}, {"3.0.1"}, 3, 0};
  CrawlResult crawl = crawl_legacy_site(vi3(), p, {}, secrets, fetcher);
  REQUIRE(crawl.patches.size() == 1);
  CHECK(crawl.links == std::vector<std::string>{base + "1001-patch.html"});
  CHECK(crawl.patches[0].bundle_url() == base + "ESX-1001.tgz");
}

TEST_CASE(
    "legacy crawl: each patch is handed on as soon as every page linked before it is answered, in link order, the "
    "first page of an id winning",
    "[crawl]") {
  FakeFetcher fetcher = site(3);
  // A fourth page, linked last, shows ESX-1002 again.
  fetcher.documents[kSite + "1004-patch.html"] = {detail_page(2), "\"p4\""};
  std::string& index = fetcher.documents[kIndex].body;
  index.insert(index.find("</body>"), "<a href=\"1004-patch.html\">ESX-1002 again</a>");
  const bool reverse = GENERATE(false, true);
  std::vector<std::string> log;
  OrderedFetcher ordered(fetcher, reverse, log);
  CrawlResult crawl = crawl_legacy_site(vi3(), policy(), {}, util::Secrets{}, ordered, std::nullopt,
                                        [&](const PatchRecord& patch) { log.push_back("patch " + patch.id); });

  std::vector<std::string> handed;
  for (const std::string& line : log) {
    if (line.rfind("patch ", 0) == 0) handed.push_back(line.substr(6));
  }
  CHECK(handed == std::vector<std::string>{"ESX-1001", "ESX-1002", "ESX-1003"});
  REQUIRE(crawl.patches.size() == 3);
  for (std::size_t i = 0; i < handed.size(); ++i) CHECK(crawl.patches[i].id == handed[i]);
  CHECK(std::count(crawl.warnings.begin(), crawl.warnings.end(),
                   "patch ESX-1002 is listed on more than one page; using the first") == 1);
  auto at = [&](const std::string& line) { return std::find(log.begin(), log.end(), line) - log.begin(); };
  if (!reverse) {
    // Answered in link order: each patch goes before the next page is even looked at.
    CHECK(at("patch ESX-1001") < at("page " + page_url(2)));
    CHECK(at("patch ESX-1002") < at("page " + page_url(3)));
  } else {
    // The first link answered last: nothing is handed on before it.
    CHECK(at("patch ESX-1001") > at("page " + page_url(1)));
    CHECK(at("patch ESX-1001") > at("page " + kSite + "1004-patch.html"));
  }
}
