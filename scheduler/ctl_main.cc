// agentgym-ctl: the coordinator's command line for people and scripts.
#include <iostream>
#include <string>
#include <vector>

#include "scheduler/ctl.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return agentgym::scheduler::RunCtl(args, std::cout, std::cerr);
}
