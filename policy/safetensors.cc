#include "policy/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"

namespace agentgym::policy {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// A header larger than this is treated as corrupt (the format caps it at 100 MB).
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

absl::Status Corrupt(const std::string& label, const std::string& what) {
  return absl::DataLossError(absl::StrCat("safetensors ", label, ": ", what));
}

struct Mapping {
  void* addr = nullptr;
  size_t size = 0;
  ~Mapping() {
    if (addr != nullptr && addr != MAP_FAILED) munmap(addr, size);
  }
};

}  // namespace

absl::StatusOr<torch::ScalarType> DtypeFromSafetensors(const std::string& name) {
  if (name == "F32") return torch::kFloat32;
  if (name == "F16") return torch::kFloat16;
  if (name == "BF16") return torch::kBFloat16;
  if (name == "F64") return torch::kFloat64;
  if (name == "I64") return torch::kInt64;
  if (name == "I32") return torch::kInt32;
  if (name == "U8") return torch::kUInt8;
  if (name == "BOOL") return torch::kBool;
  return absl::InvalidArgumentError(absl::StrCat("unsupported dtype \"", name, "\""));
}

absl::StatusOr<std::string> DtypeToSafetensors(torch::ScalarType dtype) {
  switch (dtype) {
    case torch::kFloat32: return std::string("F32");
    case torch::kFloat16: return std::string("F16");
    case torch::kBFloat16: return std::string("BF16");
    case torch::kFloat64: return std::string("F64");
    case torch::kInt64: return std::string("I64");
    case torch::kInt32: return std::string("I32");
    case torch::kUInt8: return std::string("U8");
    case torch::kBool: return std::string("BOOL");
    default:
      return absl::InvalidArgumentError(absl::StrCat("cannot store dtype ", c10::toString(dtype)));
  }
}

absl::StatusOr<std::unique_ptr<SafetensorsFile>> SafetensorsFile::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::NotFoundError(absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::NotFoundError(absl::StrCat(path, " is not a regular file"));
  }
  auto map = std::make_shared<Mapping>();
  map->size = static_cast<size_t>(st.st_size);
  if (map->size > 0) {
    // MAP_PRIVATE + PROT_WRITE: copy-on-write, so in-place ops on a returned
    // tensor never fault and never change the file.
    map->addr = mmap(nullptr, map->size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  }
  ::close(fd);
  if (map->addr == MAP_FAILED) {
    map->addr = nullptr;
    return absl::InternalError(absl::StrCat("mmap ", path, ": ", std::strerror(errno)));
  }
  const uint8_t* data = static_cast<const uint8_t*>(map->addr);
  return FromBuffer(std::move(map), data, st.st_size, path);
}

absl::StatusOr<std::unique_ptr<SafetensorsFile>> SafetensorsFile::FromBuffer(
    std::shared_ptr<void> owner, const uint8_t* data, size_t size, const std::string& label) {
  if (size < 8) return Corrupt(label, absl::StrCat("file has ", size, " bytes, shorter than the 8-byte header length"));
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | data[i];  // Little-endian.
  if (header_len > kMaxHeaderBytes || header_len > size - 8) {
    return Corrupt(label, absl::StrCat("header length ", header_len, " exceeds file size ", size, " (truncated?)"));
  }
  const char* hbegin = reinterpret_cast<const char*>(data + 8);
  json header = json::parse(hbegin, hbegin + header_len, /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded() || !header.is_object()) return Corrupt(label, "header is not a JSON object");
  const uint64_t data_size = size - 8 - header_len;
  std::unique_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->path_ = label;
  file->owner_ = std::move(owner);
  file->data_ = data + 8 + header_len;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const json& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) return Corrupt(label, "__metadata__ is not an object");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) return Corrupt(label, absl::StrCat("metadata \"", m.key(), "\" is not a string"));
        file->metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    auto bad = [&](const std::string& what) { return Corrupt(label, absl::StrCat("tensor \"", name, "\": ", what)); };
    if (!v.is_object()) return bad("entry is not an object");
    auto dt = v.find("dtype");
    auto sh = v.find("shape");
    auto off = v.find("data_offsets");
    if (dt == v.end() || !dt->is_string()) return bad("missing string \"dtype\"");
    if (sh == v.end() || !sh->is_array()) return bad("missing array \"shape\"");
    if (off == v.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
        !(*off)[1].is_number_unsigned()) {
      return bad("\"data_offsets\" must be two non-negative integers");
    }
    TensorInfo info;
    info.name = name;
    absl::StatusOr<torch::ScalarType> dtype = DtypeFromSafetensors(dt->get<std::string>());
    if (!dtype.ok()) return bad(std::string(dtype.status().message()));
    info.dtype = *dtype;
    uint64_t numel = 1;
    for (const json& d : *sh) {
      if (!d.is_number_unsigned()) return bad("shape entries must be non-negative integers");
      const uint64_t dim = d.get<uint64_t>();
      if (dim != 0 && numel > std::numeric_limits<uint64_t>::max() / dim) return bad("shape overflows");
      numel *= dim;
      info.shape.push_back(static_cast<int64_t>(dim));
      if (info.shape.back() < 0) return bad("shape overflows");
    }
    info.begin = (*off)[0].get<uint64_t>();
    info.end = (*off)[1].get<uint64_t>();
    if (info.begin > info.end || info.end > data_size) {
      return bad(absl::StrFormat("data_offsets [%d, %d] outside data section of %d bytes", info.begin,
                                 info.end, data_size));
    }
    const uint64_t elem = c10::elementSize(info.dtype);
    if (numel > std::numeric_limits<uint64_t>::max() / elem || numel * elem != info.end - info.begin) {
      return bad(absl::StrFormat("shape needs %d elements but data_offsets span %d bytes", numel,
                                 info.end - info.begin));
    }
    file->infos_[name] = std::move(info);
  }
  return file;
}

