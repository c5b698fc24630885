#include <catch2/catch.hpp>

#include "esxmirror/util/url.hpp"

using namespace esxmirror::util;

namespace {
const std::string kIndex = "http://www.vmware.com/download/vi/vi3_patches.html";
}

TEST_CASE("resolve_url resolves relative links against the page", "[url]") {
  CHECK(resolve_url(kIndex, "1000039-patch.html") == "http://www.vmware.com/download/vi/1000039-patch.html");
  CHECK(resolve_url(kIndex, "./1000039-patch.html") == "http://www.vmware.com/download/vi/1000039-patch.html");
  CHECK(resolve_url(kIndex, "../../software/vi/ESX-1000039.tgz") ==
        "http://www.vmware.com/software/vi/ESX-1000039.tgz");
  CHECK(resolve_url(kIndex, "/software/vi/ESX-1000039.tgz") == "http://www.vmware.com/software/vi/ESX-1000039.tgz");
  CHECK(resolve_url(kIndex, "//download3.vmware.com/a.tgz") == "http://download3.vmware.com/a.tgz");
  CHECK(resolve_url("https://h.example/a/b/", "c.tgz?x=1") == "https://h.example/a/b/c.tgz?x=1");
  CHECK(resolve_url("http://127.0.0.1:8080/download/vi/vi3_patches.html", "ESX-1.tgz") ==
        "http://127.0.0.1:8080/download/vi/ESX-1.tgz");
}

TEST_CASE("resolve_url passes absolute links through", "[url]") {
  CHECK(resolve_url(kIndex, "http://download3.vmware.com/software/vi/ESX-1000039.tgz") ==
        "http://download3.vmware.com/software/vi/ESX-1000039.tgz");
  CHECK(resolve_url(kIndex, "HTTPS://download3.vmware.com/x.tgz") == "https://download3.vmware.com/x.tgz");
  CHECK(resolve_url(kIndex, "file:///etc/passwd") == "file:///etc/passwd");
}

TEST_CASE("resolve_url trims the link as a browser does and encodes spaces", "[url]") {
  CHECK(resolve_url(kIndex, "  \r\n1000039-patch.html\t ") == "http://www.vmware.com/download/vi/1000039-patch.html");
  CHECK(resolve_url(kIndex, "ESX 1.tgz") == "http://www.vmware.com/download/vi/ESX%201.tgz");
}

TEST_CASE("resolve_url refuses what is not a URL", "[url]") {
  CHECK_FALSE(resolve_url("vi3_patches.html", "1000039-patch.html"));
  CHECK_FALSE(resolve_url("", "http://x/"));
  CHECK_FALSE(resolve_url(kIndex, ""));
  CHECK_FALSE(resolve_url(kIndex, "   "));
  CHECK_FALSE(resolve_url(kIndex, "javascript:void(0)"));
  CHECK_FALSE(resolve_url(kIndex, "mailto:webmaster@vmware.com"));
}

TEST_CASE("url_scheme and url_host are lower case, nullopt when unparseable", "[url]") {
  CHECK(url_scheme("HTTP://Download3.VMware.com/x") == "http");
  CHECK(url_host("HTTP://Download3.VMware.com/x") == "download3.vmware.com");
  CHECK(url_scheme("https://user:pw@h.example:8443/x?y") == "https");
  CHECK(url_host("https://user:pw@h.example:8443/x?y") == "h.example");
  CHECK(url_scheme("file:///tmp/a.html") == "file");
  CHECK_FALSE(url_host("file:///tmp/a.html"));
  CHECK_FALSE(url_scheme("ESX-1000039.tgz"));
  CHECK_FALSE(url_host("not a url"));
  CHECK_FALSE(url_scheme(""));
}

TEST_CASE("url_filename is the last path segment, percent-decoded", "[url]") {
  CHECK(url_filename("http://download3.vmware.com/software/vi/ESX-1000039.tgz") == "ESX-1000039.tgz");
  CHECK(url_filename("http://h/d/ESX-1000039.tgz?dlgToken=abc#frag") == "ESX-1000039.tgz");
  CHECK(url_filename("http://h/d/ESX%201000039.tgz") == "ESX 1000039.tgz");
  CHECK(url_filename("http://h/d/") == "");
  CHECK(url_filename("http://h") == "");
  CHECK(url_filename("ESX-1002087.tgz") == "ESX-1002087.tgz");
  CHECK(url_filename("../vi/ESX-1002087.tgz?x=1") == "ESX-1002087.tgz");
}

TEST_CASE("url_filename never yields a name that leaves its directory", "[url]") {
  CHECK(url_filename("http://h/d/..%2F..%2Fetc%2Fpasswd") == "");
  CHECK(url_filename("http://h/d/%2e%2e") == "");
  CHECK(url_filename("http://h/d/a%00b.tgz") == "");
}

TEST_CASE("mask_url hides the password and every query value", "[url][secrets]") {
  CHECK(mask_url("https://user:s3cret@dl.broadcom.com/x.zip") == "https://user:***@dl.broadcom.com/x.zip");
  CHECK(mask_url("https://dl.broadcom.com/depot/index.xml?dlgToken=abc123&x=1") ==
        "https://dl.broadcom.com/depot/index.xml?dlgToken=***&x=***");
  CHECK(mask_url("http://proxy.example:3128/?abc123") == "http://proxy.example:3128/?***");
  CHECK(mask_url("https://user@h.example/x") == "https://user@h.example/x");
  CHECK(mask_url("http://download3.vmware.com/software/vi/ESX-1000039.tgz") ==
        "http://download3.vmware.com/software/vi/ESX-1000039.tgz");
}

TEST_CASE("mask_url leaves text that is not a URL unchanged", "[url][secrets]") {
  CHECK(mask_url("ESX-1000039.tgz") == "ESX-1000039.tgz");
  CHECK(mask_url("no token here") == "no token here");
  CHECK(mask_url("") == "");
}

TEST_CASE("mask_url still masks a URL that libcurl refuses", "[url][secrets]") {
  const std::string masked = mask_url("https://u:p%zz@[bad/x?dlgToken=abc");
  CHECK(masked.find("abc") == std::string::npos);
  CHECK(masked.find(":p") == std::string::npos);
}

TEST_CASE("mask_secrets masks every URL inside free text", "[url][secrets]") {
  CHECK(mask_secrets("Failed to connect to https://u:pw@dl.example/f?dlgToken=tok1 after 3 tries; "
                     "proxy 'http://bob:hunter2@proxy:3128/' refused") ==
        "Failed to connect to https://u:***@dl.example/f?dlgToken=*** after 3 tries; "
        "proxy 'http://bob:***@proxy:3128/' refused");
  CHECK(mask_secrets("nothing secret: 3.0.1, ESX-1000039") == "nothing secret: 3.0.1, ESX-1000039");
  CHECK(mask_secrets("://odd but harmless") == "://odd but harmless");
  CHECK(mask_secrets("(see http://h/x?a=1)") == "(see http://h/x?a=***)");
  CHECK(mask_secrets("") == "");
}
