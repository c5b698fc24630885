#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <random>
#include <sstream>

#include "esxmirror/source/legacy_html.hpp"

using namespace esxmirror;
using namespace esxmirror::source;

namespace {

const std::string kSite = "http://www.vmware.com/download/vi/";

std::string fixture(const std::string& name) {
  const std::string path = std::string(ESXMIRROR_FIXTURES) + "/pages/" + name;
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

const Rules& vi3() {
  static const Rules rules(RuleSpec::vi3());
  return rules;
}

PatchRecord parse(const std::string& html, const std::string& page = kSite + "1000039-patch.html") {
  return parse_detail_page(vi3(), html, page);
}

using Strings = std::vector<std::string>;

}  // namespace

// --- Dialect 1: "Download Patch ... for VMware ESX Server X" headings -----------------------------

TEST_CASE("dialect 1 page with one version yields the whole patch record", "[parser][dialect1]") {
  const PatchRecord r = parse(fixture("dialect1_single_version.html"), kSite + "1000039-patch.html");
  CHECK(r.id == "ESX-1000039");
  CHECK(r.versions == Strings{"3.0.1"});
  CHECK(r.release_date == "2007-03-29");
  CHECK(r.classification == "Critical");
  CHECK(r.supersedes.empty());
  CHECK(r.bundle_url() == "http://download3.vmware.com/software/vi/ESX-1000039.tgz");
  CHECK(r.bundle_file() == "ESX-1000039.tgz");
  CHECK(r.md5() == "2c4fe3e1d1bdcf0a1d6d6e3f7c2e9b11");
  CHECK(r.page_url == kSite + "1000039-patch.html");
  CHECK(r.warnings.empty());
  // The patch is one artifact: the bundle archive, its md5 from the page, its size unknown until fetched.
  REQUIRE(r.artifacts.size() == 1);
  CHECK(r.bundle().digest == Digest{Digest::Algorithm::md5, "2c4fe3e1d1bdcf0a1d6d6e3f7c2e9b11"});
  CHECK_FALSE(r.bundle().size);
}

TEST_CASE("dialect 1 page with one heading per version lists every version", "[parser][dialect1]") {
  const PatchRecord r = parse(fixture("dialect1_two_versions.html"), kSite + "1001724-patch.html");
  CHECK(r.id == "ESX-1001724");
  CHECK(r.versions == Strings{"3.0.1", "3.0.2"});
  CHECK(r.release_date == "2007-08-14");  // "Released\n   August 14, 2007"
  CHECK(r.classification == "Security");
  CHECK(r.supersedes == Strings{"ESX-1000039"});  // from "It supersedes ESX-1000039;"
  // Relative "../../" link written with &#46;, an <img> before the link text.
  CHECK(r.bundle_url() == "http://www.vmware.com/software/vi/ESX-1001724.tgz");
  CHECK(r.bundle_file() == "ESX-1001724.tgz");
  CHECK(r.md5() == "7e0f4a3d9c1b2a5f6e8d7c6b5a4f3e2d");  // printed in upper case
  CHECK(r.warnings.empty());
}

TEST_CASE("dialect 1 page dated TBD keeps its versions exact and warns about the date", "[parser][dialect1]") {
  const PatchRecord r = parse(fixture("dialect1_undated.html"), kSite + "1000100-patch.html");
  CHECK(r.id == "ESX-1000100");
  CHECK(r.versions == Strings{"3.0.1a", "3.0.10"});
  CHECK_FALSE(r.release_date);
  CHECK(r.warnings == Strings{"release date 'TBD' is not a date", "no md5 on page"});
  CHECK(r.has_bundle());
  const bool any_301 =
      std::any_of(r.versions.begin(), r.versions.end(), [](const auto& v) { return version_matches(v, "3.0.1"); });
  CHECK_FALSE(any_301);
}

// --- Dialect 2: the <TR><TD> table -------------------------------------------------------------------

TEST_CASE("dialect 2 table page with CRLF line ends yields the whole patch record", "[parser][dialect2]") {
  const std::string html = fixture("dialect2_table.html");
  REQUIRE(html.find("\r\n") != std::string::npos);
  const PatchRecord r = parse(html, kSite + "1002087-patch.html");
  CHECK(r.id == "ESX-1002087");
  CHECK(r.versions == Strings{"3.0.2"});
  CHECK(r.release_date == "2007-10-08");
  CHECK(r.classification == "General");
  CHECK(r.supersedes == Strings{"ESX-1001724"});
  CHECK(r.bundle_url() == "http://www.vmware.com/download/vi/ESX-1002087.tgz");
  CHECK(r.bundle_file() == "ESX-1002087.tgz");
  CHECK(r.md5() == "5a5d1185a283150ed7485d1fd90e1b02");
  CHECK(r.warnings.empty());
}

TEST_CASE("dialect 2 KB note with an empty download filename is not a bundle", "[parser][dialect2]") {
  const PatchRecord r = parse(fixture("dialect2_kb_note.html"), kSite + "1002088-patch.html");
  CHECK(r.artifacts.empty());
  CHECK(r.bundle_url().empty());
  CHECK(r.bundle_file().empty());
  CHECK(r.id == "ESX-1002088");  // from the page title
  CHECK(r.versions == Strings{"3.0.2"});
  CHECK(r.release_date == "2007-10-08");
  CHECK_FALSE(r.md5());
  CHECK(r.warnings.empty());  // no md5 is expected where there is nothing to download
}

TEST_CASE("dialect 2 page in upper case with several versions, unquoted links and no md5", "[parser][dialect2]") {
  const PatchRecord r = parse(fixture("dialect2_no_md5_upper_case.html"), kSite + "1002431-patch.html");
  CHECK(r.id == "ESX-1002431");
  CHECK(r.versions == Strings{"3.0.1", "3.0.2"});
  CHECK(r.release_date == "2007-11-15");  // newlines inside the tags around the cell
  CHECK(r.classification == "Critical");
  CHECK(r.supersedes == Strings{"ESX-1001724", "ESX-1002087"});
  CHECK(r.bundle_url() == "http://download3.vmware.com/software/vi/ESX-1002431.tgz?src=vi3&lang=en");
  CHECK(r.bundle_file() == "ESX-1002431.tgz");
  CHECK_FALSE(r.md5());
  CHECK(r.warnings == Strings{"no md5 on page"});
}

// --- Variations --------------------------------------------------------------------------------------

TEST_CASE("download links work with double, single and no quotes in any case", "[parser][variations]") {
  const std::string want = kSite + "ESX-1.tgz";
  CHECK(parse(R"(<p><a href="ESX-1.tgz">Download Now</a></p>)").bundle_url() == want);
  CHECK(parse(R"(<P><A HREF='ESX-1.tgz'>Download Now</A></P>)").bundle_url() == want);
  CHECK(parse(R"(<P><A HREF=ESX-1.tgz>DOWNLOAD NOW</A></P>)").bundle_url() == want);
  CHECK(parse("<a\r\n  target=_blank\r\n  HREF = \" ESX-1.tgz \"\r\n>\r\n<b>Download\r\nNow</b></a>").bundle_url() ==
        want);
}

TEST_CASE("download links are resolved: relative, parent, root-relative and absolute", "[parser][variations]") {
  const std::string page = "http://www.vmware.com/download/vi/1-patch.html";
  auto url = [&](const std::string& href) {
    return parse("<a href=\"" + href + "\">Download Now</a>", page).bundle_url();
  };
  CHECK(url("ESX-1.tgz") == "http://www.vmware.com/download/vi/ESX-1.tgz");
  CHECK(url("../../software/vi/ESX-1.tgz") == "http://www.vmware.com/software/vi/ESX-1.tgz");
  CHECK(url("/software/vi/ESX-1.tgz") == "http://www.vmware.com/software/vi/ESX-1.tgz");
  CHECK(url("http://download3.vmware.com/software/vi/ESX-1.tgz") ==
        "http://download3.vmware.com/software/vi/ESX-1.tgz");
  CHECK(url("https://download3.vmware.com/ESX-1.tgz") == "https://download3.vmware.com/ESX-1.tgz");
}

TEST_CASE("HTML entities in download links are decoded before resolving", "[parser][variations]") {
  auto url = [&](const std::string& href) { return parse("<a href='" + href + "'>Download Now</a>").bundle_url(); };
  CHECK(url("ESX-1&#46;tgz") == kSite + "ESX-1.tgz");
  CHECK(url("ESX-1&#x2e;tgz") == kSite + "ESX-1.tgz");
  CHECK(url("get?file=ESX-1.tgz&amp;mirror=3") == kSite + "get?file=ESX-1.tgz&mirror=3");
  CHECK(url("http:&#47;&#47;download3.vmware.com&#47;ESX-1.tgz") == "http://download3.vmware.com/ESX-1.tgz");
}

TEST_CASE("a link to an archive is the download when no link says Download Now", "[parser][variations]") {
  const PatchRecord r = parse(R"(<p><a href="/software/vi/ESX-1003176.tgz">Get the bundle</a></p>)");
  CHECK(r.bundle_url() == "http://www.vmware.com/software/vi/ESX-1003176.tgz");
  CHECK(r.id == "ESX-1003176");
}

TEST_CASE("a download filename without a link is fetched from beside the page", "[parser][variations]") {
  const PatchRecord r = parse("<TR><TD>Download Filename:</TD><TD>ESX-1002090.tgz</TD></TR>",
                              "http://mirror.example/vi/1002090-patch.html");
  CHECK(r.bundle_url() == "http://mirror.example/vi/ESX-1002090.tgz");
  CHECK(r.bundle_file() == "ESX-1002090.tgz");
  CHECK(r.id == "ESX-1002090");
}

TEST_CASE("a download filename cell that links to the file is read", "[parser][variations]") {
  const PatchRecord r =
      parse("<TR><TD>Download Filename:</TD><TD><A HREF='ESX-1002092.tgz'>ESX-1002092.tgz</A></TD></TR>",
            kSite + "1002092-patch.html");
  CHECK(r.bundle_file() == "ESX-1002092.tgz");
  CHECK(r.bundle_url() == kSite + "ESX-1002092.tgz");
}

TEST_CASE("an empty table cell never captures the next row", "[parser][variations]") {
  const PatchRecord r = parse(
      "<tr><td>Download Filename:</td><td></td></tr>\n<tr><td>md5sum:</td><td></td></tr>\n"
      "<tr><td>Release Date:</td><td> </td></tr>\n<tr><td>Patch Classification:</td><td></td></tr>\n"
      "<tr><td>Product Versions:</td><td>ESX Server 3.0.2</td></tr>",
      kSite + "1002093-patch.html");
  CHECK(r.bundle_file().empty());
  CHECK_FALSE(r.md5());
  CHECK(r.classification.empty());
  CHECK(r.versions == Strings{"3.0.2"});
  CHECK(r.warnings == Strings{"no release date found"});
  CHECK(r.id == "1002093");
}

TEST_CASE("the bundle id is the archive name without its extension", "[parser][variations]") {
  auto id_of = [&](const std::string& file) {
    return parse("<tr><td>Download Filename:</td><td>" + file + "</td></tr><a href=x>Download Now</a>").id;
  };
  CHECK(id_of("ESX-1000039.tgz") == "ESX-1000039");
  CHECK(id_of("ESX-1000039.tar.gz") == "ESX-1000039");
  CHECK(id_of("ESX-1000039.TAR") == "ESX-1000039");
  CHECK(id_of("ESX350-200802401-BG.zip") == "ESX350-200802401-BG");
}

TEST_CASE("the filename cell wins over the link's name, with a warning when they differ", "[parser][variations]") {
  const PatchRecord r = parse(
      "<tr><td>Download Filename:</td><td>ESX-1002087.tgz</td></tr>"
      "<a href='http://dl.example/get/ESX-1002087-b.tgz'>Download Now</a>");
  CHECK(r.bundle_file() == "ESX-1002087.tgz");
  CHECK(r.id == "ESX-1002087");
  CHECK(r.bundle_url() == "http://dl.example/get/ESX-1002087-b.tgz");
  CHECK(std::find(r.warnings.begin(), r.warnings.end(),
                  "download filename 'ESX-1002087.tgz' differs from the link's file 'ESX-1002087-b.tgz'") !=
        r.warnings.end());
}

TEST_CASE("without a filename the id comes from the link, then the heading, then the page name",
          "[parser][variations]") {
  CHECK(parse("<a href='http://dl/ESX-7.tgz?t=1'>Download Now</a>").id == "ESX-7");
  CHECK(parse("<h2>Download Patch ESX-8 for VMware ESX Server 3.0.1</h2>"
              "<a href='http://dl/cgi-bin/fetch'>Download Now</a>")
            .id == "ESX-8");
  const PatchRecord kb = parse("<p>See the KB article.</p>", "http://www.vmware.com/download/vi/1002099-patch.html");
  CHECK(kb.id == "1002099");
  CHECK_FALSE(kb.has_bundle());
  CHECK(parse("", "http://www.vmware.com/").id == "unknown");
}

TEST_CASE("a filename cell that is not a file name is ignored with a warning", "[parser][variations]") {
  const PatchRecord r = parse("<tr><td>Download Filename:</td><td>N/A</td></tr>", kSite + "1002091-patch.html");
  CHECK_FALSE(r.has_bundle());
  CHECK(r.bundle_file().empty());
  CHECK(r.id == "1002091");
  CHECK(std::find(r.warnings.begin(), r.warnings.end(), "download filename 'N/A' is not a file name; ignored") !=
        r.warnings.end());
}

TEST_CASE("links to javascript: or mailto: are never downloads", "[parser][variations]") {
  const PatchRecord js = parse("<a href=\"javascript:alert('ESX-1.tgz')\">Download Now</a>");
  CHECK(js.bundle_url().empty());
  const PatchRecord file = parse("<a href='file:///etc/passwd'>Download Now</a>");
  CHECK(file.bundle_url().empty());
  CHECK(std::find(file.warnings.begin(), file.warnings.end(),
                  "download link 'file:///etc/passwd' is not http(s); ignored") != file.warnings.end());
  CHECK(file.refused_download == "download link 'file:///etc/passwd' is not http(s); ignored");
  CHECK_FALSE(parse("<p>See KB 1234 for details.</p>").refused_download);  // a note refuses nothing
}

TEST_CASE("release dates are read in every printed form", "[parser][variations][dates]") {
  auto date_of = [&](const std::string& html) { return parse(html).release_date; };
  CHECK(date_of("<p><b>Released 3/29/07</b></p>") == "2007-03-29");
  CHECK(date_of("<p><b>Released:</b> 3/29/2007</p>") == "2007-03-29");
  CHECK(date_of("<p><b>Released March 29, 2007</b></p>") == "2007-03-29");
  CHECK(date_of("<p>Released on Mar 29, 2007</p>") == "2007-03-29");
  CHECK(date_of("<TR><TD><B>Release Date:</B></TD><TD>29 March 2007</TD></TR>") == "2007-03-29");
  CHECK(date_of("<tr><td>Release Date</td>\n<td>\n  2007-03-29\n</td></tr>") == "2007-03-29");
  CHECK(date_of("<TR><TD>Release&nbsp;Date:</TD><TD>March&nbsp;29,&nbsp;2007</TD></TR>") == "2007-03-29");
  CHECK(date_of("<p><b>Release Date:</b> 10/8/07</p>") == "2007-10-08");
}

TEST_CASE("an unparseable or missing release date is nullopt with a warning", "[parser][variations][dates]") {
  const std::string version = "<h2>Download Patch ESX-1 for VMware ESX Server 3.0.1</h2>";
  const PatchRecord tbd = parse(version + "<TR><TD>Release Date:</TD><TD>TBD</TD></TR>");
  CHECK_FALSE(tbd.release_date);
  CHECK(tbd.warnings == Strings{"release date 'TBD' is not a date"});
  const PatchRecord invalid = parse(version + "<p><b>Released 2/30/07</b></p>");
  CHECK_FALSE(invalid.release_date);
  CHECK(invalid.warnings == Strings{"release date '2/30/07' is not a date"});
  const PatchRecord none = parse("<p>Nothing here.</p>");
  CHECK_FALSE(none.release_date);
  CHECK(none.warnings == Strings{"no ESX version found on page", "no release date found"});
}

TEST_CASE("prose that mentions a release is not taken for a date", "[parser][variations][dates]") {
  const PatchRecord r = parse("<p>VMware released a fix; the release date of the next one is open.</p>");
  CHECK(r.warnings == Strings{"no ESX version found on page", "no release date found"});
}

TEST_CASE("versions are de-duplicated in page order across headings and the table", "[parser][versions]") {
  const PatchRecord r = parse(
      "<h2>Download Patch ESX-9 for VMware ESX Server 3.0.2</h2>"
      "<h2>Download Patch ESX-9 for VMware <b>ESX Server 3.0.1</b></h2>"
      "<table><tr><td>Product Versions:</td><td>ESX Server 3.0.1, ESX Server 3.0.2<br>ESX Server 3.5.0</td></tr>"
      "</table>");
  CHECK(r.versions == Strings{"3.0.2", "3.0.1", "3.5.0"});
}

TEST_CASE("version lists written without repeating the product name are read", "[parser][versions]") {
  CHECK(parse("<TR><TD>Product Versions:</TD><TD>ESX Server 3.0.1, 3.0.2 and 3.0.3</TD></TR>").versions ==
        Strings{"3.0.1", "3.0.2", "3.0.3"});
  CHECK(parse("<TR><TD>Product Version:</TD><TD>ESX&nbsp;Server&nbsp;3.0.1a</TD></TR>").versions == Strings{"3.0.1a"});
}

TEST_CASE("versions are captured whole so that 3.0.1 never matches 3.0.10 or 3.0.1a", "[parser][versions]") {
  const PatchRecord r = parse("<TR><TD>Product Versions:</TD><TD>ESX Server 3.0.10, ESX Server 3.0.1a</TD></TR>");
  REQUIRE(r.versions == Strings{"3.0.10", "3.0.1a"});
  for (const auto& v : r.versions) CHECK_FALSE(version_matches(v, "3.0.1"));
  CHECK(version_matches(r.versions[0], "3.0.10"));
}

TEST_CASE("text elsewhere on the page is not taken for a version", "[parser][versions]") {
  const PatchRecord r = parse(
      "<title>VMware ESX Server 3.0.1 Patch ESX-10</title>"
      "<h2>Download Patch ESX-10 for VMware ESX Server 3.0.2</h2>"
      "<p>Upgrade from ESX Server 2.5.4 first. Works with VirtualCenter 2.0.1, 2.0.2.</p>");
  CHECK(r.versions == Strings{"3.0.2"});
}

TEST_CASE("md5 is kept lower-case and only when it is 32 hex digits", "[parser][md5]") {
  const std::string link = "<a href=ESX-1.tgz>Download Now</a>";
  CHECK(parse("<p>md5sum: 5A5D1185A283150ED7485D1FD90E1B02</p>" + link).md5() == "5a5d1185a283150ed7485d1fd90e1b02");
  CHECK(parse("<tr><td>MD5 checksum</td><td><tt>5a5d1185a283150ed7485d1fd90e1b02</tt></td></tr>" + link).md5() ==
        "5a5d1185a283150ed7485d1fd90e1b02");
  // A 40-digit sha1 is not an md5.
  const PatchRecord sha1 = parse("<p>md5sum: 5a5d1185a283150ed7485d1fd90e1b02aaaaaaaa</p>" + link);
  CHECK_FALSE(sha1.md5());
  CHECK(sha1.warnings.back() == "no md5 on page");
  const PatchRecord na = parse("<tr><td>md5sum:</td><td>N/A</td></tr>" + link);
  CHECK_FALSE(na.md5());
  CHECK(na.warnings.back() == "md5 'N/A' is not 32 hex digits; ignored");
}

TEST_CASE("classification is trimmed with its blanks collapsed", "[parser]") {
  CHECK(parse("<TR><TD>Patch Classification:</TD><TD>\r\n  Security\r\n   Fix  </TD></TR>").classification ==
        "Security Fix");
  CHECK(parse("<p>Nothing</p>").classification.empty());
}

TEST_CASE("supersedes lists every id named, and 'None' lists none", "[parser]") {
  CHECK(parse("<TR><TD>Supersedes:</TD><TD>ESX-1001724, ESX-1001725<br>ESX-1001724</TD></TR>").supersedes ==
        Strings{"ESX-1001724", "ESX-1001725"});
  CHECK(parse("<TR><TD>Supersedes:</TD><TD>None</TD></TR>").supersedes.empty());
  CHECK(parse("<p>This patch supersedes ESX-1000039 and ESX-1000040.</p>").supersedes ==
        Strings{"ESX-1000039", "ESX-1000040"});
  CHECK(parse("<p>This patch is superseded by ESX-1003000.</p>").supersedes.empty());
}

// --- Index pages ---------------------------------------------------------------------------------------

TEST_CASE("index links are resolved, decoded, de-duplicated, in page order, distractors skipped", "[parser][index]") {
  const auto links = extract_index_links(vi3(), fixture("index.html"), kSite + "vi3_patches.html");
  CHECK(links == Strings{
                     kSite + "1000039-patch.html",
                     kSite + "1001724-patch.html",
                     kSite + "1002087-patch.html",
                     kSite + "1002088-patch.html",
                     kSite + "1002431-patch.html",
                     kSite + "1002432-patch.html",
                 });
}

TEST_CASE("index links read from a local file:// index stay local", "[parser][index]") {
  const auto links = extract_index_links(vi3(), "<a href='1000039-patch.html'>x</a><a href='http://h/2-patch.html'>",
                                         "file:///srv/site/vi3_patches.html");
  CHECK(links == Strings{"file:///srv/site/1000039-patch.html", "http://h/2-patch.html"});
}

TEST_CASE("an index with no patch links yields no links", "[parser][index]") {
  CHECK(extract_index_links(vi3(), "<html><body><a href='/'>Home</a></body></html>", kSite).empty());
  CHECK(extract_index_links(vi3(), "", kSite).empty());
  CHECK(extract_index_links(vi3(), "<a href='1-patch.html'>", "not a url").empty());
}

// --- Overriding rules ----------------------------------------------------------------------------------

TEST_CASE("a changed page layout that the built-in rules miss is read after overriding rules", "[parser][rules]") {
  const std::string html = fixture("changed_layout.html");
  const std::string page = kSite + "1003176-patch.html";

  const PatchRecord before = parse(html, page);
  CHECK(before.versions.empty());
  CHECK_FALSE(before.release_date);
  CHECK_FALSE(before.md5());
  CHECK(before.bundle_url() == "http://www.vmware.com/software/vi/ESX-1003176.tgz");

  RuleSpec spec = RuleSpec::vi3();
  spec.patterns["release_date"] = {R"(<dt>\s*Published\s*</dt>\s*<dd>([^<]*))"};
  spec.patterns["version_block"].push_back(R"(<dt>\s*Applies\s+to\s*</dt>\s*<dd>([^<]*))");
  spec.patterns["md5"] = {R"(Checksum\s*\(MD5\)\s*</dt>\s*<dd>\s*([0-9a-f]{32}))"};
  spec.patterns["classification"] = {R"(<dt>Severity</dt>\s*<dd>([^<]*))"};
  const Rules rules(spec);
  const PatchRecord after = parse_detail_page(rules, html, page);
  CHECK(after.id == "ESX-1003176");
  CHECK(after.versions == Strings{"3.5.0"});
  CHECK(after.release_date == "2008-01-10");
  CHECK(after.md5() == "0123456789abcdef0123456789abcdef");
  CHECK(after.classification == "Important");
  CHECK(after.warnings.empty());
}

TEST_CASE("an overridden index_link rule follows a renamed detail page scheme", "[parser][rules]") {
  const std::string html = "<a href='patch.php?id=1000039'>1</a><a href='1000040-patch.html'>2</a>";
  CHECK(extract_index_links(vi3(), html, kSite) == Strings{kSite + "1000040-patch.html"});
  RuleSpec spec = RuleSpec::vi3();
  spec.patterns["index_link"] = {R"(href=["']?(patch\.php\?id=\d+))"};
  CHECK(extract_index_links(Rules(spec), html, kSite) == Strings{kSite + "patch.php?id=1000039"});
}

// --- Robustness ------------------------------------------------------------------------------------------

TEST_CASE("binary garbage never throws and still yields an id", "[parser][robustness]") {
  std::mt19937 rng(20070329);
  std::uniform_int_distribution<int> byte(0, 255);
  const std::vector<std::string> markers = {"<a href=",
                                            "Download Now",
                                            "Download Patch ",
                                            "ESX Server 3.0.",
                                            "Release Date:",
                                            "<td>",
                                            "</td>",
                                            "md5sum:",
                                            "&#x",
                                            "&amp",
                                            "Supersedes",
                                            "<",
                                            ">",
                                            "'",
                                            "\"",
                                            "-patch.html",
                                            ".tgz"};
  for (int round = 0; round < 20; ++round) {
    std::string junk;
    junk.reserve(64 * 1024);
    while (junk.size() < 64 * 1024) {
      if (byte(rng) < 40) {
        junk += markers[static_cast<std::size_t>(byte(rng)) % markers.size()];
      } else {
        junk += static_cast<char>(byte(rng));
      }
    }
    PatchRecord r;
    REQUIRE_NOTHROW(r = parse(junk, kSite + "1000039-patch.html"));
    CHECK_FALSE(r.id.empty());
    REQUIRE_NOTHROW(extract_index_links(vi3(), junk, kSite));
    REQUIRE_NOTHROW(parse(junk, "not a url at all"));
  }
}

TEST_CASE("a 5 MB page is parsed quickly and correctly", "[parser][robustness]") {
  std::string html = "<html><body>\n";
  const std::string filler =
      "<p>This release contains fixes for the <b>vmkernel</b>, the service console and <a href='/kb'>drivers</a>; "
      "see ESX Server 3.0.1 release notes &amp; the KB for details.</p>\n";
  while (html.size() < 5 * 1024 * 1024) html += filler;
  html += fixture("dialect2_table.html");
  const auto start = std::chrono::steady_clock::now();
  const PatchRecord r = parse(html, kSite + "1002087-patch.html");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(r.id == "ESX-1002087");
  CHECK(r.versions == Strings{"3.0.2"});
  CHECK(r.release_date == "2007-10-08");
  CHECK(r.md5() == "5a5d1185a283150ed7485d1fd90e1b02");
  CHECK(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() < 3000);
}

TEST_CASE("pathological repetitions of rule fragments stay fast", "[parser][robustness]") {
  for (const std::string unit : {"<", "<a href=", "Download Patch ", "Release Date:</td>", "&", "<td>",
                                 "ESX Server 3.0.1, ", "Supersedes ESX-1 ", "md5sum: 0123"}) {
    std::string html;
    while (html.size() < 2 * 1024 * 1024) html += unit;
    INFO(unit);
    const auto start = std::chrono::steady_clock::now();
    CHECK_NOTHROW(parse(html));
    CHECK_NOTHROW(extract_index_links(vi3(), html, kSite));
    const auto elapsed = std::chrono::steady_clock::now() - start;
    CHECK(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() < 3000);
  }
}