absl::StatusOr<torch::Tensor> SafetensorsFile::Get(const std::string& name) const {
  auto it = infos_.find(name);
  if (it == infos_.end()) return absl::NotFoundError(absl::StrCat("tensor \"", name, "\" not in ", path_));
  const TensorInfo& info = it->second;
  try {
    const uint8_t* ptr = data_ + info.begin;
    auto opts = torch::TensorOptions().dtype(info.dtype).device(torch::kCPU);
    const size_t elem = c10::elementSize(info.dtype);
    if (reinterpret_cast<uintptr_t>(ptr) % elem != 0 || info.end == info.begin) {
      torch::Tensor t = torch::empty(info.shape, opts);
      if (info.end > info.begin) std::memcpy(t.data_ptr(), ptr, info.end - info.begin);
      return t;
    }
    std::shared_ptr<void> owner = owner_;
    return torch::from_blob(const_cast<uint8_t*>(ptr), info.shape, [owner](void*) mutable { owner.reset(); },
                            opts);
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("tensor \"", name, "\" in ", path_, ": ", e.what_without_backtrace()));
  }
}

absl::Status WriteSafetensors(const std::string& path, const std::map<std::string, torch::Tensor>& tensors,
                              const std::map<std::string, std::string>& metadata) {
  try {
    json header = json::object();
    if (!metadata.empty()) header["__metadata__"] = metadata;
    std::vector<torch::Tensor> blobs;
    uint64_t offset = 0;
    for (const auto& [name, t] : tensors) {
      if (name == "__metadata__") return absl::InvalidArgumentError("tensor name __metadata__ is reserved");
      absl::StatusOr<std::string> dt = DtypeToSafetensors(t.scalar_type());
      if (!dt.ok()) return absl::InvalidArgumentError(absl::StrCat("tensor \"", name, "\": ", dt.status().message()));
      torch::Tensor c = t.detach().to(torch::kCPU).contiguous();
      const uint64_t bytes = c.numel() * c.element_size();
      header[name] = {{"dtype", *dt}, {"shape", c.sizes().vec()}, {"data_offsets", {offset, offset + bytes}}};
      offset += bytes;
      blobs.push_back(std::move(c));
    }
    std::string h = header.dump();
    h.append((8 - h.size() % 8) % 8, ' ');  // Align the data section to 8 bytes.
    const std::string tmp = path + ".tmp";
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      if (!out) return absl::PermissionDeniedError(absl::StrCat("cannot write ", tmp));
      uint64_t n = h.size();
      char len[8];
      for (int i = 0; i < 8; ++i) len[i] = static_cast<char>((n >> (8 * i)) & 0xff);
      out.write(len, 8);
      out.write(h.data(), h.size());
      for (const torch::Tensor& c : blobs) {
        out.write(static_cast<const char*>(c.data_ptr()), c.numel() * c.element_size());
      }
      out.flush();
      if (!out) return absl::DataLossError(absl::StrCat("short write to ", tmp));
    }
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec) return absl::InternalError(absl::StrCat("rename ", tmp, " -> ", path, ": ", ec.message()));
    return absl::OkStatus();
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("writing ", path, ": ", e.what_without_backtrace()));
  }
}

