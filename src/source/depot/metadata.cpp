// One metadata zip's members -> what it says. The rules (which member wins, what must agree, what must
// exist) are documented in include/esxmirror/source/depot/metadata.hpp.
#include <algorithm>

#include "source/depot/metadata_builder.hpp"
#include "source/depot/xml.hpp"

namespace esxmirror::source::depot {
namespace detail {
namespace {

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// "vibs/x.xml" is in folder "vibs/"; "vibs/a/x.xml" and "vibs/" are not.
bool xml_in_folder(std::string_view member, std::string_view folder) {
  if (member.rfind(folder, 0) != 0 || !ends_with(member, ".xml")) return false;
  const std::string_view file = member.substr(folder.size());
  return file.size() > 4 && file.find('/') == std::string_view::npos;
}

// The first field two descriptions of one VIB disagree on, as "field ('a' vs 'b')"; "" when they agree.
std::string difference(const Vib& a, const Vib& b) {
  const auto quoted = [](const std::string& field, const std::string& x, const std::string& y) {
    return field + " ('" + x + "' vs '" + y + "')";
  };
  if (a.relative_path != b.relative_path) return quoted("relative path", a.relative_path, b.relative_path);
  if (a.packed_size != b.packed_size)
    return quoted("size", std::to_string(a.packed_size), std::to_string(b.packed_size));
  if (a.sha256 != b.sha256) return quoted("sha-256", a.sha256, b.sha256);
  return "";
}

Bulletin without_source(Bulletin bulletin) {
  bulletin.described_by.clear();
  return bulletin;
}

}  // namespace

MemberKind member_kind(std::string_view member) {
  if (member == "vmware.xml") return MemberKind::vmware_xml;
  if (xml_in_folder(member, "vibs/")) return MemberKind::vib;
  if (xml_in_folder(member, "bulletins/")) return MemberKind::bulletin;
  if (xml_in_folder(member, "profiles/")) return MemberKind::profile;
  return MemberKind::other;
}

void MetadataBuilder::add(const std::string& member, std::string_view bytes) {
  const std::string where = document_ + ": " + member;
  switch (member_kind(member)) {
    case MemberKind::vmware_xml: {
      saw_metadata_ = true;
      VmwareXml listed = parse_vmware_xml(bytes, where, warnings_);
      for (Bulletin& bulletin : listed.bulletins) add_bulletin(std::move(bulletin), listed_bulletins_);
      listed_.insert(listed_.end(), std::make_move_iterator(listed.vibs.begin()),
                     std::make_move_iterator(listed.vibs.end()));
      break;
    }
    case MemberKind::vib:
      saw_metadata_ = true;
      add_vib(parse_vib_document(bytes, where, member));
      break;
    case MemberKind::bulletin:
      saw_metadata_ = true;
      add_bulletin(parse_bulletin_document(bytes, where, member, warnings_), bulletins_);
      break;
    case MemberKind::profile:
      profiles_.push_back(parse_profile_document(bytes, where, member));
      break;
    case MemberKind::other:
      break;
  }
}

void MetadataBuilder::add_vib(Vib vib) {
  const auto [at, inserted] = vibs_.try_emplace(vib.id, vib);
  if (inserted) return;
  if (const std::string differs = difference(at->second, vib); !differs.empty())
    fail(document_, "VIB " + vib.id + " is described twice, differently: " + at->second.described_by + " and " +
                        vib.described_by + " disagree on " + differs);
}

void MetadataBuilder::add_bulletin(Bulletin bulletin, std::map<std::string, Bulletin>& into) {
  const auto [at, inserted] = into.try_emplace(bulletin.id, bulletin);
  if (!inserted && without_source(at->second) != without_source(bulletin))
    fail(document_, "bulletin " + bulletin.id + " is described twice, differently (" + at->second.described_by +
                        " and " + bulletin.described_by + ")");
}

Metadata MetadataBuilder::finish() {
  if (!saw_metadata_) fail(document_, "holds no vmware.xml, vibs/ or bulletins/: not a depot metadata zip");

  // vmware.xml fills in what no vibs/*.xml describes, and must agree with what they do describe.
  std::map<std::string, Vib> vibs = vibs_;
  for (const ListedVib& listed : listed_) {
    const auto found = vibs.find(listed.vib.id);
    if (found == vibs.end()) {
      if (!listed.has_file)
        fail(document_, "vmware.xml: bulletin " + listed.bulletin + " lists VIB " + listed.vib.id +
                            " without <vibFile><relativePath>, and no vibs/ document describes it");
      vibs.emplace(listed.vib.id, listed.vib);
    } else if (listed.has_file) {
      if (const std::string differs = difference(found->second, listed.vib); !differs.empty())
        fail(document_, "VIB " + listed.vib.id + " is described twice, differently: " + found->second.described_by +
                            " and vmware.xml disagree on " + differs);
    }
  }

  std::map<std::string, Bulletin> bulletins = bulletins_;
  for (const auto& [id, bulletin] : listed_bulletins_) bulletins.try_emplace(id, bulletin);

  const auto check_named = [&](const std::vector<std::string>& ids, const std::string& who) {
    for (const std::string& id : ids)
      if (vibs.find(id) == vibs.end())
        fail(document_, who + " names VIB " + id + ", which no member of the zip describes");
  };
  Metadata out;
  for (auto& [id, bulletin] : bulletins) {
    check_named(bulletin.vib_ids, "bulletin " + id + " (" + bulletin.described_by + ")");
    out.bulletins.push_back(std::move(bulletin));
  }
  for (const ImageProfile& profile : profiles_)
    check_named(profile.vib_ids, "image profile " + profile.name + " (" + profile.described_by + ")");
  for (auto& [id, vib] : vibs) out.vibs.push_back(std::move(vib));
  out.profiles = std::move(profiles_);
  std::stable_sort(out.profiles.begin(), out.profiles.end(),
                   [](const ImageProfile& a, const ImageProfile& b) { return a.name < b.name; });
  out.warnings = std::move(warnings_);
  return out;
}

}  // namespace detail

const Vib* Metadata::find_vib(std::string_view id) const {
  const auto at =
      std::lower_bound(vibs.begin(), vibs.end(), id, [](const Vib& vib, std::string_view key) { return vib.id < key; });
  return at != vibs.end() && at->id == id ? &*at : nullptr;
}

Metadata parse_metadata_members(const std::vector<std::pair<std::string, std::string>>& members,
                                const std::string& document) {
  detail::MetadataBuilder builder(document);
  for (const auto& [name, bytes] : members) builder.add(name, bytes);
  return builder.finish();
}

}  // namespace esxmirror::source::depot
