// The man page is rendered from doc/esxmirror.1.in and the CLI definitions: every option --help shows,
// every config key and every exit code must be in it, and it must be roff that renders cleanly.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "cli/command_line.hpp"
#include "cli/config_file.hpp"
#include "cli/exit_codes.hpp"
#include "esxmirror/doc/man_page.hpp"

using namespace esxmirror;
using namespace esxmirror::doc;

namespace {

std::string template_text() {
  std::ifstream in(std::string(ESXMIRROR_DOC_DIR) + "/esxmirror.1.in");
  REQUIRE(in);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

ManPageInputs inputs(const cli::CommandLine& command_line) {
  ManPageInputs in;
  in.commands = describe_commands(command_line.app);
  in.config_keys = cli::config_keys();
  for (const auto& row : cli::exit_code_table()) in.exit_codes.push_back({static_cast<int>(row.code), row.meaning});
  in.version = "9.8.7";
  in.date = "2026-11-29";
  return in;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The text from `.SH NAME` to the next `.SH`.
std::string section(const std::string& page, const std::string& name) {
  std::size_t start = page.find(".SH " + name + "\n");
  REQUIRE(start != std::string::npos);
  return page.substr(start, page.find("\n.SH ", start + 1) - start);
}

bool has_line(const std::string& text, const std::string& line) {
  auto lines = lines_of(text);
  return std::find(lines.begin(), lines.end(), line) != lines.end();
}

}  // namespace

TEST_CASE("man page: every option of every command has an entry", "[doc]") {
  cli::CommandLine command_line;
  ManPageInputs in = inputs(command_line);
  std::string page = render_man_page(template_text(), in);
  for (const CommandDoc& command : in.commands) {
    for (const OptionDoc& option : command.options) {
      for (const std::string& name : option.names) {
        std::string roff = option.positional ? "\\fI" + name + "\\fR" : "\\fB" + roff_text(name) + "\\fR";
        INFO("esxmirror " << command.path << " " << name);
        CHECK(page.find(roff) != std::string::npos);
      }
    }
  }
  CHECK(has_line(page, ".B esxmirror rules test"));
  CHECK(page.find(".TH ESXMIRROR 1 2026-11-29 \"esxmirror 9.8.7\"") != std::string::npos);
}

TEST_CASE("man page: an option added to the definitions needs no edit of the page", "[doc]") {
  cli::CommandLine command_line;
  std::string added;
  command_line.commands.sync->add_option("--an-option-added-later", added, "What the added option does");
  std::string commands = section(render_man_page(template_text(), inputs(command_line)), "COMMANDS");
  CHECK(commands.find(".TP\n\\fB\\-\\-an\\-option\\-added\\-later\\fR \\fITEXT\\fR\nWhat the added option does.") !=
        std::string::npos);
}

TEST_CASE("man page: every config key is documented", "[doc]") {
  cli::CommandLine command_line;
  std::string page = render_man_page(template_text(), inputs(command_line));
  std::string configuration = section(page, "CONFIGURATION");
  for (const std::string& key : cli::config_keys()) {
    INFO("config key " << key
                       << ": an option's entry names its key; a config-only key is described in "
                          "doc/esxmirror.1.in under CONFIGURATION");
    std::string name = key.rfind("rules.", 0) == 0 ? key.substr(6) : key;
    bool by_option = page.find("Config\\~key:\\~\\fB" + name + "\\fR.") != std::string::npos;
    bool in_prose = configuration.find(name) != std::string::npos;
    CHECK((by_option || in_prose));
  }
}

TEST_CASE("man page: EXIT STATUS is the table --help prints", "[doc]") {
  cli::CommandLine command_line;
  std::string exit_status = section(render_man_page(template_text(), inputs(command_line)), "EXIT STATUS");
  std::string help = cli::exit_codes_help();
  for (const auto& row : cli::exit_code_table()) {
    CHECK(has_line(exit_status, ".B " + std::to_string(static_cast<int>(row.code))));
    CHECK(help.find(std::to_string(static_cast<int>(row.code)) + " ") != std::string::npos);
    CHECK(help.find(row.meaning) != std::string::npos);
    CHECK(exit_status.find(roff_text(row.meaning.substr(0, 20))) != std::string::npos);
  }
}

TEST_CASE("man page: lines stay within 80 bytes and never start a request by accident", "[doc]") {
  cli::CommandLine command_line;
  std::string page = render_man_page(template_text(), inputs(command_line));
  for (const std::string& line : lines_of(page)) {
    if (line.rfind(".\\\"", 0) == 0) continue;  // a comment
    INFO(line);
    CHECK(line.size() <= 80);
    if (line.front() == '.') CHECK(std::isalpha(static_cast<unsigned char>(line[1])));  // .TP .B .nh ...
    if (line.front() == '.' && line.size() > 2 && line[1] == '.') FAIL("text taken for a request");
  }
}

TEST_CASE("man page: roff escaping of option names and backslashes and leading dots", "[doc]") {
  CHECK(roff_text("use --dest-dir, not -v or x-y") == "use \\-\\-dest\\-dir, not \\-v or x-y");
  CHECK(roff_text("...for 60 s") == "\\&...for 60 s");
  CHECK(roff_text("a\\b") == "a\\eb");
  CHECK(roff_text("'quoted' start") == "\\&'quoted' start");
}

TEST_CASE("man page: a marker the generator does not know is an error naming it", "[doc]") {
  cli::CommandLine command_line;
  CHECK_THROWS_WITH(render_man_page(".TH X 1\n@RETENTION@\n", inputs(command_line)), Catch::Contains("@RETENTION@"));
}