absl::StatusOr<std::unique_ptr<TensorStore>> TensorStore::Open(const std::string& path) {
  std::string index_path;
  std::vector<std::string> files;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    const fs::path idx = fs::path(path) / "model.safetensors.index.json";
    const fs::path single = fs::path(path) / "model.safetensors";
    if (fs::exists(idx, ec)) {
      index_path = idx.string();
    } else if (fs::exists(single, ec)) {
      files.push_back(single.string());
    } else {
      return absl::NotFoundError(absl::StrCat("no model.safetensors[.index.json] in ", path));
    }
  } else if (path.size() >= 5 && path.substr(path.size() - 5) == ".json") {
    index_path = path;
  } else {
    files.push_back(path);
  }
  auto store = std::unique_ptr<TensorStore>(new TensorStore());
  store->label_ = path;
  std::map<std::string, std::string> expected;  // tensor -> shard, from the index.
  if (!index_path.empty()) {
    std::ifstream in(index_path);
    if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", index_path));
    std::stringstream ss;
    ss << in.rdbuf();
    json idx = json::parse(ss.str(), nullptr, false);
    if (idx.is_discarded() || !idx.is_object() || !idx.contains("weight_map") || !idx["weight_map"].is_object()) {
      return Corrupt(index_path, "index has no \"weight_map\" object");
    }
    std::set<std::string> shards;
    for (auto it = idx["weight_map"].begin(); it != idx["weight_map"].end(); ++it) {
      if (!it.value().is_string()) return Corrupt(index_path, absl::StrCat("weight_map[\"", it.key(), "\"] is not a string"));
      const std::string shard = it.value().get<std::string>();
      if (shard.find('/') != std::string::npos) return Corrupt(index_path, absl::StrCat("shard name \"", shard, "\" has a path"));
      expected[it.key()] = shard;
      shards.insert(shard);
    }
    const fs::path dir = fs::path(index_path).parent_path();
    for (const std::string& s : shards) files.push_back((dir / s).string());
  }
  for (const std::string& f : files) {
    absl::StatusOr<std::unique_ptr<SafetensorsFile>> file = SafetensorsFile::Open(f);
    if (!file.ok()) return file.status();
    for (const auto& [name, info] : (*file)->tensors()) {
      if (store->where_.count(name)) return Corrupt(f, absl::StrCat("tensor \"", name, "\" appears in two shards"));
      store->where_[name] = file->get();
    }
    store->files_.push_back(std::move(*file));
  }
  for (const auto& [name, shard] : expected) {
    auto it = store->where_.find(name);
    if (it == store->where_.end() || fs::path(it->second->path()).filename() != shard) {
      return Corrupt(index_path, absl::StrCat("tensor \"", name, "\" listed in index is missing from shard ", shard));
    }
  }
  return store;
}

std::vector<std::string> TensorStore::Names() const {
  std::vector<std::string> names;
  for (const auto& [name, file] : where_) names.push_back(name);
  return names;
}

absl::StatusOr<TensorInfo> TensorStore::Info(const std::string& name) const {
  auto it = where_.find(name);
  if (it == where_.end()) return absl::NotFoundError(absl::StrCat("tensor \"", name, "\" not found in ", label_));
  return it->second->tensors().at(name);
}

absl::StatusOr<torch::Tensor> TensorStore::Get(const std::string& name) const {
  auto it = where_.find(name);
  if (it == where_.end()) return absl::NotFoundError(absl::StrCat("tensor \"", name, "\" not found in ", label_));
  return it->second->Get(name);
}

absl::Status WriteShardedSafetensors(const std::string& dir, const std::map<std::string, torch::Tensor>& tensors,
                                     uint64_t max_shard_bytes) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::PermissionDeniedError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  std::vector<std::map<std::string, torch::Tensor>> shards(1);
  uint64_t current = 0, total = 0;
  for (const auto& [name, t] : tensors) {
    const uint64_t bytes = t.numel() * t.element_size();
    if (current > 0 && current + bytes > max_shard_bytes) {
      shards.emplace_back();
      current = 0;
    }
    shards.back()[name] = t;
    current += bytes;
    total += bytes;
  }
  if (shards.size() == 1) return WriteSafetensors((fs::path(dir) / "model.safetensors").string(), tensors);
  json weight_map = json::object();
  for (size_t i = 0; i < shards.size(); ++i) {
    const std::string file = absl::StrFormat("model-%05d-of-%05d.safetensors", i + 1, shards.size());
    if (absl::Status s = WriteSafetensors((fs::path(dir) / file).string(), shards[i]); !s.ok()) return s;
    for (const auto& [name, t] : shards[i]) weight_map[name] = file;
  }
  json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
  std::ofstream out(fs::path(dir) / "model.safetensors.index.json", std::ios::trunc);
  out << index.dump(2);
  if (!out) return absl::DataLossError(absl::StrCat("cannot write index in ", dir));
  return absl::OkStatus();
}

}  // namespace agentgym::policy
