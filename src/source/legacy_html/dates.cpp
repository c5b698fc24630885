// Release dates as vendor pages print them -> ISO "YYYY-MM-DD", with calendar validation.
#include <array>
#include <cstdio>
#include <string>
#include <vector>

#include "esxmirror/source/legacy_html.hpp"
#include "esxmirror/util/strings.hpp"

namespace esxmirror::source {
namespace {

struct Token {
  bool number = false;
  std::string text;    // digits, or the lower-case word
  char separator = 0;  // the separator written right before this token (0: none / blank only)
};

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Splits "March 29th, 2007" into March / 29 / 2007; false on any character a date never holds.
bool tokenize(std::string_view text, std::vector<Token>& tokens) {
  char separator = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (is_blank(c)) {
      ++i;
    } else if (c == '/' || c == '-' || c == '.' || c == ',') {
      if (separator != 0 && c != ',' && separator != ',') return false;  // "3//07"
      if (separator == 0 || separator == ',') separator = c;
      ++i;
    } else if (is_digit(c) || is_letter(c)) {
      Token token;
      token.number = is_digit(c);
      token.separator = separator;
      separator = 0;
      while (i < text.size() && (token.number ? is_digit(text[i]) : is_letter(text[i]))) {
        token.text += token.number ? text[i] : static_cast<char>(text[i] | 0x20);
        ++i;
      }
      if (token.number && i + 1 < text.size() && is_letter(text[i])) {  // ordinal: 1st 2nd 3rd 29th
        const std::string suffix = util::to_lower(text.substr(i, 2));
        if (suffix != "st" && suffix != "nd" && suffix != "rd" && suffix != "th") return false;
        i += 2;
        if (i < text.size() && (is_letter(text[i]) || is_digit(text[i]))) return false;
      }
      tokens.push_back(std::move(token));
    } else {
      return false;
    }
  }
  return separator != '/' && separator != '-';  // "3/29/07/" is not a date
}

int month_from_word(const std::string& word) {
  static constexpr std::array<const char*, 12> names = {"january",   "february", "march",    "april",
                                                        "may",       "june",     "july",     "august",
                                                        "september", "october",  "november", "december"};
  for (int m = 0; m < 12; ++m) {
    const std::string full = names[static_cast<std::size_t>(m)];
    // "Mar", "Sept", "March": at least three letters of the month's name.
    if (word.size() >= 3 && word.size() <= full.size() && full.compare(0, word.size(), word) == 0) return m + 1;
  }
  return 0;
}

bool is_weekday(const std::string& word) {
  static constexpr std::array<const char*, 7> names = {"monday", "tuesday",  "wednesday", "thursday",
                                                       "friday", "saturday", "sunday"};
  for (const char* name : names) {
    const std::string full = name;
    if (word.size() >= 3 && word.size() <= full.size() && full.compare(0, word.size(), word) == 0) return true;
  }
  return false;
}

// Numbers of at most `max_digits` digits; -1 otherwise.
int to_int(const std::string& digits, std::size_t max_digits) {
  if (digits.empty() || digits.size() > max_digits) return -1;
  return std::stoi(digits);
}

// Two-digit years pivot at 70: 00-69 are 20xx, 70-99 are 19xx.
int to_year(const std::string& digits) {
  if (digits.size() == 2) {
    const int yy = std::stoi(digits);
    return yy < 70 ? 2000 + yy : 1900 + yy;
  }
  if (digits.size() == 4) {
    const int year = std::stoi(digits);
    return (year >= 1900 && year <= 2999) ? year : -1;
  }
  return -1;
}

bool is_leap(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

std::optional<std::string> make_date(int year, int month, int day) {
  static constexpr std::array<int, 12> days = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (year < 0 || month < 1 || month > 12 || day < 1) return std::nullopt;
  const int last = days[static_cast<std::size_t>(month - 1)] + ((month == 2 && is_leap(year)) ? 1 : 0);
  if (day > last) return std::nullopt;
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", year, month, day);
  return std::string(buf);
}

// Three numbers: "2007-03-29" / "2007/3/29" (year first) or the US "3/29/07" / "3-29-2007".
std::optional<std::string> numeric_date(const std::vector<Token>& t) {
  const char sep1 = t[1].separator;
  const char sep2 = t[2].separator;
  if (sep1 != sep2 || t[0].separator != 0) return std::nullopt;
  if (t[0].text.size() == 4) {
    if (sep1 != '-' && sep1 != '/' && sep1 != '.') return std::nullopt;
    return make_date(to_year(t[0].text), to_int(t[1].text, 2), to_int(t[2].text, 2));
  }
  // Day-first dotted dates ("29.03.2007") are not a US vendor's habit; refuse rather than guess.
  if (sep1 != '/' && sep1 != '-') return std::nullopt;
  return make_date(to_year(t[2].text), to_int(t[0].text, 2), to_int(t[1].text, 2));
}

// A month name with day and year: "March 29, 2007", "Mar 29 2007", "29 March 2007", "29-Mar-07".
std::optional<std::string> worded_date(const std::vector<Token>& t) {
  if (!t[0].number && t[1].number && t[2].number) {
    const int month = month_from_word(t[0].text);
    if (month == 0) return std::nullopt;
    return make_date(to_year(t[2].text), month, to_int(t[1].text, 2));
  }
  if (t[0].number && !t[1].number && t[2].number) {
    const int month = month_from_word(t[1].text);
    if (month == 0) return std::nullopt;
    return make_date(to_year(t[2].text), month, to_int(t[0].text, 2));
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> normalise_date(std::string_view text) {
  if (text.size() > 64) return std::nullopt;  // no date is that long; refuse before any work
  std::vector<Token> tokens;
  if (!tokenize(text, tokens)) return std::nullopt;
  // "Thursday, March 29, 2007": a leading weekday says nothing more.
  if (tokens.size() == 4 && !tokens[0].number && is_weekday(tokens[0].text)) {
    tokens.erase(tokens.begin());
    tokens[0].separator = 0;
  }
  if (tokens.size() != 3) return std::nullopt;
  const bool all_numbers = tokens[0].number && tokens[1].number && tokens[2].number;
  return all_numbers ? numeric_date(tokens) : worded_date(tokens);
}

}  // namespace esxmirror::source
