#include "esxmirror/core/interrupt.hpp"

namespace esxmirror {

std::atomic<bool>& stop_requested() {
  static std::atomic<bool> flag{false};
  return flag;
}

}  // namespace esxmirror
